"""Call records as a streamed CSV download (the console's and the user center's):
numbers masked, keyset pages of the store's call search, at most ``limit`` rows."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime

from starlette.responses import StreamingResponse

from voiceotp.protocol import mask_mobile
from voiceotp.store import Store
from voiceotp.store import console as q
from voiceotp.store.console import CallFilter, CallRow

__all__ = ["CALL_COLUMNS", "call_records_csv", "iso_time"]

PAGE = 1000
# (header, value of a row): the columns every export has, after any face's own.
CALL_COLUMNS: tuple[tuple[str, Callable[[CallRow], object]], ...] = (
    ("mobile", lambda r: mask_mobile(r.mobile)),
    ("state", lambda r: r.state),
    ("created_at", lambda r: iso_time(r.created_at)),
    ("answer_time", lambda r: iso_time(r.answer_time)),
    ("end_time", lambda r: iso_time(r.end_time)),
    ("duration", lambda r: r.duration),
    ("sip_code", lambda r: r.sip_code),
    ("attempts", lambda r: r.attempts),
)


def iso_time(ts: float) -> str:
    """Server local time, to the millisecond; "" for no time."""
    return datetime.fromtimestamp(ts).isoformat(timespec="milliseconds") if ts else ""


def call_records_csv(
    store: Store,
    where: CallFilter,
    *,
    columns: Sequence[tuple[str, Callable[[CallRow], object]]],
    name: str,
    limit: int,
) -> StreamingResponse:
    """``columns`` of the records ``where`` selects, newest first, as ``<name>-<time>.csv``."""

    async def lines() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([header for header, _ in columns])
        after, sent = None, 0
        while sent < limit:
            rows = await q.search_calls(store, where=where, after=after, limit=PAGE)
            for row in rows:
                writer.writerow([value(row) for _, value in columns])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            sent += len(rows)
            if len(rows) < PAGE:
                return
            after = int(rows[-1].voiceid)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{name}-{stamp}.csv"',
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )
