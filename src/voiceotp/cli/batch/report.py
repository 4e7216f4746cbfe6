"""What ``voiceotp batch`` shows and leaves: summaries, output files, exit code."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from voiceotp.cli.exitcodes import ExitCode
from voiceotp.cli.hints import hint_for_code
from voiceotp.cli.output import stderr_console
from voiceotp.cli.send import show_hint
from voiceotp.client.batch import BatchSummary, Journal, State
from voiceotp.client.batch.outputs import write_failed, write_rejects, write_results
from voiceotp.protocol import message_for

_STATE_NOTES = {
    State.REJECTED: "invalid input row (see the rejects file)",
    State.SKIPPED: "duplicate number",
    State.UNKNOWN: "outcome unknown: the call may have been placed",
}


def summary_table(summary: BatchSummary) -> Table:
    """Rows by outcome and code, most frequent first."""
    table = Table(title="batch summary", show_footer=True)
    table.add_column("status", footer="total")
    table.add_column("code")
    table.add_column("msg", overflow="fold")  # 4072 says at the end what failed
    table.add_column("rows", justify="right", footer=f"{summary.total:,}")
    for code, msg, state, count in summary.codes:
        style = "green" if state is State.SENT else "yellow" if state is State.UNKNOWN else "red"
        table.add_row(
            f"[{style}]{state.value}[/{style}]",
            "" if code is None else str(code),
            _message(code, msg, state),
            f"{count:,}",
        )
    for state in (State.PENDING, State.SENDING):
        if summary.counts[state]:
            table.add_row(state.value, "", "not sent yet", f"{summary.counts[state]:,}")
    return table


def _message(code: int | None, msg: str | None, state: State) -> str:
    if msg is None and code is not None:  # e.g. 4072, whose message names what failed
        return f"{message_for(code)} (the message differs per row: see the results file)"
    return msg or _STATE_NOTES.get(state, "")


def summary_doc(summary: BatchSummary) -> dict[str, Any]:
    """The summary as one JSON-able object (for ``--json``)."""
    stopped = summary.stopped
    return {
        "finished": summary.finished,
        "total": summary.total,
        "counts": {state.value: count for state, count in summary.counts.items()},
        "codes": [
            {
                "status": state.value,
                "code": code,
                "msg": msg if msg is not None or code is None else message_for(code),
                "rows": count,
            }
            for code, msg, state, count in summary.codes
        ],
        "stopped": None
        if stopped is None
        else {"kind": stopped.kind, "message": stopped.message, "code": stopped.code},
        "recovered_unknown": summary.recovered,
        "too_old_to_replay": summary.too_old_to_replay,
        "requests": summary.requests,
        "elapsed_s": round(summary.elapsed_s, 3),
        "slowdowns": summary.slowdowns,
        **summary.extra,
    }


def show_preflight(doc: dict[str, Any]) -> None:
    """The dry run's findings, for people: counts, cost, balance, the files it left."""
    out = stderr_console()
    out.print(
        f"rows: {doc['rows']:,}  to send: {doc['to_send']:,}  rejected: {doc['rejected']:,}"
        f"  duplicates: {doc['duplicates']:,}"
    )
    cost = f" = {doc['cost']:,}" if doc["cost"] is not None else ""
    out.print(f"cost: {doc['units']:,} calls (1 unit each){cost}")
    if doc["balance"] is not None:
        verdict = "enough" if doc["balance"] >= doc["units"] else "[red]NOT enough[/red]"
        out.print(f"balance: {doc['balance']:,} units — {verdict}")
    elif doc["balance_error"]:
        out.print(f"balance: not checked ({escape(doc['balance_error'])})")
        show_hint(doc.get("balance_hint"))
    if doc["rejects_file"]:
        out.print(f"rejects: {escape(doc['rejects_file'])} (invalid rows and why)")
    if doc.get("journal"):
        journal = escape(doc["journal"])
        out.print(f"journal: {journal} (send it with: voiceotp batch --resume {journal})")


Writer = Callable[[Journal, Path], object]
Files = dict[str, str]


def write_outputs(
    journal: Journal, counts: dict[State, int], args: dict[str, Any]
) -> tuple[Files, Files]:
    """Write the results file; the failed and rejects files when they would not be empty.
    Returns the files written and, by name, why any could not be."""
    stem = _stem(journal, args)
    results = partial(
        write_results, show_numbers=args["show_numbers"], show_codes=args["show_codes"]
    )
    plan: list[tuple[str, Path | None, Writer]] = [
        ("results", args["results"] or Path(f"{stem}.results.csv"), results),
        (
            "failed",
            args["failed"] or (Path(f"{stem}.failed.csv") if counts[State.FAILED] else None),
            write_failed,
        ),
        ("rejects", _rejects_path(journal, args, counts), write_rejects),
    ]
    return _write_each(journal, plan)


def write_rejects_file(
    journal: Journal, args: dict[str, Any], counts: dict[State, int]
) -> tuple[Files, Files]:
    """Write the rejects file (at --rejects, or beside the journal when there are any)."""
    return _write_each(journal, [("rejects", _rejects_path(journal, args, counts), write_rejects)])


def _rejects_path(journal: Journal, args: dict[str, Any], counts: dict[State, int]) -> Path | None:
    path: Path | None = args["rejects"]
    if path is None and counts[State.REJECTED]:
        path = Path(f"{_stem(journal, args)}.rejects.csv")
    return path


def _write_each(
    journal: Journal, plan: list[tuple[str, Path | None, Writer]]
) -> tuple[Files, Files]:
    # One file that cannot be written must not cost the others: each is tried.
    files: Files = {}
    errors: Files = {}
    for name, path, write in plan:
        if path is None:
            continue
        try:
            write(journal, path)
        except OSError as exc:
            errors[name] = f"could not write the {name} file {path}: {exc.strerror or exc}"
        else:
            files[name] = str(path)
    return files, errors


def with_write_errors(code: ExitCode, errors: Files) -> ExitCode:
    """A run whose files could not all be written exits 5, unless its own code says more
    (stopped, unknown outcomes, interrupted)."""
    return ExitCode.FAILED if errors and code in (ExitCode.OK, ExitCode.REFUSED) else code


def show_write_errors(errors: Files, journal: Journal | None) -> None:
    """Each file that could not be written, and (after a run) how to write them again."""
    out = stderr_console()
    for message in errors.values():
        out.print(f"[red]error[/red]: {escape(message)}")
    if errors and journal is not None:
        out.print(
            f"every outcome is kept in the journal {journal.path}: once the path is fixed,"
            f" `voiceotp batch --resume {journal.path}` writes the files again (it sends"
            " only rows still pending)."
        )


def _stem(journal: Journal, args: dict[str, Any]) -> Path:
    """Output files are named after the journal (a dry run's: after the input)."""
    stem = args.get("output_stem")
    return stem if isinstance(stem, Path) else journal.path.with_suffix("")


def exit_code_for(summary: BatchSummary) -> ExitCode:
    """The documented exit code of a finished or stopped run.

    Precedence 130, 4, 7, 6, 1: why the run did not finish comes first (each says to
    resume), then the unknowns (which a plain resume never sends), then the failures.
    """
    stopped = summary.stopped
    if stopped is not None and stopped.kind == "interrupted":
        return ExitCode.INTERRUPTED
    if stopped is not None and stopped.kind == "account":
        return ExitCode.ACCOUNT
    if stopped is not None or not summary.finished:
        # The service stop, or a few rows whose connections failed (below the limit)
        # left pending: nothing of theirs was sent.
        return ExitCode.UNREACHABLE
    if summary.counts[State.UNKNOWN]:
        return ExitCode.UNKNOWN
    if summary.counts[State.FAILED] or summary.counts[State.REJECTED]:
        return ExitCode.REFUSED
    return ExitCode.OK


def show_summary(summary: BatchSummary, files: dict[str, str], resume: str | None) -> None:
    """The summary table, the files written, why the run stopped, how to resume."""
    out = stderr_console()
    out.print(summary_table(summary), soft_wrap=False)  # a table fits the width it has
    for name, path in files.items():
        out.print(f"{name}: {escape(path)}")
    if summary.stopped is not None:
        later = "; resume later" if summary.stopped.kind == "service" else ""
        out.print(f"[red]stopped[/red]: {escape(summary.stopped.message)}{later}")
        show_hint(hint_for_code(summary.stopped.code))
    elif not summary.finished:
        out.print(
            f"[red]{summary.counts[State.PENDING]:,} row(s) not sent[/red]: the service could"
            " not be reached (nothing was sent for them); resume later"
        )
    if summary.counts[State.UNKNOWN]:
        out.print(
            f"[yellow]{summary.counts[State.UNKNOWN]} row(s) have an unknown outcome[/yellow]: "
            "the call may have been placed. Against the voiceotp gateway, resume with "
            "--replay-unknown --dedupe; elsewhere only --resend-unknown sends them"
            " (may call twice)."
        )
    if summary.too_old_to_replay:
        out.print(
            f"{summary.too_old_to_replay} unknown row(s) are too old to replay exactly; only"
            " --resend-unknown sends them (may call twice)."
        )
    if resume is not None:
        out.print(f"resume with: [bold]{escape(resume)}[/bold]")
