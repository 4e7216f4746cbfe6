"""The batch journal: one SQLite file (WAL) holding every row's state.

The guarantee it exists for: a row is durably ``sending`` *before* its request leaves, and
becomes ``sent``/``failed``/``unknown``/``pending`` after. After a crash at any instant,
:meth:`Journal.recover` turns every ``sending`` row into ``unknown``, so a resume never
sends a row twice unless asked. Writes are grouped into transactions by the engine (one
commit covers many marks and results); ``synchronous=FULL`` makes each commit survive a
power cut, not just a killed process.

The file holds full numbers and codes (needed to resume and to replay exactly): it is
created readable by its owner only.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from voiceotp.client.batch.items import Item, Reject, State
from voiceotp.client.batch.records import Mark, Outcome, Record, record_from_row
from voiceotp.client.batch.sqlitefile import connect, lock_journal, pregrow_wal
from voiceotp.errors import JournalError as JournalError  # re-exported: defined in voiceotp.errors

__all__ = ["SCHEMA_VERSION", "Journal", "JournalError"]

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (
    row INTEGER PRIMARY KEY,
    mobile TEXT,
    code TEXT,
    state TEXT NOT NULL,
    result_code INTEGER,
    msg TEXT,
    voiceid TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    time TEXT,
    reason TEXT,
    raw TEXT,
    started_at REAL,
    finished_at REAL
);

"""
_RECORD_COLUMNS = (
    "row, mobile, code, state, result_code, msg, voiceid, attempts, time, reason, raw,"
    " started_at, finished_at"
)

_RESULT_COLUMNS = (
    "row, mobile, state, result_code, msg, voiceid, attempts,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', started_at, 'unixepoch'),"
    " strftime('%Y-%m-%dT%H:%M:%fZ', finished_at, 'unixepoch'), reason"
)

# A skipped row's reason; the row it names is the one its number is called for.
DUPLICATE_OF = "duplicate of row "
# The code a row's number hears: a skipped duplicate's own code is never spoken, the code
# of the row it duplicates is (looked up by that row's number, the primary key).
_SKIPPED, _ROW_AT = State.SKIPPED.value, len(DUPLICATE_OF) + 1
_SPOKEN_CODE = (
    f"CASE WHEN items.state = '{_SKIPPED}' THEN (SELECT first.code"  # noqa: S608 - constants
    f" FROM items AS first WHERE first.row = CAST(substr(items.reason, {_ROW_AT}) AS INTEGER))"
    " ELSE items.code END"
)


class Journal:
    """A batch's journal file. Use one instance from one thread at a time."""

    def __init__(self, conn: sqlite3.Connection, path: Path, lock: int | None = None) -> None:
        self._conn = conn
        self.path = path
        self._lock = lock

    @classmethod
    def create(
        cls, path: str | os.PathLike[str], meta: dict[str, Any], *, lock: int, fsync: bool = True
    ) -> Journal:
        """A new journal in the empty file ``path``, which the caller created and holds
        ``lock`` (an flock'ed descriptor of it) on; the journal owns ``lock`` from now."""
        target = Path(path)
        try:
            journal = cls(connect(target, fsync=fsync), target, lock)
        except BaseException:
            os.close(lock)
            raise
        with journal._conn:
            journal._conn.executescript(_SCHEMA)
        journal.set_meta(schema=SCHEMA_VERSION, imported=False, **meta)
        return journal

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, fsync: bool = True, lock: int | None = None
    ) -> Journal:
        """An existing, completely imported journal. ``fsync=False`` trades power-cut
        safety for speed (see docs/batch.md); the never-twice rule against a killed process
        holds either way. ``lock``: a descriptor already holding the file's flock (adopted)."""
        target = Path(path)
        if not target.is_file():
            if lock is not None:
                os.close(lock)
            raise JournalError(f"no journal at {target}")
        lock = _lock(target) if lock is None else lock
        try:
            _check_header(target)  # never let SQLite turn some other file into a database
            if fsync:
                pregrow_wal(target)
            journal = cls(connect(target, fsync=fsync), target, lock)
            meta = journal.meta()
        except (sqlite3.DatabaseError, OSError) as exc:
            os.close(lock)
            raise JournalError(f"{target} is not a voiceotp batch journal") from exc
        if meta.get("schema") != SCHEMA_VERSION:
            journal.close()
            schema = meta.get("schema")
            raise JournalError(f"{target} is not a voiceotp batch journal (schema {schema!r})")
        if not meta.get("imported"):
            journal.close()
            raise JournalError(f"{target}: its import did not finish (nothing was sent from it)")
        return journal

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close (the file is then self-contained)."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()
        if self._lock is not None:
            os.close(self._lock)  # releases the flock
            self._lock = None

    # ---- meta ---------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        rows = self._conn.execute("SELECT key, value FROM meta").fetchall()
        return {key: json.loads(value) for key, value in rows}

    def set_meta(self, **values: Any) -> None:
        with self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(key, json.dumps(value, ensure_ascii=False)) for key, value in values.items()],
            )

    # ---- import -------------------------------------------------------------------

    def import_rows(
        self,
        rows: Iterable[Item | Reject],
        *,
        dedupe: bool = True,
        chunk: int = 5000,
        same_content: bool = False,
    ) -> None:
        """Store every input row (valid ones pending, invalid ones rejected), then dedupe.

        Rows stream through in transactions of ``chunk``; deduplication runs in SQL so no
        set of numbers is held in memory. A duplicate is a row whose number an earlier row
        has (codes), or whose number and content (``same_content``: notices, where one
        number may get several different notices). Marks the journal imported at the end.
        """
        if self.meta().get("imported"):
            raise JournalError("this journal's input is already imported")
        with self._conn:  # a crash mid-import leaves a partial import: start over
            self._conn.execute("DELETE FROM items")
        batch: list[tuple[Any, ...]] = []
        for entry in rows:
            batch.append(_import_tuple(entry))
            if len(batch) >= chunk:
                self._insert(batch)
                batch = []
        self._insert(batch)
        if dedupe:
            self._mark_duplicates(same_content)
        self.set_meta(imported=True)

    def _insert(self, batch: list[tuple[Any, ...]]) -> None:
        with self._conn:
            self._conn.executemany(
                "INSERT INTO items (row, mobile, code, state, reason, raw) VALUES (?,?,?,?,?,?)",
                batch,
            )

    def _mark_duplicates(self, same_content: bool) -> None:
        same = "first.mobile = items.mobile"
        if same_content:
            same += " AND first.code = items.code"
        with self._conn:
            self._conn.execute("CREATE INDEX IF NOT EXISTS items_mobile ON items (mobile, row)")
            self._conn.execute(
                "UPDATE items SET state = ?, reason = ? || ("  # noqa: S608 - constant SQL
                f" SELECT MIN(first.row) FROM items AS first WHERE {same})"
                " WHERE state = ? AND EXISTS ("
                " SELECT 1 FROM items AS first"
                f" WHERE {same} AND first.row < items.row)",
                (State.SKIPPED.value, DUPLICATE_OF, State.PENDING.value),
            )
            self._conn.execute("DROP INDEX items_mobile")

    # ---- the run ------------------------------------------------------------------

    def recover(self) -> int:
        """Rows left ``sending`` by a crash become ``unknown``; returns how many."""
        with self._conn:
            cursor = self._conn.execute(
                "UPDATE items SET state = ?, reason = 'interrupted while sending' WHERE state = ?",
                (State.UNKNOWN.value, State.SENDING.value),
            )
        return cursor.rowcount

    def page(self, state: State, after_row: int, limit: int) -> list[Item]:
        """Up to ``limit`` items in ``state`` with rows above ``after_row``, in row order."""
        rows = self._conn.execute(
            "SELECT row, mobile, code, attempts, time FROM items"
            " WHERE state = ? AND row > ? ORDER BY row LIMIT ?",
            (state.value, after_row, limit),
        ).fetchall()
        return [
            Item(row, mobile, code, attempts, time) for row, mobile, code, attempts, time in rows
        ]

    def apply(self, marks: Sequence[Mark], outcomes: Sequence[Outcome]) -> None:
        """Store outcomes, then marks, in one transaction (durable when this returns)."""
        with self._conn:
            self._conn.executemany(
                "UPDATE items SET state = ?, result_code = ?, msg = ?, voiceid = ?,"
                " attempts = ?, reason = ?, finished_at = ? WHERE row = ?",
                [
                    (
                        o.state.value,
                        o.result_code,
                        o.msg,
                        o.voiceid,
                        o.attempts,
                        o.reason,
                        o.finished_at,
                        o.row,
                    )
                    for o in outcomes
                ],
            )
            self._conn.executemany(
                "UPDATE items SET state = ?, time = ?, attempts = ?, started_at = ? WHERE row = ?",
                [(State.SENDING.value, m.time, m.attempts, m.started_at, m.row) for m in marks],
            )

    # ---- reading back -------------------------------------------------------------

    def counts(self) -> dict[State, int]:
        rows = self._conn.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall()
        found = {State(state): count for state, count in rows}
        return {state: found.get(state, 0) for state in State}

    def code_counts(self) -> list[tuple[int | None, str | None, State, int]]:
        """(code, msg, state, count) for every finished row, most frequent first. ``msg``
        is None when the rows of one code were answered different messages (a notice's
        4072 names what failed for each row: the results file has them)."""
        rows = self._conn.execute(
            "SELECT result_code, CASE WHEN MIN(msg) = MAX(msg) THEN MIN(msg) END, state,"
            " COUNT(*) FROM items"
            " WHERE state NOT IN (?, ?) GROUP BY result_code, state ORDER BY COUNT(*) DESC",
            (State.PENDING.value, State.SENDING.value),
        ).fetchall()
        return [(code, msg, State(state), count) for code, msg, state, count in rows]

    def result_rows(self, *, spoken_code: bool = False) -> Iterator[tuple[Any, ...]]:
        """Every row as (row, mobile, state, code, msg, voiceid, attempts, started_at,
        finished_at, reason), times as ISO 8601 UTC text; streamed, formatted by SQLite
        (a million rows would spend most of their time in ``datetime`` otherwise).
        ``spoken_code`` appends the code the row's number is called with: a skipped
        duplicate's is that of the row it duplicates (its own code is never spoken)."""
        columns = f"{_RESULT_COLUMNS}, {_SPOKEN_CODE}" if spoken_code else _RESULT_COLUMNS
        yield from self._conn.execute(f"SELECT {columns} FROM items ORDER BY row")  # noqa: S608

    def records(self, states: Iterable[State] | None = None) -> Iterator[Record]:
        """Every row (or those in ``states``) in row order, streamed."""
        sql = f"SELECT {_RECORD_COLUMNS} FROM items"  # noqa: S608 - constant columns
        params: tuple[str, ...] = ()
        if states is not None:
            params = tuple(state.value for state in states)
            sql += f" WHERE state IN ({','.join('?' * len(params))})"
        cursor = self._conn.execute(sql + " ORDER BY row", params)
        for values in cursor:
            yield record_from_row(values)


def _import_tuple(entry: Item | Reject) -> tuple[Any, ...]:
    if isinstance(entry, Reject):
        return (entry.row, None, None, State.REJECTED.value, entry.reason, entry.raw)
    return (entry.row, entry.mobile, entry.code, State.PENDING.value, None, None)


def _lock(path: Path) -> int:
    try:
        return lock_journal(path)
    except BlockingIOError as exc:
        raise JournalError(f"{path} is in use by another run") from exc


def _check_header(path: Path) -> None:
    with path.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise sqlite3.DatabaseError("not an SQLite database")
