"""Operators' recordings of a template's fixed parts (table ``template_recordings``):
one per (template, part); the file itself is under ``<data_dir>/uploads`` (files.py).
Keyword-only functions over any :class:`Store`."""

from __future__ import annotations

from dataclasses import dataclass

from voiceotp.store.base import Store
from voiceotp.store.rows import Row, Tx

__all__ = [
    "TemplateRecording",
    "delete_recording",
    "delete_recordings",
    "list_recordings",
    "put_recording",
]

_COLUMNS = "template_id, part, file_ref, kind, duration_ms, uploaded_by, uploaded_at"


@dataclass(frozen=True, slots=True)
class TemplateRecording:
    template_id: int
    part: int  # the fixed part's index (0 = the text before the first variable)
    file_ref: str
    kind: str  # WAV, FLAC, Ogg, MP3: what was uploaded
    duration_ms: int  # of the 8 kHz clip kept
    uploaded_by: str
    uploaded_at: float


def _recording(row: Row) -> TemplateRecording:
    template_id, part, ref, kind, duration_ms, by, at = row
    return TemplateRecording(
        int(template_id), int(part), str(ref), str(kind), int(duration_ms), str(by), float(at)
    )


async def list_recordings(store: Store, *, template_id: int) -> list[TemplateRecording]:
    sql = f"SELECT {_COLUMNS} FROM template_recordings WHERE template_id = $1 ORDER BY part"  # noqa: S608
    return [_recording(r) for r in await store.read(sql, template_id)]


async def put_recording(store: Store, recording: TemplateRecording) -> str | None:
    """Store ``recording`` for its part; the file reference it replaced, if any."""

    async def work(tx: Tx) -> str | None:
        old = await tx.fetchrow(
            "SELECT file_ref FROM template_recordings WHERE template_id = $1 AND part = $2",
            recording.template_id,
            recording.part,
        )
        # An upsert: two uploads of one part at once both succeed, the later one kept.
        await tx.execute(
            f"INSERT INTO template_recordings ({_COLUMNS}) "  # noqa: S608 - constant
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (template_id, part) DO UPDATE "
            "SET file_ref = excluded.file_ref, kind = excluded.kind, "
            "duration_ms = excluded.duration_ms, uploaded_by = excluded.uploaded_by, "
            "uploaded_at = excluded.uploaded_at",
            recording.template_id,
            recording.part,
            recording.file_ref,
            recording.kind,
            recording.duration_ms,
            recording.uploaded_by,
            recording.uploaded_at,
        )
        return None if old is None else str(old[0])

    return await store.transact(work)


async def delete_recording(
    store: Store, *, template_id: int, part: int
) -> TemplateRecording | None:
    """Remove one part's recording; what was removed (its file is the caller's to delete)."""

    async def work(tx: Tx) -> TemplateRecording | None:
        row = await tx.fetchrow(
            f"DELETE FROM template_recordings WHERE template_id = $1 AND part = $2 "  # noqa: S608
            f"RETURNING {_COLUMNS}",
            template_id,
            part,
        )
        return None if row is None else _recording(row)

    return await store.transact(work)


async def delete_recordings(store: Store, *, template_id: int) -> list[str]:
    """Remove every recording of a template; their file references."""

    async def work(tx: Tx) -> list[str]:
        refs = await tx.fetch(
            "DELETE FROM template_recordings WHERE template_id = $1 RETURNING file_ref",
            template_id,
        )
        return [str(r[0]) for r in refs]

    return await store.transact(work)
