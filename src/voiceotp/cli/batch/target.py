"""Where a batch sends: fixed in its journal when sending starts, reused by every resume.

A resume must not quietly send the rest of a run somewhere else: a staging run resumed
without its ``--base-url`` would place real, billed calls through the default service, and
``--replay-unknown`` against another server could ring people twice. So the first run
records the endpoint and the account in the journal; a resume sends there, whatever the
environment or config file say now, and an explicit ``--base-url``/``--account`` that
differs is refused unless ``--retarget`` says the change is meant.
"""

from __future__ import annotations

from typing import Any

import click

from voiceotp.client.batch import Journal
from voiceotp.client.config import collect_settings
from voiceotp.protocol.notice import notice_url


def endpoint(args: dict[str, Any]) -> tuple[str, str | None, str, str]:
    """(the option naming the URL, the URL it gave or None, the URL the run sends to, the
    account). A notice batch's URL is the notification product's: ``--notify-url``, else
    beside the code product's base URL (docs/notices.md)."""
    flag, given = "--base-url", args["base_url"]
    notice = args.get("notice") is not None
    if notice and args.get("notify_url"):
        flag, given = "--notify-url", args["notify_url"]
    values, _, _ = collect_settings(args["account"], None, given, config_file=args["config_file"])
    url = notice_url(values["base_url"]) if notice else values["base_url"]
    return flag, given, url, values.get("account", "")


def settle_target(journal: Journal, args: dict[str, Any]) -> str | None:
    """Point ``args`` at the journal's endpoint and account (recording them on a first
    send); a note for the user when that differs from what the settings alone would give.

    Raises click.UsageError for an explicit, different target without ``--retarget``.
    """
    url_flag, given, url, account = endpoint(args)
    current = {"base_url": url, "account": account}
    stored = journal.meta().get("target")
    if not isinstance(stored, dict) or args["retarget"]:
        journal.set_meta(target=current)
        args["base_url"] = url
        return None
    for key, flag, value in (
        ("base_url", url_flag, given),
        ("account", "--account", args["account"]),
    ):
        if value is not None and current[key] != stored.get(key):
            raise click.UsageError(
                f"this journal's run sends to {_describe(stored)}; {flag} says"
                f" {current[key]!r}. Add --retarget to send the rest there instead."
            )
    args["base_url"], args["account"] = stored.get("base_url"), stored.get("account") or None
    if current != stored:
        return f"sending to {_describe(stored)}, where this journal's run started"
    return None


def _describe(target: dict[str, Any]) -> str:
    account = target.get("account") or "the configured account"
    return f"{target.get('base_url')} as {account}"
