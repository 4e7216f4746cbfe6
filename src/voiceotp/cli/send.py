"""``voiceotp send``, ``balance``, ``query`` and ``config``: one request at a time.

Exit codes (docs/client.md): 0 success; 1 the service refused (code != 2); 2 usage
error or a number/code refused locally; 3 configuration error; 4 account-level refusal
(stop and fix the account); 5 network or protocol failure where no call can have been
placed (``send``: the request never left; ``balance``/``query``: any failure, they place
no call); 6 outcome unknown — ``send`` may have placed the call (no answer, or an
unreadable answer), do not simply re-send.
"""

from __future__ import annotations

import json
import math
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from voiceotp.client import Client, SendReport
from voiceotp.client.config import (
    collect_settings,
    default_config_path,
    mask_secret,
    render_config_file,
    write_config_file,
)
from voiceotp.client.models import outcome_unknown
from voiceotp.errors import (
    AccountError,
    APIError,
    ConfigError,
    InvalidCode,
    InvalidMobile,
    VoiceOTPError,
)
from voiceotp.protocol import mask_mobile

F = TypeVar("F", bound=Callable[..., Any])
OK, REFUSED, USAGE, CONFIG, ACCOUNT, FAILED, UNKNOWN = 0, 1, 2, 3, 4, 5, 6


def exit_code_for(error: BaseException | None, *, submit: bool = False) -> int:
    """The documented exit code for an outcome. Only a Submit can place a call, so only
    its failures can be unknown (6); the same failure of a GetNum or Query is 5."""
    if error is None:
        return OK
    if submit and outcome_unknown(None, error):
        return UNKNOWN
    for kind, code in (
        (AccountError, ACCOUNT),
        (APIError, REFUSED),
        (ConfigError, CONFIG),
        (InvalidMobile | InvalidCode, USAGE),
    ):
        if isinstance(error, kind):
            return code
    return FAILED


def client_options(command: F) -> F:
    """Options shared by every command that talks to the service."""
    for option in reversed(
        [
            click.option("--account", help="APIID (default: $VOICEOTP_ACCOUNT or the config)."),
            click.option("--base-url", help="Endpoint URL (default: the real ihuyi service)."),
            click.option(
                "--config",
                "config_file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Config file (default: $VOICEOTP_CONFIG or ~/.config/voiceotp/config.toml).",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0, min_open=True),
                callback=_finite,
                default=10.0,
                show_default=True,
                help="Seconds allowed for each request (above 0).",
            ),
            click.option(
                "--dedupe/--no-dedupe",
                default=False,
                help="The server dedupes exact replays (the voiceotp gateway): a lost "
                "answer is retried as an exact replay.",
            ),
            click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
        ]
    ):
        command = option(command)
    return command


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    # FloatRange(min=0) lets inf through, and nan (every comparison with nan is false).
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number of seconds", ctx, param)
    return value


@contextmanager
def _client(opts: dict[str, Any]) -> Iterator[Client]:
    try:
        client = Client(
            opts["account"],
            base_url=opts["base_url"],
            config_file=opts["config_file"],
            timeout=opts["timeout"],
            server_dedupes=opts["dedupe"],
            raise_on_error=True,
        )
    except ConfigError as exc:
        _fail(exc, opts["as_json"])
    with client:
        yield client


def _fail(error: VoiceOTPError, as_json: bool) -> NoReturn:
    code = exit_code_for(error)
    if as_json:
        _print_json({"ok": False, "error": type(error).__name__, "message": str(error)})
    else:
        Console(stderr=True).print(f"[red]{type(error).__name__}[/red]: {error}", markup=True)
    sys.exit(code)


def _print_json(doc: dict[str, Any]) -> None:
    click.echo(json.dumps(doc, ensure_ascii=False))


SEND_EPILOG = """\b
Examples:
  voiceotp send 13800138000 1234
  voiceotp send "+86 138-0013-8000"            # a random 4-digit code
  voiceotp send 13800138000 --length 6 --json
  voiceotp send 13800138000 --base-url http://127.0.0.1:8080/webservice/voice.php --dedupe
"""


@click.command(epilog=SEND_EPILOG)
@click.argument("mobile")
@click.argument("code", required=False)
@click.option(
    "--length",
    type=click.IntRange(4, 6),
    default=4,
    show_default=True,
    help="Digits of the generated code when CODE is omitted.",
)
@client_options
def send(mobile: str, code: str | None, length: int, **opts: Any) -> None:
    """Call MOBILE and speak CODE (generated with `secrets` when omitted)."""
    code = (
        code if code is not None else "".join(secrets.choice("0123456789") for _ in range(length))
    )
    with _client(opts) as client:
        report = client.submit(mobile, code)
    _show_report(report, code, opts["as_json"])
    sys.exit(exit_code_for(report.error, submit=True))


def _show_report(report: SendReport, code: str, as_json: bool) -> None:
    result = report.result
    masked = mask_mobile(report.mobile)
    if as_json:
        _print_json(
            {
                "ok": report.ok,
                "mobile": masked,
                "code": code,
                "result_code": result.code if result else None,
                "msg": result.msg if result else None,
                "voiceid": report.voiceid,
                "attempts": report.attempts,
                "time": report.time,
                "outcome_unknown": report.outcome_unknown,
                "error": type(report.error).__name__ if report.error else None,
                "message": str(report.error) if report.error else None,
            }
        )
    elif report.ok:
        Console().print(f"[green]sent[/green] {code} to {masked}: voiceid {report.voiceid}")
    else:
        error = escape(f"{type(report.error).__name__}: {report.error}")
        Console(stderr=True, highlight=False).print(
            f"[yellow]outcome unknown[/yellow] for {masked}: {error}"
            " (the call may have been placed: do not simply re-send)"
            if report.outcome_unknown
            else f"[red]not sent[/red] to {masked}: {error}"
        )


@click.command(epilog="\b\nExamples:\n  voiceotp balance\n  voiceotp balance --json")
@client_options
def balance(**opts: Any) -> None:
    """Print how many calls the account can still place (GetNum)."""
    with _client(opts) as client:
        try:
            num = client.balance()
        except VoiceOTPError as exc:
            _fail(exc, opts["as_json"])
    if opts["as_json"]:
        _print_json({"ok": True, "num": num})
    else:
        click.echo(num)


@click.command(epilog="\b\nExamples:\n  voiceotp query 60495654\n  voiceotp query 60495654 --json")
@click.argument("voiceid")
@client_options
def query(voiceid: str, **opts: Any) -> None:
    """Print the status of call VOICEID (voiceotp gateway extension)."""
    with _client(opts) as client:
        try:
            result = client.query(voiceid)
        except VoiceOTPError as exc:
            _fail(exc, opts["as_json"])
    fields = dict(result.fields())
    if opts["as_json"]:
        _print_json({"ok": True, **fields})
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in fields.items()))


@click.group()
def config() -> None:
    """Create or show the client configuration (the APIKEY is never printed)."""


@config.command(
    "init",
    epilog="\b\nExamples:\n  voiceotp config init --account V12345678\n"
    "  echo $KEY | voiceotp config init --account V12345678 --apikey-stdin --force",
)
@click.option("--account", prompt="APIID (account)")
@click.option("--base-url", default=None, help="Only if not the real ihuyi service.")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--apikey-stdin", is_flag=True, help="Read the APIKEY from standard input.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def config_init(
    account: str,
    base_url: str | None,
    path: Path | None,
    apikey_stdin: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Write the config file (mode 0600) with the account and APIKEY."""
    path = path or default_config_path()
    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; pass --force to overwrite it")
    if apikey_stdin:
        apikey = sys.stdin.readline().strip()
    else:
        apikey = click.prompt("APIKEY", hide_input=True).strip()
    if not apikey:
        raise click.UsageError("the APIKEY is empty")
    write_config_file(path, render_config_file(account.strip(), apikey, base_url))
    if as_json:
        _print_json({"ok": True, "config_file": str(path)})
    else:
        click.echo(f"wrote {path}")


@config.command(
    "show", epilog="\b\nExamples:\n  voiceotp config show\n  voiceotp config show --json"
)
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def config_show(config_file: Path | None, as_json: bool) -> None:
    """Show the settings in effect and where each comes from (the APIKEY masked)."""
    try:
        values, sources, path = collect_settings(config_file=config_file)
    except ConfigError as exc:
        _fail(exc, as_json)
    if "apikey" in values:
        values["apikey"] = mask_secret(values["apikey"])
    rows = {
        k: {"value": values.get(k), "source": sources.get(k)}
        for k in ("account", "apikey", "base_url")
    }
    if as_json:
        _print_json({"config_file": str(path), **rows})
    else:
        click.echo(f"config file: {path}")
        for key, row in rows.items():
            click.echo(f"{key}: {row['value'] or '(not set)'}  [{row['source'] or '-'}]")
    sys.exit(OK if all(values.get(k) for k in ("account", "apikey")) else CONFIG)
