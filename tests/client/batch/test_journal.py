from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import voiceotp
from tests.client.batch.conftest import numbers
from voiceotp.client.batch import (
    BatchEngine,
    InputRow,
    Journal,
    JournalError,
    MemorySender,
    State,
    create_journal,
    pairs_to_rows,
)
from voiceotp.client.batch.records import Mark, Outcome
from voiceotp.client.batch.run import validated
from voiceotp.client.batch.sqlitefile import WAL_BYTES, claim_file


def test_new_journal_is_private_and_holds_every_row(tmp_path: Path) -> None:
    journal = create_journal(tmp_path / "a.journal", pairs_to_rows([(numbers(1)[0], "1234")]))
    journal.close()
    mode = stat.S_IMODE((tmp_path / "a.journal").stat().st_mode)
    assert mode == 0o600
    reopened = Journal.open(tmp_path / "a.journal")
    assert reopened.counts()[State.PENDING] == 1
    assert reopened.meta()["code_length"] == 6
    reopened.close()


def test_an_existing_journal_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "a.journal"
    create_journal(path, pairs_to_rows([(numbers(1)[0], "1234")]), meta={"source": "a.csv"}).close()
    with pytest.raises(JournalError, match=r"already exists \(a run of a\.csv\)"):
        create_journal(path, pairs_to_rows([]))


def rows_then(error: BaseException) -> Iterator[InputRow]:
    yield from pairs_to_rows([(m, "1234") for m in numbers(3)])
    raise error


def test_a_crash_mid_import_leaves_no_journal_and_the_next_import_starts_over(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.journal"
    part = tmp_path / "a.journal.part"
    crashed = Journal.create(part, {}, lock=claim_file(part))  # what a killed import leaves
    with pytest.raises(KeyboardInterrupt):
        crashed.import_rows(validated(rows_then(KeyboardInterrupt()), 6))
    crashed.close()
    assert not path.exists()
    journal = create_journal(path, pairs_to_rows([(m, "1234") for m in numbers(2)]))
    assert journal.counts()[State.PENDING] == 2
    assert not (tmp_path / "a.journal.part").exists()
    journal.close()


@pytest.mark.parametrize("error", [ValueError("bad row"), KeyboardInterrupt()])
def test_an_import_that_fails_leaves_nothing_behind(tmp_path: Path, error: BaseException) -> None:
    with pytest.raises(type(error)):
        create_journal(tmp_path / "a.journal", rows_then(error))
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    journal = create_journal(tmp_path / "a.journal", pairs_to_rows([(numbers(1)[0], "1234")]))
    assert journal.counts()[State.PENDING] == 1
    journal.close()


def test_two_imports_of_one_input_cannot_overlap(tmp_path: Path) -> None:
    """A second run started on the same input while the first still imports is refused
    at once; once the first has finished, the second is told to resume it."""
    path = tmp_path / "a.journal"
    halfway, go_on = threading.Event(), threading.Event()
    first: list[Journal] = []

    def slow_rows() -> Iterator[InputRow]:
        yield from pairs_to_rows([(m, "1234") for m in numbers(50)])
        halfway.set()
        go_on.wait(10)

    importer = threading.Thread(target=lambda: first.append(create_journal(path, slow_rows())))
    importer.start()
    assert halfway.wait(10)
    with pytest.raises(JournalError, match="being created by another run"):
        create_journal(path, pairs_to_rows([(m, "1234") for m in numbers(3)]))
    go_on.set()
    importer.join(10)
    with pytest.raises(JournalError, match="already exists"):
        create_journal(path, pairs_to_rows([(m, "1234") for m in numbers(3)]))
    with pytest.raises(JournalError, match="in use by another run"):
        Journal.open(path)
    (journal,) = first
    assert journal.counts()[State.PENDING] == 50  # the first import, whole
    journal.close()
    assert not (tmp_path / "a.journal.part").exists()


def test_a_journal_whose_import_did_not_finish_is_never_opened(tmp_path: Path) -> None:
    path = tmp_path / "a.journal"
    journal = Journal.create(path, {}, lock=claim_file(path))
    journal.close()  # created, never imported
    with pytest.raises(JournalError, match="import did not finish"):
        Journal.open(path)


def test_an_empty_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "empty.journal").write_bytes(b"")
    with pytest.raises(JournalError, match="not a voiceotp batch journal"):
        Journal.open(tmp_path / "empty.journal")
    assert (tmp_path / "empty.journal").read_bytes() == b""
    assert not (tmp_path / "empty.journal-wal").exists()


def test_opening_something_else_is_refused(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no journal"):
        Journal.open(tmp_path / "missing.journal")
    (tmp_path / "text.journal").write_text("hello")
    with pytest.raises(JournalError, match="not a voiceotp batch journal"):
        Journal.open(tmp_path / "text.journal")
    with sqlite3.connect(tmp_path / "other.journal") as conn:
        conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    with pytest.raises(JournalError, match="not a voiceotp batch journal"):
        Journal.open(tmp_path / "other.journal")


def test_a_mark_is_durable_before_apply_returns(tmp_path: Path) -> None:
    """Another connection (as after a kill -9) sees the mark as soon as apply returns."""
    journal = create_journal(tmp_path / "a.journal", pairs_to_rows([(numbers(1)[0], "1234")]))
    journal.apply([Mark(1, "1700000000", 0, 1.0)], [])
    with sqlite3.connect(tmp_path / "a.journal") as other:
        row = other.execute("SELECT state, time FROM items WHERE row = 1").fetchone()
    assert row == ("sending", "1700000000")
    journal.apply([], [Outcome(1, State.SENT, 1, 2.0, 2, "提交成功", "60000000")])
    assert journal.recover() == 0
    journal.close()


class FullDisk(Journal):
    """A journal whose writes fail, like a full disk."""

    def apply(self, marks: Sequence[Mark], outcomes: Sequence[Outcome]) -> None:
        raise sqlite3.OperationalError("database or disk is full")


async def test_nothing_is_sent_when_the_sending_mark_cannot_be_written(tmp_path: Path) -> None:
    path = tmp_path / "a.journal"
    create_journal(path, pairs_to_rows([(m, "1234") for m in numbers(5)])).close()
    journal = Journal.open(path)
    broken = FullDisk(journal._conn, path)
    sender = MemorySender()
    with pytest.raises(JournalError, match="disk is full") as caught:
        await asyncio.wait_for(BatchEngine(broken, sender).run(), 10)
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    assert sender.submits == {}
    assert journal.counts()[State.PENDING] == 5
    journal.close()


def test_a_journal_in_use_cannot_be_opened_by_another_run(tmp_path: Path) -> None:
    path = tmp_path / "a.journal"
    journal = create_journal(path, pairs_to_rows([(numbers(1)[0], "1234")]))
    with pytest.raises(JournalError, match="in use by another run"):
        Journal.open(path)
    journal.close()
    Journal.open(path).close()


def wal_size(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_an_fsync_journal_opens_with_its_wal_grown_and_reads_back_only_real_frames(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.journal"
    journal = create_journal(path, pairs_to_rows([(m, "1234") for m in numbers(3)]))
    assert wal_size(path) == WAL_BYTES  # zeros, before the first frame
    journal.apply([Mark(1, "1700000000", 0, 1.0)], [])
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT state FROM items ORDER BY row").fetchall() == [
            ("sending",),
            ("pending",),
            ("pending",),
        ]
    assert wal_size(path) == WAL_BYTES  # overwritten, not grown
    journal.close()
    assert wal_size(path) == 0  # checkpointed: the file is self-contained again
    create_journal(tmp_path / "b.journal", [], fsync=False).close()
    unsynced = Journal.open(tmp_path / "b.journal", fsync=False)
    assert wal_size(tmp_path / "b.journal") < WAL_BYTES  # --no-fsync: no fsync to speed up
    unsynced.close()


KILLED_RUN = """
import os, sys
from voiceotp.client.batch import Journal
from voiceotp.client.batch.records import Mark
journal = Journal.open(sys.argv[1])
journal.apply([Mark(2, "1700000000", 0, 1.0)], [])
os._exit(0)  # as a kill -9: no close, no checkpoint
"""


def test_a_killed_runs_wal_is_recovered_not_regrown(tmp_path: Path) -> None:
    path = tmp_path / "a.journal"
    create_journal(path, pairs_to_rows([(m, "1234") for m in numbers(3)])).close()
    env = {**os.environ, "PYTHONPATH": str(Path(voiceotp.__file__).parent.parent)}
    subprocess.run([sys.executable, "-c", KILLED_RUN, str(path)], check=True, env=env)
    assert wal_size(path) == WAL_BYTES  # holds the killed run's frames
    journal = Journal.open(path)
    assert journal.recover() == 1  # row 2 was marked in the WAL only
    assert {r.row: r.state for r in journal.records()} == {
        1: State.PENDING,
        2: State.UNKNOWN,
        3: State.PENDING,
    }
    journal.close()
