"""``voiceotp send`` (one request at a time), and what every client command shares: the
service options, the client, exit codes, printing a failure.

Exit codes (docs/client.md): 0 success; 1 the service refused (code != 2); 2 usage
error or a number/code refused locally; 3 configuration error; 4 account-level refusal
(stop and fix the account); 5 network or protocol failure where no call can have been
placed (``send``: the request never left; ``balance``/``query``: any failure, they place
no call); 6 outcome unknown — ``send`` may have placed the call (no answer, or an
unreadable answer), do not simply re-send.
"""

from __future__ import annotations

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

from voiceotp.cli.exitcodes import ExitCode
from voiceotp.cli.hints import hint_for
from voiceotp.cli.output import JsonCommand, print_json, stderr_console
from voiceotp.client import Client, SendReport
from voiceotp.client.models import outcome_unknown
from voiceotp.errors import (
    AccountError,
    APIError,
    ConfigError,
    InvalidCode,
    InvalidMobile,
    VoiceOTPError,
)
from voiceotp.protocol import mask_mobile, normalize_mobile

F = TypeVar("F", bound=Callable[..., Any])


def exit_code_for(error: BaseException | None, *, submit: bool = False) -> ExitCode:
    """The documented exit code for an outcome. Only a Submit can place a call, so only
    its failures can be unknown (6); the same failure of a GetNum or Query is 5."""
    if error is None:
        return ExitCode.OK
    if submit and outcome_unknown(None, error):
        return ExitCode.UNKNOWN
    for kind, code in (
        (AccountError, ExitCode.ACCOUNT),
        (APIError, ExitCode.REFUSED),
        (ConfigError, ExitCode.CONFIG),
        (InvalidMobile | InvalidCode, ExitCode.USAGE),
    ):
        if isinstance(error, kind):
            return code
    return ExitCode.FAILED


# Where the APIKEY comes from: never an option, so it stays out of shell history and `ps`.
APIKEY_HELP = (
    "The APIKEY is read from $VOICEOTP_APIKEY or the config file"
    " (`voiceotp config init` writes it), never from an option."
)


def client_options(command: F) -> F:
    """Options shared by every command that talks to the service."""
    return _service_options(command, dedupe=True)


def read_options(command: F) -> F:
    """The options of ``balance`` and ``query``: nothing is submitted, so no --dedupe."""
    return _service_options(command, dedupe=False)


def _service_options(command: F, *, dedupe: bool) -> F:
    options = [
        click.option("--account", help="APIID (default: $VOICEOTP_ACCOUNT or the config)."),
        click.option("--base-url", help="Endpoint URL (default: the real ihuyi service)."),
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Config file with account and apikey (default: $VOICEOTP_CONFIG or"
            f" ~/.config/voiceotp/config.toml). {APIKEY_HELP}",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            callback=_finite,
            default=10.0,
            show_default=True,
            help="Seconds to wait for each answer (connect, send and read together; above 0).",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
    ]
    if dedupe:
        options.insert(-1, DEDUPE_OPTION)
    for option in reversed(options):
        command = option(command)
    return command


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    # FloatRange(min=0) lets inf through, and nan (every comparison with nan is false).
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number of seconds", ctx, param)
    return value


DEDUPE_OPTION = click.option(
    "--dedupe/--no-dedupe",
    default=False,
    help="The server dedupes exact replays (the voiceotp gateway): a lost answer is"
    " retried as an exact replay. Never with the real ihuyi service: it does not dedupe,"
    " so a replay there places a second call.",
)


@contextmanager
def service_client(opts: dict[str, Any], *, raise_on_error: bool = True) -> Iterator[Client]:
    """The client the options name; a configuration error is the command's failure."""
    try:
        client = Client(
            opts["account"],
            base_url=opts["base_url"],
            config_file=opts["config_file"],
            timeout=opts["timeout"],
            server_dedupes=opts.get("dedupe", False),
            raise_on_error=raise_on_error,
        )
    except ConfigError as exc:
        fail(exc, opts["as_json"])
    with client:
        yield client


def fail(error: VoiceOTPError, as_json: bool) -> NoReturn:
    """Print ``error`` (JSON or for people) and exit with its documented code."""
    code = exit_code_for(error)
    hint = hint_for(error)
    if as_json:
        doc = {"ok": False, "error": type(error).__name__, "message": str(error), "hint": hint}
        print_json(doc)
    else:
        stderr_console().print(f"[red]{type(error).__name__}[/red]: {escape(str(error))}")
        show_hint(hint)
    sys.exit(code)


def show_hint(hint: str | None) -> None:
    """The English explanation and next step, on its own line below the message."""
    if hint is not None:
        stderr_console().print(f"hint: {escape(hint)}")


EXIT_CODES = """\b
Exit codes: 0 success; 1 the service refused (code != 2); 2 usage error, or the number or
code refused locally; 3 configuration error (missing credentials, unreadable config);
4 account-level refusal (fix the account); 5 could not connect: nothing was sent;
6 outcome unknown (no answer, an unreadable answer, or Ctrl-C while waiting for it): the
call may have been placed, do not simply re-send.
"""

SEND_EPILOG = f"""\b
Examples:
  voiceotp send 13800138000 1234
  voiceotp send "+86 138-0013-8000"            # a random 4-digit code
  voiceotp send 13800138000 --length 6 --json
  voiceotp send 13800138000 --base-url http://127.0.0.1:8080/webservice/voice.php --dedupe

{EXIT_CODES}"""


@click.command(cls=JsonCommand, epilog=SEND_EPILOG)
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
    with service_client(opts) as client:
        report = _submit(client, mobile, code, opts["as_json"])
    _show_report(report, code, opts["as_json"])
    sys.exit(exit_code_for(report.error, submit=True))


def _submit(client: Client, mobile: str, code: str, as_json: bool) -> SendReport:
    try:
        return client.submit(mobile, code)
    except KeyboardInterrupt:
        # The request may have left: like a lost answer, the outcome is unknown.
        message = (
            f"interrupted while waiting for the answer: the call to {_masked(mobile)} may"
            " have been placed; do not simply re-send"
        )
        if as_json:
            print_json({"ok": False, "error": "Interrupted", "message": message})
        else:
            stderr_console().print(f"[red]interrupted[/red]: {escape(message)}")
        sys.exit(ExitCode.UNKNOWN)


def _masked(mobile: str) -> str:
    return mask_mobile(normalize_mobile(mobile) or mobile)


def _show_report(report: SendReport, code: str, as_json: bool) -> None:
    result = report.result
    masked = mask_mobile(report.mobile)
    if as_json:
        print_json(
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
                "hint": hint_for(report.error),
            }
        )
    elif report.ok:
        Console(soft_wrap=True).print(
            f"[green]sent[/green] {code} to {masked}: voiceid {escape(str(report.voiceid))}"
        )
    else:
        error = escape(f"{type(report.error).__name__}: {report.error}")
        stderr_console().print(
            f"[yellow]outcome unknown[/yellow] for {masked}: {error}"
            " (the call may have been placed: do not simply re-send)"
            if report.outcome_unknown
            else f"[red]not sent[/red] to {masked}: {error}"
        )
        show_hint(hint_for(report.error))
