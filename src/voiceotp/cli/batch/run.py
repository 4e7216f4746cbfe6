"""``voiceotp batch``: the run itself — the client (and, for notices, its NoticeSender),
the engine, Ctrl-C and SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from rich.console import Console

from voiceotp.cli.batch.progress import BatchProgress
from voiceotp.cli.batch.target import endpoint
from voiceotp.cli.exitcodes import ExitCode
from voiceotp.cli.output import exit_with_error
from voiceotp.client import AsyncClient
from voiceotp.client.batch import (
    BatchEngine,
    BatchOptions,
    BatchSummary,
    Journal,
    JournalError,
    NoticeBatch,
    NoticeSender,
    Sender,
    State,
    UnknownPolicy,
)
from voiceotp.client.retry import RetryPolicy
from voiceotp.errors import ConfigError

# The engine owns retries of 0/4090 (with adaptive slow-down); the client only retries what
# never left (connect failures) and, against a deduping server, replays lost answers exactly.
BATCH_RETRY = RetryPolicy(max_attempts=2, retry_codes=frozenset(), backoff_base_s=0.2)


def make_client(args: dict[str, Any]) -> AsyncClient:
    """The run's client (and the dry run's, for GetNum). A notice batch's client sends
    everything (GetNum too) to the notification product."""
    base_url = endpoint(args)[2] if args.get("notice") is not None else args["base_url"]
    return AsyncClient(
        args["account"],
        base_url=base_url,
        config_file=args["config_file"],
        timeout=args["timeout"],
        retry=BATCH_RETRY,
        server_dedupes=args["dedupe"],
        raise_on_error=False,
        limit=max(100, args["concurrency"]),
    )


def unknown_policy(args: dict[str, Any]) -> UnknownPolicy | None:
    """What the run does with unknown rows; None: leaves them (KEEP)."""
    if args["replay_unknown"]:
        return UnknownPolicy.REPLAY
    if args["resend_unknown"]:
        return UnknownPolicy.RESEND
    return None


def engine_options(args: dict[str, Any]) -> BatchOptions:
    """How the engine runs for these arguments. The process is ours, so the garbage
    collector is tuned for the run (``freeze_gc``, docs/batch.md)."""
    return BatchOptions(
        concurrency=args["concurrency"],
        rate=args["rate"],
        max_attempts=args["max_attempts"],
        unknown=unknown_policy(args) or UnknownPolicy.KEEP,
        freeze_gc=True,
    )


def send(journal: Journal, args: dict[str, Any]) -> BatchSummary:
    """Run the engine over ``journal`` with a progress bar; exits on what stops it."""
    policy = unknown_policy(args)
    options = engine_options(args)
    counts = journal.counts()
    total = counts[State.PENDING]
    if policy is not None:
        total += counts[State.UNKNOWN] + counts[State.SENDING]
    console = Console(stderr=True)
    view = BatchProgress(console, total, enabled=args["progress"] and not args["as_json"])
    try:
        with view:
            return asyncio.run(_run(journal, options, args, view))
    except ConfigError as exc:
        exit_with_error(f"configuration: {exc}", as_json=args["as_json"], code=ExitCode.CONFIG)
    except JournalError as exc:
        message = f"{exc}; resume when it can be written again"
        exit_with_error(message, as_json=args["as_json"], code=ExitCode.FAILED)
    except KeyboardInterrupt:
        # A second Ctrl-C: requests in flight were abandoned; their rows stay `sending`
        # and become unknown on resume, so nothing is sent twice.
        message = f"interrupted; resume with: voiceotp batch --resume {journal.path}"
        exit_with_error(message, as_json=args["as_json"], code=ExitCode.INTERRUPTED)


async def _run(
    journal: Journal, options: BatchOptions, args: dict[str, Any], view: BatchProgress
) -> BatchSummary:
    notice: NoticeBatch | None = args.get("notice")
    async with make_client(args) as client:
        sender: Sender = client if notice is None else NoticeSender(client, notice)
        engine = BatchEngine(journal, sender, options, on_outcome=view.on_outcome)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, _interrupt, engine, view, signum)
        try:
            return await engine.run()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)


def _interrupt(engine: BatchEngine, view: BatchProgress, signum: int) -> None:
    # First signal: finish what is in flight, and say so (that can take up to --timeout).
    # A second one gets Python's default handling.
    engine.stop()
    asyncio.get_running_loop().remove_signal_handler(signum)
    view.note(finishing_message(engine.in_flight, signum))


def finishing_message(in_flight: int, signum: int) -> str:
    """What the first Ctrl-C (or SIGTERM) says while the requests in flight finish."""
    if not in_flight:
        return "stopping (no request in flight)"
    again = "Ctrl-C again" if signum == signal.SIGINT else "a second SIGTERM"
    requests = "request" if in_flight == 1 else "requests"
    return (
        f"finishing {in_flight} {requests} in flight ({again} to abandon them;"
        " they will be 'unknown')"
    )
