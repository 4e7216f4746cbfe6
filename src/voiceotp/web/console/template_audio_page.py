"""How an approved notification template sounds (docs/notices.md): its fixed parts, an
admin's recording of any of them (said instead of the synthesised voice), and how many
times its notices are said. Support looks and listens; every change is in the web
audit log. Uploads are decoded by their content (WAV, FLAC, Ogg or MP3), bounded in size
and length, and kept as 8 kHz PCM files under the data directory (template_audio.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from voiceotp.delivery.audio.recording import MAX_RECORDING_BYTES
from voiceotp.delivery.audio.wavfile import encode_wav
from voiceotp.errors import AdminError
from voiceotp.store.files import read_upload
from voiceotp.store.notify import APPROVED, NoticeTemplate
from voiceotp.web.console.core import ADMIN, FACE, SUPPORT, Page, redirect, refusal, view

__all__ = [
    "MESSAGES",
    "recording_audio",
    "remove_recording",
    "set_play_times",
    "template_page",
    "upload_recording",
]

NO_FILE = "Choose a recording to upload."
NOT_APPROVED = "Only an approved template's parts can be recorded."
SAVED, REMOVED = "Recording saved.", "Recording removed."
MESSAGES = (NO_FILE, NOT_APPROVED, SAVED, REMOVED)
FORM_ALLOWANCE = 64 * 1024  # the CSRF field and the multipart framing around the file
_FLASH = {"saved": SAVED, "removed": REMOVED, "times": "Saved."}


def upload_limit(request: Request) -> int:
    return MAX_RECORDING_BYTES + FORM_ALLOWANCE


@view(SUPPORT)
async def template_page(page: Page) -> Response:
    template = await _template(page)
    if template is None:
        return refusal(page, 404, "Not found", "Not found")
    flash = _FLASH.get(page.request.query_params.get("done", ""), "")
    return await _render(page, template, flash=flash)


async def _render(
    page: Page, template: NoticeTemplate, *, status: int = 200, error: str = "", flash: str = ""
) -> Response:
    parts = await page.gateway.template_audio.parts(template)
    name = await page.store.account_name(template.account_id)
    return page.render(
        "template.html", status_code=status, section="templates", tp=template, parts=parts,
        account=name or template.account_id, error=error, flash=flash,
        recordable=template.state == APPROVED,
    )  # fmt: skip


@FACE.upload_view(ADMIN, max_files=1, max_body=upload_limit)
async def upload_recording(page: Page) -> Response:
    template = await _template(page)
    if template is None:
        return refusal(page, 404, "Not found", "Not found")
    assert page.form is not None
    assert page.user is not None
    upload = page.form.get("recording")
    if not isinstance(upload, UploadFile) or not upload.size:
        return await _render(page, template, status=400, error=NO_FILE)
    if template.state != APPROVED:
        return await _render(page, template, status=400, error=NOT_APPROVED)
    data = await upload.read(MAX_RECORDING_BYTES + 1)
    part = page.request.path_params["part"]
    try:
        done = await page.gateway.template_audio.record(
            template.id, part, data, by=f"operator:{page.user.login}"
        )
    except AdminError as exc:
        return await _render(page, template, status=400, error=str(exc))
    after = {"part": done.part, "kind": done.kind, "duration_ms": done.duration_ms}
    await page.audit("templates.recording", f"template {template.id}", "", after)
    return redirect(f"/templates/{template.id}?done=saved")


@view(ADMIN)
async def remove_recording(page: Page) -> Response:
    template = await _template(page)
    if template is None:
        return refusal(page, 404, "Not found", "Not found")
    assert page.user is not None
    try:
        gone = await page.gateway.template_audio.remove(
            template.id, page.request.path_params["part"], by=f"operator:{page.user.login}"
        )
    except AdminError as exc:
        return await _render(page, template, status=400, error=str(exc))
    before = {"part": gone.part, "kind": gone.kind, "duration_ms": gone.duration_ms}
    await page.audit("templates.recording_removed", f"template {template.id}", before, "")
    return redirect(f"/templates/{template.id}?done=removed")


@view(ADMIN)
async def set_play_times(page: Page) -> Response:
    template = await _template(page)
    if template is None:
        return refusal(page, 404, "Not found", "Not found")
    assert page.user is not None
    try:
        done = await page.gateway.template_audio.set_play_times(
            template.id, page.field("play_times"), by=f"operator:{page.user.login}"
        )
    except AdminError as exc:
        return await _render(page, template, status=400, error=str(exc))
    before: Any = {"play_times": template.play_times}
    await page.audit(
        "templates.play_times", f"template {template.id}", before, {"play_times": done.play_times}
    )
    return redirect(f"/templates/{template.id}?done=times")


@view(SUPPORT)
async def recording_audio(page: Page) -> Response:
    """The recording as the callee hears it: 8 kHz mono WAV."""
    template = await _template(page)
    parts = [] if template is None else await page.gateway.template_audio.parts(template)
    wanted = page.request.path_params["part"]
    found = next((p.recording for p in parts if str(p.index) == wanted and p.recording), None)
    data = None
    if found is not None:
        data = await asyncio.to_thread(read_upload, page.gateway.settings.data_dir, found.file_ref)
    if data is None:
        return refusal(page, 404, "Not found", "Not found")
    headers = {"cache-control": "no-store", "x-content-type-options": "nosniff"}
    return Response(encode_wav(data), media_type="audio/wav", headers=headers)


async def _template(page: Page) -> NoticeTemplate | None:
    try:
        return await page.gateway.templates.get(page.request.path_params["id"])
    except AdminError:
        return None
