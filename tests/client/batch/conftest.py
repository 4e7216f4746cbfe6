from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from voiceotp.client.batch import Journal, create_journal, pairs_to_rows


def numbers(n: int, start: int = 0) -> list[str]:
    """``n`` distinct valid mainland numbers."""
    return [f"1380013{i:04d}" for i in range(start, start + n)]


@pytest.fixture
def make_journal(tmp_path: Path) -> Iterator[object]:
    opened: list[Journal] = []

    def make(pairs: list[tuple[str, str | None]], **kwargs: object) -> Journal:
        path = tmp_path / f"run{len(opened)}.journal"
        journal = create_journal(path, pairs_to_rows(pairs), **kwargs)  # type: ignore[arg-type]
        opened.append(journal)
        return journal

    yield make
    for journal in opened:
        journal.close()
