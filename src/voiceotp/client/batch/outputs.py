"""Files a batch leaves behind, streamed from its journal.

- results (CSV or JSONL by suffix): one line per input row; numbers masked unless asked,
  spoken codes only when asked (then, or with full numbers, the file is mode 0600);
- failed-only (CSV ``mobile,code``): rows the service refused for good, full numbers, so
  the file can be fed straight back as input (drop the ``code`` column for new codes);
- rejects (CSV ``row,reason,input``): input rows that were never sent, and why.

Unknown-outcome rows are never in the failed file: sending them again may call twice.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from voiceotp.client.batch.items import State
from voiceotp.client.batch.journal import Journal
from voiceotp.client.batch.notices import notice_of
from voiceotp.protocol import mask_mobile

RESULT_FIELDS = (
    "row",
    "mobile",
    "status",
    "code",
    "msg",
    "voiceid",
    "attempts",
    "started_at",
    "finished_at",
    "reason",
)
SPOKEN_CODE = "spoken_code"  # the service's answer is already `code`
SPOKEN_NOTICE = "content"  # a notice batch's: the text (or the template's values) sent


def write_results(
    journal: Journal,
    path: str | os.PathLike[str],
    *,
    show_numbers: bool,
    show_codes: bool = False,
) -> int:
    """Write every row's result; JSONL when the name ends in .jsonl/.ndjson, else CSV.

    ``code``/``msg``/``voiceid`` are the service's answer. The spoken code is written only
    with ``show_codes`` (column ``spoken_code``), for an app that must learn the codes it
    generated; then, as with ``show_numbers``, only the owner may read the file. A notice
    batch's column is ``content`` (what was sent: the text, or the template's values).
    """
    spoken = SPOKEN_NOTICE if notice_of(journal.meta()) is not None else SPOKEN_CODE
    fields = (*RESULT_FIELDS, spoken) if show_codes else RESULT_FIELDS
    lines: Iterator[tuple[Any, ...]] = journal.result_rows(spoken_code=show_codes)
    if not show_numbers:
        lines = (_masked(row) for row in lines)
    private = show_numbers or show_codes
    if Path(path).suffix.lower() in {".jsonl", ".ndjson"}:
        docs = (dict(zip(fields, row, strict=True)) for row in lines)
        return _write_jsonl(path, docs, private=private)
    return _write_csv(path, fields, lines, private=private)


def _masked(row: tuple[Any, ...]) -> tuple[Any, ...]:
    mobile = row[1]
    return (row[0], mask_mobile(mobile) if mobile else mobile, *row[2:])


def write_failed(journal: Journal, path: str | os.PathLike[str]) -> int:
    """Rows refused for good, as input for another run (full numbers: keep it private).
    A notice batch's second column is ``content`` or ``vars``, as its input names it."""
    notice = notice_of(journal.meta())
    second = "code" if notice is None else notice.content_name
    rows = ([r.mobile, r.code] for r in journal.records([State.FAILED]))
    return _write_csv(path, ("mobile", second), rows, private=True)


def write_rejects(journal: Journal, path: str | os.PathLike[str]) -> int:
    """Input rows that were never sent, with the reason (raw input: keep it private)."""
    rows = ([r.row, r.reason, r.raw] for r in journal.records([State.REJECTED]))
    return _write_csv(path, ("row", "reason", "input"), rows, private=True)


def _write_csv(
    path: str | os.PathLike[str],
    header: tuple[str, ...],
    rows: Iterable[Sequence[Any]],
    *,
    private: bool = False,
) -> int:
    count = 0
    with _open(path, private) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if value is None else value for value in row])
            count += 1
    return count


def _write_jsonl(
    path: str | os.PathLike[str], rows: Iterator[dict[str, Any]], *, private: bool
) -> int:
    count = 0
    with _open(path, private) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def _open(path: str | os.PathLike[str], private: bool) -> Any:
    mode = 0o600 if private else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    if private:
        os.fchmod(fd, mode)  # a file that existed keeps its old mode through O_CREAT
    return open(fd, "w", encoding="utf-8", newline="")
