"""Files a batch leaves behind, streamed from its journal.

- results (CSV or JSONL by suffix): one line per input row; numbers masked unless asked;
- failed-only (CSV ``mobile,code``): rows the service refused for good, full numbers, so
  the file can be fed straight back as input (drop the ``code`` column for new codes);
- rejects (CSV ``row,reason,input``): input rows that were never sent, and why.

Unknown-outcome rows are never in the failed file: sending them again may call twice.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from voiceotp.client.batch.items import State
from voiceotp.client.batch.journal import Journal, Record
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


def result_row(record: Record, *, show_numbers: bool = False) -> dict[str, Any]:
    """One results line: the service's code/msg/voiceid, never the spoken code."""
    mobile = record.mobile or ""
    return {
        "row": record.row,
        "mobile": mobile if show_numbers or not mobile else mask_mobile(mobile),
        "status": record.state.value,
        "code": record.result_code,
        "msg": record.msg,
        "voiceid": record.voiceid,
        "attempts": record.attempts,
        "started_at": _iso(record.started_at),
        "finished_at": _iso(record.finished_at),
        "reason": record.reason,
    }


def write_results(journal: Journal, path: str | os.PathLike[str], *, show_numbers: bool) -> int:
    """Write every row's result; JSONL when the name ends in .jsonl/.ndjson, else CSV."""
    rows = (result_row(r, show_numbers=show_numbers) for r in journal.records())
    if Path(path).suffix.lower() in {".jsonl", ".ndjson"}:
        return _write_jsonl(path, rows)
    return _write_csv(path, RESULT_FIELDS, ([row[f] for f in RESULT_FIELDS] for row in rows))


def write_failed(journal: Journal, path: str | os.PathLike[str]) -> int:
    """Rows refused for good, as input for another run (full numbers: keep it private)."""
    rows = ([r.mobile, r.code] for r in journal.records([State.FAILED]))
    return _write_csv(path, ("mobile", "code"), rows, private=True)


def write_rejects(journal: Journal, path: str | os.PathLike[str]) -> int:
    """Input rows that were never sent, with the reason (raw input: keep it private)."""
    rows = ([r.row, r.reason, r.raw] for r in journal.records([State.REJECTED]))
    return _write_csv(path, ("row", "reason", "input"), rows, private=True)


def _write_csv(
    path: str | os.PathLike[str],
    header: tuple[str, ...],
    rows: Iterator[list[Any]],
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


def _write_jsonl(path: str | os.PathLike[str], rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    with _open(path, False) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def _open(path: str | os.PathLike[str], private: bool) -> Any:
    mode = 0o600 if private else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    return open(fd, "w", encoding="utf-8", newline="")


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="milliseconds")
