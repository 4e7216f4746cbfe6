"""``voiceotp balance`` and ``query``: read-only requests, which never place a call (so no
outcome of theirs is "unknown": every failure is 5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from voiceotp.cli.output import JsonCommand, print_json
from voiceotp.cli.send import fail, read_options, service_client
from voiceotp.errors import VoiceOTPError

# balance and query never place a call, so no outcome of theirs is "unknown" (6).
READ_EXIT_CODES = """\b
Exit codes: 0 success; 1 the service refused (code != 2); 2 usage error; 3 configuration
error (missing credentials, unreadable config); 4 account-level refusal (fix the account);
5 no usable answer (could not connect, no answer in time, or an unreadable answer).
"""


@click.command(
    cls=JsonCommand,
    epilog=f"\b\nExamples:\n  voiceotp balance\n  voiceotp balance --json\n\n{READ_EXIT_CODES}",
)
@read_options
def balance(**opts: Any) -> None:
    """Print how many calls the account can still place (GetNum)."""
    with service_client(opts) as client:
        try:
            num = client.balance()
        except VoiceOTPError as exc:
            fail(exc, opts["as_json"])
    if opts["as_json"]:
        print_json({"ok": True, "num": num})
    else:
        click.echo(num)


@click.command(
    cls=JsonCommand,
    epilog="\b\nExamples:\n  voiceotp query 60495654\n  voiceotp query 60495654 --json"
    "\n\nTimes are local ISO 8601 (- when not yet known); with --json, Unix seconds."
    f"\n\n{READ_EXIT_CODES}",
)
@click.argument("voiceid")
@read_options
def query(voiceid: str, **opts: Any) -> None:
    """Print the status of call VOICEID (voiceotp gateway extension)."""
    with service_client(opts) as client:
        try:
            result = client.query(voiceid)
        except VoiceOTPError as exc:
            fail(exc, opts["as_json"])
    fields = dict(result.fields())
    if opts["as_json"]:
        print_json({"ok": True, **fields})  # times stay Unix seconds, for programs
    else:
        click.echo(" ".join(f"{k}={_shown(k, v)}" for k, v in fields.items()))


def _shown(name: str, value: int | str) -> int | str:
    # Times are Unix seconds (0: not yet / unknown); people read them as local ISO 8601.
    if not name.endswith("_time") or not isinstance(value, int):
        return value
    if value == 0:
        return "-"
    return datetime.fromtimestamp(value).astimezone().isoformat(timespec="seconds")
