"""``voiceotp admin personal-data``: a data-subject request (个人信息主体请求) on one
account — export, or erase, the numbers and call audio its calls left (docs/privacy.md)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import click

from voiceotp.cli.admin_run import run
from voiceotp.cli.storeplace import pass_opts, subcommand_options

PERSONAL_DATA_EXAMPLES = """Examples:

\b
  voiceotp admin personal-data export --dev V12345678 --out ./request-42
  voiceotp admin personal-data export --dev V12345678 --mobile 13800138000 --out ./request-43
  voiceotp admin personal-data erase --dev V12345678 --mobile 13800138000 --yes

Both are audited on the account (admin API GET /admin/api/accounts/NAME/audit), the
number masked.
"""


@click.group("personal-data", epilog=PERSONAL_DATA_EXAMPLES)
def personal_data() -> None:
    """Export or erase one account's personal data (numbers, call audio)."""


@personal_data.command()
@click.argument("name")
@click.option("--mobile", default="", help="Only this number's calls.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write personal-data.json and the calls' WAVs into this folder (else JSON on stdout,"
    " without audio).",
)
@subcommand_options
@pass_opts
def export(opts: dict[str, Any], name: str, mobile: str, out: Path | None) -> None:
    """Export the numbers (and with --out the audio) of an account's calls."""
    found = run(
        opts, lambda a: a.export_personal_data(name, mobile=mobile, with_audio=out is not None)
    )
    if out is None:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    out.mkdir(parents=True, exist_ok=True)
    for call in found["calls"]:
        wav = call.pop("audio_wav_base64", None)
        if wav is not None:
            (out / f"{call['voiceid']}.wav").write_bytes(base64.b64decode(wav))
    text = json.dumps(found, ensure_ascii=False, indent=2) + "\n"
    (out / "personal-data.json").write_text(text, encoding="utf-8")
    audio = sum(1 for c in found["calls"] if c["audio"])
    click.echo(f"{name}: {len(found['calls'])} calls, {audio} audio files written to {out}")


@personal_data.command()
@click.argument("name")
@click.option("--mobile", default="", help="Only this number's calls.")
@click.option("--yes", is_flag=True, help="Do it without asking.")
@subcommand_options
@pass_opts
def erase(opts: dict[str, Any], name: str, mobile: str, yes: bool) -> None:
    """Mask the numbers and delete the audio of an account's ended calls (the ledger, the
    audit and the blacklist stay)."""
    whose = "one number's" if mobile else "every"
    if not yes:
        click.confirm(f"Erase {whose} personal data of {name}? It cannot be undone", abort=True)
    done = run(opts, lambda a: a.erase_personal_data(name, mobile=mobile))
    click.echo(json.dumps(done, ensure_ascii=False))
