"""``voiceotp batch``: send a file of numbers, resumably, never calling anyone twice.

Exit codes (docs/batch.md): 0 every row sent (duplicates skipped); 1 some rows failed or
were rejected; 2 usage error (bad input, journal exists/missing); 3 configuration error;
4 stopped on an account-level code, or (dry run) the balance is short; 5 the journal could
not be written (nothing unmarked was sent), or an output file could not be (the journal
holds every outcome); 6 some outcomes are unknown (a call may have been placed); 7 stopped
because the service was unreachable or its answers unreadable, or rows left pending after
connect failures (resume later), or (dry run) the balance could not be asked; 130
interrupted (resume with --resume; during the import: nothing was sent). Precedence: 130,
4, 7, 6, 5, 1.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.markup import escape

from voiceotp.cli.batch.checks import (
    check_paths,
    discard,
    is_empty,
    remove_partial_import,
)
from voiceotp.cli.batch.options import EPILOG, batch_options
from voiceotp.cli.batch.pacing import given_on_command_line, pacing_doc, settle_pacing
from voiceotp.cli.batch.preflight import preflight
from voiceotp.cli.batch.report import (
    exit_code_for,
    show_preflight,
    show_summary,
    show_write_errors,
    summary_doc,
    with_write_errors,
    write_outputs,
    write_rejects_file,
)
from voiceotp.cli.batch.run import make_client, send, unknown_policy
from voiceotp.cli.batch.target import settle_target
from voiceotp.cli.exitcodes import ExitCode
from voiceotp.cli.output import (
    JsonCommand,
    exit_with_error,
    message_doc,
    print_json,
    stderr_console,
)
from voiceotp.cli.send import client_options
from voiceotp.client.batch import (
    BatchSummary,
    InputError,
    InputFormat,
    Journal,
    JournalError,
    NoticeBatch,
    create_journal,
    notice_of,
    open_source,
    read_notice_rows,
    read_rows,
)
from voiceotp.client.batch.inputs import format_for_path


@click.command(cls=JsonCommand, error_doc=message_doc, epilog=EPILOG)
@batch_options
@client_options
def batch(input_path: str | None, resume: Path | None, **args: Any) -> None:
    """Send a voice code (or, with --notice / --template-id, a voice notice) to every number
    in INPUT, or continue a run with --resume."""
    _check_usage(input_path, resume, args)
    check_paths(input_path, args)
    _plan_journal(input_path, args)
    args["notice"] = _notice_option(args)
    journal = _open_interruptibly(input_path, resume, args)
    if resume is not None:
        _settle_kind(journal, args)
    else:
        _refuse_empty(journal, input_path, args)
    try:
        if args["dry_run"]:
            sys.exit(_preflight(journal, args))
        _settle(journal, args)
        summary = send(journal, args)
        sys.exit(_finish(journal, summary, args))
    finally:
        journal.close()
        if args["dry_run"] and not args["journal_path"] and resume is None:
            shutil.rmtree(journal.path.parent, ignore_errors=True)  # our temporary directory


def _settle(journal: Journal, args: dict[str, Any]) -> None:
    # Where and how fast the rest of the run sends: as it started, unless told otherwise.
    note = settle_target(journal, args)
    given = given_on_command_line(click.get_current_context())
    args["pacing_changed"], notes = settle_pacing(journal, args, given)
    if not args["as_json"]:
        for line in [note, *notes] if note else notes:
            stderr_console().print(f"note: {escape(line)}")


def _notice_option(args: dict[str, Any]) -> NoticeBatch | None:
    if args["template_id"] is not None:
        return NoticeBatch(args["template_id"])
    return NoticeBatch() if args["notice"] else None


def _settle_kind(journal: Journal, args: dict[str, Any]) -> None:
    # A resume sends what its journal holds: codes, or notices (of its template).
    stored = notice_of(journal.meta())
    given = args["notice"]
    if given is not None and given != stored:
        journal.close()
        what = "codes" if stored is None else f"notices ({_describe_notice(stored)})"
        _usage_error(f"{journal.path} holds {what}; resume it without --notice/--template-id", args)
    args["notice"] = stored


def _describe_notice(notice: NoticeBatch) -> str:
    return (
        "full texts" if notice.template_id is None else f"values of template {notice.template_id}"
    )


def _check_usage(input_path: str | None, resume: Path | None, args: dict[str, Any]) -> None:
    if (input_path is None) == (resume is None):
        raise click.UsageError("give an INPUT file or --resume JOURNAL (one of them)")
    if args["replay_unknown"] and args["resend_unknown"]:
        raise click.UsageError("--replay-unknown and --resend-unknown exclude each other")
    if args["replay_unknown"] and not args["dedupe"]:
        raise click.UsageError("--replay-unknown needs --dedupe (a server that dedupes replays)")
    if args["notice"] and args["template_id"] is not None:
        raise click.UsageError(
            "--notice (full texts) and --template-id (values) exclude each other"
        )


def _plan_journal(input_path: str | None, args: dict[str, Any]) -> None:
    # The journal's name is fixed before the import starts, so that an interrupted import
    # can be cleaned up. A dry run's default journal is temporary (see _import).
    if input_path is not None and not args["dry_run"]:
        args["journal_path"] = args["journal_path"] or _default_journal(input_path, False)


def _refuse_empty(journal: Journal, input_path: str | None, args: dict[str, Any]) -> None:
    if is_empty(journal):
        discard(journal, temporary="output_stem" in args)  # a dry run's temporary directory
        source = "standard input" if input_path == "-" else f"INPUT {input_path}"
        _usage_error(f"{source} has no rows to send (it is empty or holds only a header)", args)


def _open_interruptibly(
    input_path: str | None, resume: Path | None, args: dict[str, Any]
) -> Journal:
    try:
        return _open_journal(input_path, resume, args)
    except KeyboardInterrupt:
        remove_partial_import(args["journal_path"])
        source = "standard input" if input_path == "-" else input_path or resume
        _error(f"interrupted while reading {source}; nothing was sent", args, ExitCode.INTERRUPTED)


def _open_journal(input_path: str | None, resume: Path | None, args: dict[str, Any]) -> Journal:
    try:
        if resume is not None:
            return Journal.open(resume, fsync=args["fsync"])
        assert input_path is not None
        return _import(input_path, args)
    except JournalError as exc:
        part = resume is not None and Path(f"{resume}.part").exists()
        hint = (
            "; its import was interrupted (nothing was sent): run the INPUT again" if part else ""
        )
        _usage_error(f"{exc}{hint}", args)
    except InputError as exc:
        _usage_error(f"{input_path}: {exc}", args)
    except UnicodeDecodeError as exc:
        _usage_error(f"{input_path} is not {args['encoding']} (try --encoding gbk): {exc}", args)
    except OSError as exc:
        _usage_error(str(exc), args)


def _import(input_path: str, args: dict[str, Any]) -> Journal:
    path = args["journal_path"] or _default_journal(input_path, args["dry_run"])
    if args["dry_run"] and not args["journal_path"]:
        args["output_stem"] = Path("batch" if input_path == "-" else input_path).with_suffix("")
    fmt = InputFormat(args["fmt"])
    if fmt is InputFormat.AUTO and input_path != "-":
        fmt = format_for_path(input_path)
    notice: NoticeBatch | None = args["notice"]
    try:
        with open_source(input_path, args["encoding"]) as stream:
            rows = (
                read_rows(stream, fmt) if notice is None else read_notice_rows(stream, notice, fmt)
            )
            return create_journal(
                path,
                rows,
                code_length=args["length"],
                dedupe=not args["allow_duplicates"],
                fsync=args["fsync"],
                meta={"source": input_path, "created": datetime.now(UTC).isoformat()},
                notice=notice,
            )
    except BaseException:
        if "output_stem" in args:  # a dry run's temporary directory
            shutil.rmtree(Path(path).parent, ignore_errors=True)
        raise


def _default_journal(input_path: str, dry_run: bool) -> Path:
    if dry_run:  # results of a dry run go beside the input instead (see output_stem)
        return Path(tempfile.mkdtemp(prefix="voiceotp-dry-run-")) / "dry-run.journal"
    if input_path == "-":
        return Path(f"batch-{datetime.now(UTC):%Y%m%d-%H%M%S}.journal")
    return Path(input_path).with_suffix(".journal")


def _usage_error(message: str, args: dict[str, Any]) -> NoReturn:
    _error(message, args, ExitCode.USAGE)


def _error(message: str, args: dict[str, Any], code: ExitCode) -> NoReturn:
    exit_with_error(message, as_json=args["as_json"], code=code)


# ---- dry run ---------------------------------------------------------------------------


def _preflight(journal: Journal, args: dict[str, Any]) -> ExitCode:
    doc, code = preflight(
        journal,
        include_unknown=unknown_policy(args) is not None,
        price=args["price"],
        make_client=None if args["no_balance"] else lambda: make_client(args),
    )
    if args["journal_path"]:
        doc["journal"] = str(journal.path)
    files, errors = write_rejects_file(journal, args, journal.counts())
    doc["rejects_file"] = files.get("rejects")
    if errors:
        doc["write_errors"] = errors
    if args["as_json"]:
        print_json(doc)
    else:
        show_preflight(doc)
        show_write_errors(errors, None)
    return with_write_errors(code, errors)


# ---- after the run ---------------------------------------------------------------------


def _finish(journal: Journal, summary: BatchSummary, args: dict[str, Any]) -> ExitCode:
    try:
        files, errors = write_outputs(journal, summary.counts, args)
    except KeyboardInterrupt:
        again = f"voiceotp batch --resume {journal.path}"
        message = f"interrupted while writing the files; `{again}` writes them"
        _error(message, args, ExitCode.INTERRUPTED)
    summary.extra["files"] = files
    summary.extra["journal"] = str(journal.path)
    summary.extra["pacing"] = pacing_doc(args)
    summary.extra["pacing_changed"] = args["pacing_changed"]
    if errors:
        summary.extra["write_errors"] = errors
    code = with_write_errors(exit_code_for(summary), errors)
    resume = None if summary.finished else f"voiceotp batch --resume {journal.path}"
    if args["as_json"]:
        doc = {"ok": code == ExitCode.OK, "exit_code": code, "resume": resume}
        print_json(doc | summary_doc(summary))
    else:
        show_summary(summary, files, resume)
        show_write_errors(errors, journal)
    return code
