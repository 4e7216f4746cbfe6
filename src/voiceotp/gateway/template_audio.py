"""How a template's notices sound (docs/notices.md): an operator's recording of any of
its fixed parts, said instead of espeak-ng's rendering, and how many times its notices
are said. One service behind the console and ``voiceotp admin template``.

A recording is decoded and checked (delivery/audio/recording.py: the format from the
content, bounded size and length), resampled to 8 kHz mono and kept as a file under
``<data_dir>/uploads`` (store/files.py: 0600, a random name) with a row in
``template_recordings``. The fence hands the references to the worker with the call, so
a new recording is heard from the next call on; a replaced or removed one's file is
deleted at once (a call already on its way then speaks that part with espeak-ng).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceotp.delivery.audio.prompt import MAX_REPEAT, MIN_REPEAT
from voiceotp.delivery.audio.recording import decode_recording
from voiceotp.errors import AdminError, AudioError
from voiceotp.gateway.templates import Templates
from voiceotp.protocol.notice import parse_template
from voiceotp.store import Store
from voiceotp.store import notify as db
from voiceotp.store import recordings as rec
from voiceotp.store.files import delete_upload, save_upload
from voiceotp.store.notify import NoticeTemplate

__all__ = ["FixedPart", "TemplateAudio", "fixed_parts"]


@dataclass(frozen=True, slots=True)
class FixedPart:
    """A fixed part of a template that can be recorded, and its recording if it has one."""

    index: int
    text: str
    recording: rec.TemplateRecording | None = None


def fixed_parts(text: str) -> list[FixedPart]:
    """The template's fixed parts that are said (not blank, not punctuation only)."""
    template = parse_template(text)
    return [
        FixedPart(i, part)
        for i, part in enumerate(template.fixed)
        if any(c.isalnum() for c in part)
    ]


class TemplateAudio:
    """Recordings and play counts of templates; files under ``data_dir``."""

    def __init__(
        self, store: Store, templates: Templates, data_dir: Path, clock: Callable[[], float]
    ):
        self._store, self._templates = store, templates
        self._data_dir, self._clock = data_dir, clock

    async def parts(self, template: NoticeTemplate) -> list[FixedPart]:
        """The template's recordable parts, with their recordings."""
        found = {r.part: r for r in await rec.list_recordings(self._store, template_id=template.id)}
        return [FixedPart(p.index, p.text, found.get(p.index)) for p in fixed_parts(template.text)]

    async def record(
        self, template_id: Any, part: Any, data: bytes, *, by: str
    ) -> rec.TemplateRecording:
        """Keep ``data`` (a WAV, FLAC, Ogg or MP3 file) as the recording of the part."""
        template = await self._templates.get(template_id)
        index = await self._part(template, part)
        try:
            recording = await asyncio.to_thread(decode_recording, data)
        except AudioError as exc:
            raise AdminError(str(exc)) from exc
        ref = await asyncio.to_thread(save_upload, self._data_dir, recording.pcm.tobytes())
        row = rec.TemplateRecording(
            template.id, index, ref, recording.kind, recording.duration_ms, by, self._clock()
        )
        try:
            old = await rec.put_recording(self._store, row)
        except BaseException:
            await asyncio.to_thread(delete_upload, self._data_dir, ref)
            raise
        if old is not None:
            await asyncio.to_thread(delete_upload, self._data_dir, old)
        await self._audit(template, f"recording of part {index} by {by} ({recording.kind})")
        return row

    async def remove(self, template_id: Any, part: Any, *, by: str) -> rec.TemplateRecording:
        template = await self._templates.get(template_id)
        index = _index(part)
        gone = await rec.delete_recording(self._store, template_id=template.id, part=index)
        if gone is None:
            raise AdminError(f"part {index} of template {template.id} has no recording")
        await asyncio.to_thread(delete_upload, self._data_dir, gone.file_ref)
        await self._audit(template, f"recording of part {index} removed by {by}")
        return gone

    async def set_play_times(self, template_id: Any, play_times: Any, *, by: str) -> NoticeTemplate:
        """How many times the template's notices are said: 1-3."""
        template = await self._templates.get(template_id)
        if isinstance(play_times, str) and play_times.isascii() and play_times.isdigit():
            play_times = int(play_times)
        if (
            not isinstance(play_times, int)
            or isinstance(play_times, bool)
            or not (MIN_REPEAT <= play_times <= MAX_REPEAT)
        ):
            raise AdminError(f"play_times must be an integer between {MIN_REPEAT} and {MAX_REPEAT}")
        await db.set_play_times(self._store, template_id=template.id, play_times=play_times)
        await self._audit(template, f"played {play_times} times, set by {by}")
        return await self._templates.get(template.id)

    async def _part(self, template: NoticeTemplate, part: Any) -> int:
        if template.state != db.APPROVED:
            raise AdminError(
                f"template {template.id} is {template.state}: only approved ones are recorded"
            )
        index = _index(part)
        if index not in {p.index for p in fixed_parts(template.text)}:
            raise AdminError(f"template {template.id} has no fixed part {index} to record")
        return index

    async def _audit(self, template: NoticeTemplate, detail: str) -> None:
        await self._store.record_audit(
            account_id=template.account_id,
            kind="template_audio",
            detail=f"template {template.id}: {detail}",
            now=self._clock(),
        )


def _index(value: Any) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 2:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 99:
        return value
    raise AdminError(f"no fixed part {value!r}")
