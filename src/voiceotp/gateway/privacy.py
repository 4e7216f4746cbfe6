"""A data-subject request (个人信息主体请求) on one account: export, or erase, the personal
data its calls left — numbers (calls, codes' rows, status reports, its blacklist) and call
audio. Behind ``voiceotp admin personal-data`` and the admin API; every run is audited
(numbers masked in the audit). docs/privacy.md."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

from voiceotp.delivery.retention import audio_path, unlink_existing
from voiceotp.protocol import mask_mobile
from voiceotp.store import AccountRecord, Store
from voiceotp.store.privacy import erase_numbers, numbers_of, signups_of

__all__ = ["erase_personal_data", "export_personal_data"]


async def export_personal_data(
    store: Store,
    account: AccountRecord,
    audio_dir: Path | None,
    *,
    mobile: str = "",
    with_audio: bool = False,
) -> dict[str, Any]:
    """Every call of ``account`` (or to ``mobile``) with its number as stored, whether its
    audio is kept (``with_audio``: the WAV itself, base64), and the blacklisted numbers."""
    calls = []
    for use in await numbers_of(store, account.id, mobile=mobile):
        path = None if audio_dir is None else audio_path(audio_dir, use.voiceid)
        kept = path is not None and await asyncio.to_thread(path.is_file)
        entry: dict[str, Any] = {
            "voiceid": use.voiceid,
            "mobile": use.mobile,
            "state": use.state,
            "created_at": use.created_at,
            "audio": kept,
        }
        if kept and with_audio and path is not None:
            data = await asyncio.to_thread(path.read_bytes)
            entry["audio_wav_base64"] = base64.b64encode(data).decode()
        calls.append(entry)
    listed = sorted(n for n in account.blacklist if not mobile or n == mobile)
    signups = [
        {"mobile": s.mobile, "state": s.state, "created_at": s.created_at}
        for s in await signups_of(store, account.id, mobile=mobile)
    ]
    return {
        "account": account.name,
        "mobile": mobile,
        "calls": calls,
        "blacklist": listed,
        "signups": signups,
    }


async def erase_personal_data(
    store: Store, account: AccountRecord, audio_dir: Path | None, *, mobile: str = ""
) -> dict[str, Any]:
    """Mask the numbers of ``account``'s ended calls (or those to ``mobile``) and delete
    their audio. The blacklist stays (it is there so that a number is not called)."""
    erased = await erase_numbers(store, account.id, mobile=mobile)
    deleted = 0
    if audio_dir is not None:
        # One number: the calls masked now (a masked number may stand for others too).
        # The whole account: every ended call's, masked earlier or now.
        ids = set(erased.voiceids)
        if not mobile:
            ids |= {c.voiceid for c in await numbers_of(store, account.id) if c.state not in _LIVE}
        paths = [audio_path(audio_dir, v) for v in ids]
        deleted = await asyncio.to_thread(unlink_existing, paths)
    return {
        "account": account.name,
        "mobile": mask_mobile(mobile) if mobile else "",
        "numbers_masked": len(erased.voiceids),
        "reports_masked": erased.reports,
        "signups_masked": erased.signups,
        "audio_deleted": deleted,
        "calls_in_progress": erased.live,  # masked by the retention sweep once ended
    }


_LIVE = ("queued", "dialing")
