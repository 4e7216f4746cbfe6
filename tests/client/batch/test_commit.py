from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.client.batch.conftest import numbers
from voiceotp.client.batch import Journal, JournalError, State, create_journal, pairs_to_rows
from voiceotp.client.batch.commit import GroupCommitter
from voiceotp.client.batch.records import Mark, Outcome


class Recorded(Journal):
    """A real journal that remembers each commit's marks and outcomes."""

    def __init__(self, journal: Journal) -> None:
        super().__init__(journal._conn, journal.path)
        self.applied: list[tuple[list[int], list[int]]] = []

    def apply(self, marks: Sequence[Mark], outcomes: Sequence[Outcome]) -> None:
        super().apply(marks, outcomes)
        self.applied.append(([m.row for m in marks], [o.row for o in outcomes]))


class FullDisk(Journal):
    def apply(self, marks: Sequence[Mark], outcomes: Sequence[Outcome]) -> None:
        raise sqlite3.OperationalError("database or disk is full")


def journal_of(tmp_path: Path, rows: int) -> Journal:
    pairs = [(m, "1234") for m in numbers(rows)]
    return create_journal(tmp_path / "a.journal", pairs_to_rows(pairs))


def states(path: Path) -> dict[int, str]:
    """The rows as another connection sees them (as a resume after a kill -9 would)."""
    with sqlite3.connect(path) as other:
        return dict(other.execute("SELECT row, state FROM items").fetchall())


async def test_marks_queued_in_one_turn_share_one_commit(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 10)
    recorded = Recorded(journal)
    committer = GroupCommitter(recorded)
    await asyncio.gather(*(committer.mark(Mark(row, "1", 0, 1.0)) for row in range(1, 11)))
    assert recorded.applied == [(list(range(1, 11)), [])]
    assert set(states(journal.path).values()) == {"sending"}
    await committer.close()
    journal.close()


async def test_a_mark_returns_only_once_it_is_committed(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 2)
    committer = GroupCommitter(journal)
    committer.record(Outcome(1, State.SENT, 1, 2.0, 2, "提交成功", "60000000"))
    await committer.mark(Mark(2, "1", 0, 1.0))
    # The outcome queued before the mark went into the same, committed transaction.
    assert states(journal.path) == {1: "sent", 2: "sending"}
    assert committer.commits == 1
    await committer.close()
    journal.close()


async def test_close_commits_outcomes_still_queued(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 1)
    committer = GroupCommitter(journal)
    committer.record(Outcome(1, State.FAILED, 1, 2.0, 4030, "手机号码已被列入黑名单"))
    await committer.close()
    assert states(journal.path) == {1: "failed"}
    journal.close()


async def test_a_failed_commit_fails_its_marks_and_every_later_one(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 3)
    committer = GroupCommitter(FullDisk(journal._conn, journal.path))
    marks = [committer.mark(Mark(row, "1", 0, 1.0)) for row in (1, 2)]
    results = await asyncio.gather(*marks, return_exceptions=True)
    assert all(isinstance(r, JournalError) for r in results)
    with pytest.raises(JournalError, match="disk is full"):
        await committer.mark(Mark(3, "1", 0, 1.0))
    with pytest.raises(JournalError, match="disk is full"):
        await committer.close()
    assert set(states(journal.path).values()) == {"pending"}
    journal.close()
