"""``voiceotp admin template``: voice-notification templates (file, list, approve,
reject, delete) straight on the gateway's store (docs/notices.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from voiceotp.cli.admin_run import InvalidInput
from voiceotp.cli.operators import run_store
from voiceotp.cli.storeplace import pass_opts, subcommand_options

console = Console()
BY = "cli"

TEMPLATE_EXAMPLES = """Examples:

\b
  voiceotp admin template file --dev V12345678 "您的快递【变量】已到达{station:12},请取件"
  voiceotp admin template list --dev --state pending
  voiceotp admin template approve --dev 3
  voiceotp admin template reject --dev 4 --reason "含营销内容"
  voiceotp admin template delete --dev 3
  voiceotp admin template record --dev 3 0 greeting.wav
  voiceotp admin template unrecord --dev 3 0
  voiceotp admin template play-times --dev 3 2

Variables: 【变量】 (ihuyi's style, limited to --var-max characters, default 8) or named,
{name} / {name:20} (its own limit). A notice's content must fill an approved template.
A recording (WAV, FLAC, Ogg or MP3, at most 30 s) replaces the synthesised voice of one
fixed part: 0 is the text before the first variable, 1 the text after it, and so on.
"""


def _run(opts: dict[str, Any], action: Any, *, with_store: bool = False) -> Any:
    """Run ``action(templates, admin)`` (``with_store``: and the store) on the store;
    operator mistakes exit 2."""
    import time

    from voiceotp.gateway.admin import Admin, AdminError
    from voiceotp.gateway.templates import Templates

    data_dir = _settings(opts).data_dir

    async def go(store: Any) -> Any:
        admin = Admin(store, _keybox(opts), time.time)
        templates = Templates(store, time.time, data_dir=data_dir)
        if with_store:
            return await action(templates, admin, store)
        return await action(templates, admin)

    try:
        return run_store(opts, go)
    except AdminError as exc:
        raise InvalidInput(str(exc)) from exc


def _settings(opts: dict[str, Any]) -> Any:
    from voiceotp.cli.storeplace import load_settings

    return load_settings(**opts)


def _keybox(opts: dict[str, Any]) -> Any:
    from voiceotp.store.keys import KeyBox

    return KeyBox(_settings(opts).secret_key)


def _run_audio(opts: dict[str, Any], action: Any) -> Any:
    """Run ``action(template_audio)`` on the store (recordings under its data_dir)."""
    import time

    from voiceotp.gateway.admin import AdminError
    from voiceotp.gateway.template_audio import TemplateAudio
    from voiceotp.gateway.templates import Templates

    data_dir = _settings(opts).data_dir

    async def go(store: Any) -> Any:
        templates = Templates(store, time.time, data_dir=data_dir)
        return await action(TemplateAudio(store, templates, data_dir, time.time))

    try:
        return run_store(opts, go)
    except AdminError as exc:
        raise InvalidInput(str(exc)) from exc


@click.group(epilog=TEMPLATE_EXAMPLES)
def template() -> None:
    """Voice-notification templates (语音通知模板)."""


@template.command("file")
@click.argument("account")
@click.argument("text")
@click.option("--var-max", type=int, help="Length limit of its variables (default 8).")
@subcommand_options
@pass_opts
def file_template(opts: dict[str, Any], account: str, text: str, var_max: int | None) -> None:
    """File TEXT as a template of ACCOUNT (pending until approved)."""

    async def act(templates: Any, admin: Any) -> Any:
        record = await admin.account(account)
        return await templates.file(record.id, text, var_max=var_max, by=BY)

    filed = _run(opts, act)
    click.echo(f"template {filed.id} of {account}: {filed.state}")


@template.command("list")
@click.option("--state", type=click.Choice(["pending", "approved", "rejected"]))
@click.option("--account", help="Only this account's templates.")
@subcommand_options
@pass_opts
def list_templates(opts: dict[str, Any], state: str | None, account: str | None) -> None:
    """List templates, newest first."""

    from voiceotp.store.usercenter import account_names

    async def act(templates: Any, admin: Any, store: Any) -> Any:
        owner = (await admin.account(account)).id if account else None
        listed = await templates.list(owner, state)
        return listed, await account_names(store, ids={t.account_id for t in listed})

    listed, names = _run(opts, act, with_store=True)
    # the whole text, folded: an operator approves what they can read
    table = Table("id", "account", "state", "reason", "text")
    table.columns[-1].overflow = "fold"
    for t in listed:
        name = names.get(t.account_id, str(t.account_id))
        table.add_row(str(t.id), name, t.state, t.reason, t.text)
    console.print(table)


@template.command()
@click.argument("template_id")
@click.option("--reason", default="", help="A note kept with the decision.")
@subcommand_options
@pass_opts
def approve(opts: dict[str, Any], template_id: str, reason: str) -> None:
    """Approve a pending template: notices may fill it from now on."""
    decided = _run(opts, lambda t, a: t.decide(template_id, approve=True, reason=reason, by=BY))
    click.echo(json.dumps({"id": decided.id, "state": decided.state}))


@template.command()
@click.argument("template_id")
@click.option("--reason", required=True, help="Why (the customer sees it).")
@subcommand_options
@pass_opts
def reject(opts: dict[str, Any], template_id: str, reason: str) -> None:
    """Reject a pending template, with a reason."""
    decided = _run(opts, lambda t, a: t.decide(template_id, approve=False, reason=reason, by=BY))
    click.echo(json.dumps({"id": decided.id, "state": decided.state}))


@template.command()
@click.argument("template_id")
@subcommand_options
@pass_opts
def delete(opts: dict[str, Any], template_id: str) -> None:
    """Delete a template (calls made from it keep its id)."""
    _run(opts, lambda t, a: t.delete(template_id))
    click.echo(f"template {template_id} deleted")


@template.command()
@click.argument("template_id")
@click.argument("part", type=int)
@click.argument("recording", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@subcommand_options
@pass_opts
def record(opts: dict[str, Any], template_id: str, part: int, recording: Path) -> None:
    """Say RECORDING (WAV/FLAC/Ogg/MP3) for fixed PART of an approved template."""
    data = recording.read_bytes()
    done = _run_audio(opts, lambda audio: audio.record(template_id, part, data, by=BY))
    click.echo(json.dumps({"id": done.template_id, "part": done.part, "kind": done.kind,
                           "duration_ms": done.duration_ms}))  # fmt: skip


@template.command()
@click.argument("template_id")
@click.argument("part", type=int)
@subcommand_options
@pass_opts
def unrecord(opts: dict[str, Any], template_id: str, part: int) -> None:
    """Remove the recording of fixed PART (espeak-ng speaks it again)."""
    _run_audio(opts, lambda audio: audio.remove(template_id, part, by=BY))
    click.echo(f"template {template_id} part {part}: recording removed")


@template.command("play-times")
@click.argument("template_id")
@click.argument("times", type=int)
@subcommand_options
@pass_opts
def play_times(opts: dict[str, Any], template_id: str, times: int) -> None:
    """Say the template's notices TIMES times (1-3), with a pause between."""
    done = _run_audio(opts, lambda audio: audio.set_play_times(template_id, times, by=BY))
    click.echo(json.dumps({"id": done.id, "play_times": done.play_times}))
