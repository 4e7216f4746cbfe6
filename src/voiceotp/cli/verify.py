"""``voiceotp verify`` and ``voiceotp check``: codes made up by a voiceotp gateway.

``verify`` asks the gateway to make up a code and call the number (the code is never
shown: only the callee hears it); ``check`` asks whether a code the user typed is right.
Exit codes as ``send``'s (docs/client.md); ``check`` exits 1 for a wrong, expired, used
up or missing code, and 6 when its answer was lost (the code may have been consumed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from voiceotp.cli.hints import hint_for_code
from voiceotp.cli.output import JsonCommand, print_json, stderr_console
from voiceotp.cli.send import (
    EXIT_CODES,
    client_options,
    exit_code_for,
    fail,
    service_client,
    show_hint,
)
from voiceotp.client import Client
from voiceotp.client.base import api_error
from voiceotp.errors import InvalidCode, InvalidMobile, VoiceOTPError
from voiceotp.protocol import CheckResult, SubmitResult, VerifyResult, mask_mobile
from voiceotp.protocol.notice import normalize_callee

GATEWAY = "--base-url http://127.0.0.1:8080/webservice/voice.php"


def call_client(opts: dict[str, Any], request: Callable[[Client], Any]) -> Any:
    with service_client(opts, raise_on_error=False) as client:
        try:
            return request(client)
        except (InvalidMobile, InvalidCode) as exc:
            fail(exc, opts["as_json"])
        except VoiceOTPError as exc:  # no usable answer: the outcome is unknown (6)
            _show_failure(exc, opts["as_json"])
            sys.exit(exit_code_for(exc, submit=True))


@click.command(
    cls=JsonCommand,
    epilog=f"\b\nExamples:\n  voiceotp verify 13800138000 {GATEWAY}\n"
    f"  voiceotp verify 13800138000 --length 4 --ttl 120 --json\n\n{EXIT_CODES}",
)
@click.argument("mobile")
@click.option("--length", type=click.IntRange(4, 6), help="Digits (default: the gateway's).")
@click.option("--ttl", type=click.IntRange(60, 3600), help="Seconds the code stays valid.")
@client_options
def verify(mobile: str, length: int | None, ttl: int | None, **opts: Any) -> None:
    """Have the gateway make up a code and call MOBILE with it (voiceotp extension)."""
    result: VerifyResult = call_client(opts, lambda c: c.verify(mobile, length=length, ttl=ttl))
    show_result(result, mobile, "called", opts["as_json"])


@click.command(
    cls=JsonCommand,
    epilog=f"\b\nExamples:\n  voiceotp check 13800138000 482913 {GATEWAY}\n"
    f"  voiceotp check 13800138000 482913 --voiceid 60495654 --json\n\n{EXIT_CODES}",
)
@click.argument("mobile")
@click.argument("code")
@click.option("--voiceid", help="Check the code of this call (default: the latest).")
@client_options
def check(mobile: str, code: str, voiceid: str | None, **opts: Any) -> None:
    """Check CODE, typed by the user of MOBILE (voiceotp extension). A right code is
    consumed."""
    result: CheckResult = call_client(opts, lambda c: c.check(mobile, code, voiceid=voiceid))
    show_result(result, mobile, "verified", opts["as_json"])


def show_result(
    result: VerifyResult | CheckResult | SubmitResult, mobile: str, done: str, as_json: bool
) -> None:
    masked = mask_mobile(normalize_callee(mobile) or mobile)
    if as_json:
        print_json(
            {
                "ok": result.ok,
                "mobile": masked,
                "result_code": result.code,
                "msg": result.msg,
                "voiceid": result.voiceid if result.ok else None,
                "hint": None if result.ok else hint_for_code(result.code),
            }
        )
    elif result.ok:
        Console(soft_wrap=True).print(f"[green]{done}[/green] {masked}: voiceid {result.voiceid}")
    else:
        stderr_console().print(f"[red]refused[/red] for {masked}: {result.code} {result.msg}")
        show_hint(hint_for_code(result.code))
    sys.exit(0 if result.ok else exit_code_for(api_error(result)))


def _show_failure(error: VoiceOTPError, as_json: bool) -> None:
    message = f"{type(error).__name__}: {error}"
    if as_json:
        print_json({"ok": False, "error": type(error).__name__, "message": str(error)})
    else:
        stderr_console().print(f"[yellow]no answer[/yellow]: {escape(message)}")
