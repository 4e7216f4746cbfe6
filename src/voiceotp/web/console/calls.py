"""Call records: search (keyset pages), CSV export, one call's detail and its audio."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from starlette.responses import FileResponse, Response, StreamingResponse

from voiceotp.delivery.factory import make_prompts, record_dir
from voiceotp.errors import VoiceOTPError
from voiceotp.protocol import is_valid_mobile, mask_mobile
from voiceotp.store import console as q
from voiceotp.store.console import CallFilter
from voiceotp.store.records import FINAL_STATES
from voiceotp.store.web import list_audit
from voiceotp.web.console.core import SUPPORT, Page, refusal, view

__all__ = ["call_audio", "call_page", "calls_csv", "calls_page"]

log = logging.getLogger(__name__)

STATES = ("queued", "dialing", *FINAL_STATES)
PAGE_SIZE = 50
CSV_LIMIT = 100_000
LISTEN_AUDIT_S = 10 * 60  # one audited listen per operator and call in this long


async def _filter(page: Page) -> tuple[CallFilter, dict[str, str], str]:
    """The search form as a filter, the form's values, and a message for a bad value."""
    form = {
        k: page.param(k)[:40] for k in ("account", "mobile", "voiceid", "state", "since", "until")
    }
    account_id = None
    if form["account"]:
        record = await page.store.get_account(form["account"])
        account_id = record.id if record is not None else -1
    mobile = form["mobile"] or None
    if mobile is not None and not is_valid_mobile(mobile):
        return CallFilter(account_id=-1), form, "not a mainland mobile number (11 digits)"
    voiceid = (
        int(form["voiceid"]) if form["voiceid"].isdigit() and len(form["voiceid"]) < 19 else None
    )
    if form["voiceid"] and voiceid is None:
        voiceid = -1
    where = CallFilter(
        account_id=account_id,
        mobile=mobile,
        voiceid=voiceid,
        state=form["state"] if form["state"] in STATES else None,
        since=_time(form["since"]),
        until=_time(form["until"]),
    )
    return where, form, ""


def _time(text: str) -> float | None:
    """A datetime-local value (server local time) as Unix seconds."""
    try:
        return datetime.fromisoformat(text).timestamp() if text else None
    except ValueError:
        return None


@view(SUPPORT)
async def calls_page(page: Page) -> Response:
    """Search call records; numbers masked in the list; a full-number search is audited."""
    where, form, error = await _filter(page)
    if where.mobile is not None:
        await page.audit("calls.search_mobile", mask_mobile(where.mobile), "", where.mobile)
    after_text = page.request.query_params.get("after", "")
    after = int(after_text) if after_text.isdigit() and len(after_text) < 19 else None
    rows = await q.search_calls(page.store, where=where, after=after, limit=PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    query = urlencode({k: v for k, v in form.items() if v})
    return page.render(
        "calls.html", section="calls", rows=rows, form=form, states=STATES, error=error,
        next_after=rows[-1].voiceid if more and rows else None, query=query,
    )  # fmt: skip


@view(SUPPORT)
async def calls_csv(page: Page) -> Response:
    """The matching records as CSV (numbers masked), streamed in keyset pages."""
    where, _, _ = await _filter(page)
    if where.mobile is not None:
        await page.audit("calls.export_mobile", mask_mobile(where.mobile), "", where.mobile)
    await page.audit("calls.export", "calls", "", dict(page.request.query_params))

    async def lines() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["voiceid", "account", "mobile", "state", "created_at", "answer_time",
                         "end_time", "duration", "sip_code", "attempts"])  # fmt: skip
        after, sent = None, 0
        while sent < CSV_LIMIT:
            rows = await q.search_calls(page.store, where=where, after=after, limit=1000)
            for r in rows:
                writer.writerow([r.voiceid, r.account, mask_mobile(r.mobile), r.state,
                                 _iso(r.created_at), _iso(r.answer_time), _iso(r.end_time),
                                 r.duration, r.sip_code, r.attempts])  # fmt: skip
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            sent += len(rows)
            if len(rows) < 1000:
                return
            after = int(rows[-1].voiceid)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="calls-{stamp}.csv"',
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts).isoformat(timespec="milliseconds") if ts else ""


@view(SUPPORT)
async def call_page(page: Page) -> Response:
    """One call: timeline, SIP/Q.850 and dialer per attempt, its status reports and every
    push of them (HTTP status), and what the callee heard."""
    call = await page.store.get_call(page.request.path_params["voiceid"])
    if call is None:
        return refusal(page, 404, "Not found", "Not found")
    attempts = await q.call_attempts(page.store, voiceid=int(call.voiceid))
    pushes = await q.call_pushes(page.store, voiceid=int(call.voiceid))
    push_log = await q.push_attempts(page.store, voiceid=int(call.voiceid))
    account = await page.store.account_name(call.account_id)
    last = attempts[-1] if attempts else None
    timeline = [
        ("Submitted", call.created_at),
        ("Queued", call.created_at),
        ("Dialing", last.invite_at if last else None),
        ("Ringing", last.ring_at if last else None),
        ("Answered", (last.answer_at if last else None) or call.answer_time or None),
        ("Ended", (last.end_at if last else None) or call.end_time or None),
    ]
    source = "Carrier recording" if _recording(page, call.voiceid) else "Rendered prompt"
    return page.render(
        "call.html", section="calls", call=call, account=account, attempts=attempts,
        pushes=pushes, push_log=push_log, timeline=timeline, audio_source=source,
        dialer=_dialer(page),
    )  # fmt: skip


def _dialer(page: Page) -> str:
    """How this gateway's calls go out now (each attempt row names the dialer and the
    worker that placed it)."""
    conf = page.gateway.settings.delivery
    if conf.dialer == "sip" and conf.trunk is not None:
        return f"sip: {conf.trunk.host}"
    if conf.dialer == "relay":
        return f"relay: {len(conf.upstreams)} upstream(s)"
    return conf.dialer


@view(SUPPORT)
async def call_audio(page: Page) -> Response:
    """The WAV the callee heard (the carrier's recording, else the prompt rendered as the
    dialer renders it), with Range support (seeking in the player)."""
    call = await page.store.get_call(page.request.path_params["voiceid"])
    if call is None:
        return refusal(page, 404, "Not found", "No recording of this call.")
    path = _recording(page, call.voiceid) or await _rendered(page, call.voiceid, call.content)
    if path is None:
        return refusal(page, 404, "Not found", "No recording of this call.")
    if not await _listened_lately(page, call.voiceid):
        await page.audit("calls.listen", call.voiceid)  # once a play, whatever the Range
    # Starlette answers Range requests (206, Content-Range) for files.
    headers = {"cache-control": "no-store", "x-content-type-options": "nosniff"}
    return FileResponse(path, media_type="audio/wav", headers=headers)


async def _listened_lately(page: Page, voiceid: str) -> bool:
    """This operator's listen to this call is already in the audit log (a player's seeks
    and re-reads are one play; any Range, even one not from byte 0, hands out the audio)."""
    assert page.user is not None
    since = time.time() - LISTEN_AUDIT_S
    entries = await list_audit(page.store, target=voiceid, limit=20)
    return any(
        e.action == "calls.listen" and e.actor == page.user.login and e.at >= since for e in entries
    )


def _recording(page: Page, voiceid: str) -> Path | None:
    """The recording of the call (the simulated carrier's), if there is one."""
    if not (voiceid.isascii() and voiceid.isdigit()):
        return None
    settings = page.gateway.settings
    path = record_dir(settings.delivery, settings.data_dir) / f"{voiceid}.wav"
    return path if path.is_file() else None


async def _rendered(page: Page, voiceid: str, code: str) -> Path | None:
    """The call's prompt rendered with the delivery settings, cached in the data folder."""
    settings = page.gateway.settings
    path = settings.data_dir / "console-prompts" / f"{voiceid}.wav"
    if path.is_file():
        return path
    library = getattr(page.request.app.state, "console_prompts", None)
    if library is None:
        library = page.request.app.state.console_prompts = make_prompts(settings.delivery)
    try:
        prompt = await asyncio.to_thread(
            library.render, code, None, settings.delivery.prompt_repeat
        )
    except (VoiceOTPError, ValueError):
        log.exception("cannot render the prompt of call %s", voiceid)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    await asyncio.to_thread(prompt.to_wav, partial)
    partial.replace(path)
    return path
