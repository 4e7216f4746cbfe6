"""The batch API in a few calls: build a journal from rows, run it, async or sync."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from voiceotp.client.batch.engine import (
    BatchEngine,
    BatchOptions,
    BatchSummary,
    OutcomeHook,
    Sender,
)
from voiceotp.client.batch.items import InputRow, Item, Reject, check_code_length, validate_row
from voiceotp.client.batch.journal import Journal, JournalError
from voiceotp.client.batch.notices import NoticeBatch, validate_notice
from voiceotp.client.batch.sqlitefile import claim_file, remove_database


def create_journal(
    path: str | os.PathLike[str],
    rows: Iterable[InputRow | Reject],
    *,
    code_length: int = 6,
    dedupe: bool = True,
    meta: dict[str, Any] | None = None,
    fsync: bool = True,
    notice: NoticeBatch | None = None,
) -> Journal:
    """A new journal at ``path`` holding every row of ``rows``, validated and deduped.

    The import is built beside ``path`` (``.part``) and renamed into place when complete,
    so a journal that exists always holds its whole input. An import that fails (a bad
    input, Ctrl-C) removes its ``.part``; one killed mid-import leaves it (nothing was sent
    from it) for the next attempt to replace. The
    ``.part`` is locked from its creation until the finished journal is open (the lock
    moves with the rename), so two runs started on one input cannot both import, and the
    second is told so at once.

    ``notice``: the rows are voice notices (``read_notice_rows``), not codes; the journal
    says so in its meta, and a number is a duplicate only with the same content.
    """
    check_code_length(code_length)
    final = Path(path)
    part = final.with_name(final.name + ".part")
    lock = _claim_part(part, final)
    try:
        # A crashed import's WAL files; nobody else holds the lock.
        remove_database(part, keep_main=True)
        os.ftruncate(lock, 0)
        kind = {"notice": notice.to_meta()} if notice is not None else {}
        journal = Journal.create(
            part,
            {"code_length": code_length, "dedupe": dedupe, **kind, **(meta or {})},
            lock=os.dup(lock),
        )
        try:
            items = validated(rows, code_length, notice)
            journal.import_rows(items, dedupe=dedupe, same_content=notice is not None)
        finally:
            journal.close()
        os.replace(part, final)
        _sync_directory(final.parent)
    except BaseException:
        remove_database(part)  # ours (locked): only a killed import leaves a .part behind
        os.close(lock)
        raise
    return Journal.open(final, fsync=fsync, lock=lock)


def _claim_part(part: Path, final: Path) -> int:
    try:
        lock = claim_file(part)
    except BlockingIOError:
        raise JournalError(f"{final} is being created by another run right now") from None
    if final.exists():
        part.unlink()  # ours (locked), empty or a crashed import's leftover
        os.close(lock)
        raise JournalError(
            f"{final} already exists{_run_of(final)}; resume it or choose another path"
        )
    return lock


def _run_of(journal: Path) -> str:
    """ " (a run of <source>)" for an existing journal, as far as it can be read."""
    try:
        with contextlib.closing(sqlite3.connect(f"{journal.as_uri()}?mode=ro", uri=True)) as db:
            (value,) = db.execute("SELECT value FROM meta WHERE key = 'source'").fetchone()
        return f" (a run of {json.loads(value)})"
    except (sqlite3.Error, TypeError, ValueError):
        return ""


def _sync_directory(directory: Path) -> None:
    # The rename must survive a power cut too: sync the directory entry.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def validated(
    rows: Iterable[InputRow | Reject], code_length: int, notice: NoticeBatch | None = None
) -> Iterator[Item | Reject]:
    """Each row checked (rejects pass through), lazily: as a code, or as a notice."""
    for row in rows:
        if isinstance(row, Reject):
            yield row
        elif notice is not None:
            yield validate_notice(row, notice)
        else:
            yield validate_row(row, code_length)


def pairs_to_rows(pairs: Iterable[tuple[str, str | None]]) -> Iterator[InputRow]:
    """``(mobile, code or None)`` pairs as input rows numbered from 1."""
    for row, (mobile, code) in enumerate(pairs, 1):
        yield InputRow(row, mobile, code, f"{mobile},{code or ''}")


async def run_batch(
    journal: Journal,
    sender: Sender,
    options: BatchOptions | None = None,
    *,
    on_outcome: OutcomeHook | None = None,
) -> BatchSummary:
    """Send every pending row of ``journal`` through ``sender`` (see :class:`BatchEngine`)."""
    return await BatchEngine(journal, sender, options, on_outcome=on_outcome).run()


def run_batch_sync(
    journal: Journal,
    make_sender: Callable[[], Sender],
    options: BatchOptions | None = None,
    *,
    on_outcome: OutcomeHook | None = None,
) -> BatchSummary:
    """:func:`run_batch` for synchronous code. ``make_sender`` runs inside the event loop
    (an ``AsyncClient`` must be created there); a sender with ``aclose`` is closed after."""

    async def main() -> BatchSummary:
        sender = make_sender()
        try:
            return await run_batch(journal, sender, options, on_outcome=on_outcome)
        finally:
            aclose = getattr(sender, "aclose", None)
            if aclose is not None:
                await aclose()

    return asyncio.run(main())
