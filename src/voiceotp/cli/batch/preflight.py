"""``voiceotp batch --dry-run``: what a run would send, what it costs, whether it fits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from voiceotp.cli.exitcodes import ExitCode
from voiceotp.cli.hints import hint_for
from voiceotp.cli.send import exit_code_for
from voiceotp.client import AsyncClient
from voiceotp.client.batch import Journal, State
from voiceotp.errors import ConfigError, ProtocolError, TransportError, VoiceOTPError


def preflight(
    journal: Journal,
    *,
    include_unknown: bool,
    price: float | None,
    make_client: Callable[[], AsyncClient] | None,
) -> tuple[dict[str, Any], ExitCode]:
    """Counts, cost and (unless ``make_client`` is None) the GetNum balance; and the exit
    code: 4 when the balance is short or the account refused, 7 when the service could not
    be reached or read, 1 when rows were rejected."""
    counts = journal.counts()
    to_send = counts[State.PENDING] + (counts[State.UNKNOWN] if include_unknown else 0)
    doc: dict[str, Any] = {
        "dry_run": True,
        "rows": sum(counts.values()),
        "to_send": to_send,
        "rejected": counts[State.REJECTED],
        "duplicates": counts[State.SKIPPED],
        "already_done": counts[State.SENT] + counts[State.FAILED],
        "unknown": counts[State.UNKNOWN],
        "units": to_send,
        "cost": None if price is None else round(to_send * price, 4),
        "balance": None,
        "balance_error": None,
        "balance_hint": None,
    }
    error: VoiceOTPError | None = None
    if make_client is not None:
        doc["balance"], error = _balance(make_client)
        doc["balance_error"] = None if error is None else f"{type(error).__name__}: {error}"
        doc["balance_hint"] = hint_for(error)
    return doc, _exit_code(doc, error)


def _balance(make_client: Callable[[], AsyncClient]) -> tuple[int | None, VoiceOTPError | None]:
    async def ask() -> int:
        async with make_client() as client:
            return await client.balance()

    try:
        return asyncio.run(ask()), None
    except VoiceOTPError as exc:
        return None, exc


def _exit_code(doc: dict[str, Any], error: VoiceOTPError | None) -> ExitCode:
    if doc["balance"] is not None and doc["balance"] < doc["units"]:
        return ExitCode.ACCOUNT
    if isinstance(error, TransportError | ProtocolError):
        return ExitCode.UNREACHABLE  # as for a run: the service could not be used
    if error is not None and not isinstance(error, ConfigError):
        return exit_code_for(error)  # no account configured: the balance is just unchecked
    return ExitCode.REFUSED if doc["rejected"] else ExitCode.OK
