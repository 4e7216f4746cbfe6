"""Call records: search (keyset pages), CSV export, one call's detail and its audio."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from starlette.responses import FileResponse, Response

from voiceotp.delivery.factory import record_dir
from voiceotp.protocol import is_valid_mobile, mask_mobile
from voiceotp.store import console as q
from voiceotp.store.console import CallFilter, CallRow
from voiceotp.store.privacy import code_valid_until
from voiceotp.store.records import FINAL_STATES
from voiceotp.store.web import list_audit
from voiceotp.web.console.core import SUPPORT, Page, refusal, view
from voiceotp.web.csvexport import CALL_COLUMNS, call_records_csv

__all__ = ["call_audio", "call_page", "calls_csv", "calls_page"]


STATES = ("queued", "dialing", *FINAL_STATES)
PAGE_SIZE = 50
CSV_LIMIT = 100_000
LISTEN_AUDIT_S = 10 * 60  # one audited listen per operator and call in this long
NO_RECORDING = "No recording of this call."
CODE_STILL_VALID = (
    "The code of this call may still be valid: its audio can be played once it has expired."
)


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

    columns = (("voiceid", _voiceid), ("account", _account), *CALL_COLUMNS)
    return call_records_csv(page.store, where, columns=columns, name="calls", limit=CSV_LIMIT)


def _voiceid(row: CallRow) -> object:
    return row.voiceid


def _account(row: CallRow) -> object:
    return row.account


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
    source = "Carrier recording" if _recording(page, call.voiceid) else NO_RECORDING
    window = page.gateway.settings.retention.submit_code_valid_s
    playable_at = await code_valid_until(page.store, call, submit_window_s=window)
    if page.gateway.clock() >= playable_at:
        playable_at = 0.0  # no player is offered while the code may still be valid
    return page.render(
        "call.html", section="calls", call=call, account=account, attempts=attempts,
        pushes=pushes, push_log=push_log, timeline=timeline, audio_source=source,
        dialer=_dialer(page), playable_at=playable_at,
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
    """The WAV the callee heard (the carrier's recording), with Range support (seeking in
    the player) — only once the call's code cannot be valid any more (docs/privacy.md):
    before, nobody may hear it, and the refused try is audited like a listen."""
    call = await page.store.get_call(page.request.path_params["voiceid"])
    if call is None:
        return refusal(page, 404, "Not found", NO_RECORDING)
    window = page.gateway.settings.retention.submit_code_valid_s
    until = await code_valid_until(page.store, call, submit_window_s=window)
    if page.gateway.clock() < until:
        await page.audit("calls.listen_refused", call.voiceid)
        return refusal(page, 403, "Refused", CODE_STILL_VALID)
    path = _recording(page, call.voiceid)  # the code is erased: nothing can be rendered
    if path is None:
        return refusal(page, 404, "Not found", NO_RECORDING)
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
