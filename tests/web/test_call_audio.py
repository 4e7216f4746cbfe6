"""What a support agent may hear: a call's audio is refused while its code may still be
valid (Verify: until its ttl, or until it is verified; Submit: ``submit_code_valid_s``),
served after; both the refusal and the listen are audited (docs/privacy.md)."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.delivery.audio.helpers import synthetic_prompts
from tests.web.conftest import PASSWORD, Console
from voiceotp.delivery.audio import render_prompt
from voiceotp.delivery.dialer import CallOutcome, CallStatus
from voiceotp.delivery.factory import record_dir
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.retention import RetentionSettings
from voiceotp.gateway import Settings, create_app
from voiceotp.store import Store
from voiceotp.store.keys import KeyBox
from voiceotp.store.web import create_web_user, list_audit
from voiceotp.web.console import console_routes
from voiceotp.web.passwords import hash_password

NOW = time.time()
WINDOW_S = 900


@dataclasses.dataclass
class Clocked(Console):
    clock: list[float] = dataclasses.field(default_factory=lambda: [NOW])
    apikey: str = ""


@pytest.fixture
async def console(settings: Settings, store: Store) -> AsyncIterator[Clocked]:
    """The console with the gateway's clock in the test's hands."""
    settings = dataclasses.replace(
        settings, retention=RetentionSettings(submit_code_valid_s=WINDOW_S)
    )
    clock = [NOW]
    app = create_app(
        settings, store=store, migrate=False, clock=lambda: clock[0], extra_routes=console_routes()
    )
    async with app.router.lifespan_context(app):
        await create_web_user(
            store, kind="operator", login="sam", password_hash=hash_password(PASSWORD),
            role="support", now=time.time(),
        )  # fmt: skip
        key = await app.state.gateway.admin.create_account(name="V10000001", balance=5)
        yield Clocked(app, clock, key.apikey)


async def call(console: Clocked, method: str, **form: str) -> str:
    key = console.apikey
    async with console.client() as client:
        answer = await client.post(
            f"/webservice/voice.php?method={method}",
            data={"account": "V10000001", "password": key, "format": "json", **form},
        )
    assert answer.json()["code"] == 2, answer.text
    return str(answer.json()["voiceid"])


async def answered_with_recording(console: Clocked, voiceid: str) -> str:
    """End the call as the dialer does (the code spoken is returned) and leave its WAV."""
    gw = console.gateway
    fence = SqlFence(gw.store, keybox=KeyBox(gw.settings.secret_key))
    claim = await fence.claim_for_dialing(voiceid, attempt=1, worker="w", now=NOW, lease_s=60)
    assert claim.ticket is not None
    at = console.clock[0]
    outcome = CallOutcome(CallStatus.ANSWERED, 200, 16, at, at + 1, at + 2, at + 12, 10.0)
    assert await fence.finish(voiceid, outcome, attempt=1)
    folder = record_dir(gw.settings.delivery, gw.settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    render_prompt(claim.ticket.code, prompts=synthetic_prompts()).to_wav(
        Path(folder) / f"{voiceid}.wav"
    )
    return claim.ticket.code


async def actions(console: Clocked, voiceid: str) -> list[str]:
    entries = await list_audit(console.gateway.store, target=voiceid, limit=20)
    return sorted(e.action for e in entries)


async def test_a_submits_audio_waits_for_its_window(console: Clocked) -> None:
    voiceid = await call(console, "Submit", mobile="13800138000", content="4711")
    await answered_with_recording(console, voiceid)
    client, _ = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        console.clock[0] = NOW + WINDOW_S - 1
        detail = await client.get(f"/console/calls/{voiceid}")
        assert 'data-testid="audio-later"' in detail.text
        assert "<audio" not in detail.text  # no player while the code may be valid
        refused = await client.get(f"/console/calls/{voiceid}/audio")
        assert refused.status_code == 403
        assert "验证码可能仍然有效" in refused.text
        assert refused.headers["content-type"].startswith("text/html")
        console.clock[0] = NOW + WINDOW_S + 1
        assert "<audio" in (await client.get(f"/console/calls/{voiceid}")).text
        served = await client.get(f"/console/calls/{voiceid}/audio")
        assert served.status_code == 200
        assert served.content[:4] == b"RIFF"
    assert await actions(console, voiceid) == ["calls.listen", "calls.listen_refused"]


async def test_a_verify_calls_audio_waits_for_the_codes_expiry_or_its_use(
    console: Clocked,
) -> None:
    first = await call(console, "Verify", mobile="13800138000", ttl="300")
    await answered_with_recording(console, first)
    second = await call(console, "Verify", mobile="13900139000", ttl="300")
    code = await answered_with_recording(console, second)
    client, _ = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        console.clock[0] = NOW + 299
        assert (await client.get(f"/console/calls/{first}/audio")).status_code == 403
        assert (await client.get(f"/console/calls/{second}/audio")).status_code == 403
        await call(console, "Check", mobile="13900139000", code=code)  # used: no code any more
        assert (await client.get(f"/console/calls/{second}/audio")).status_code == 200
        console.clock[0] = NOW + 301  # expired
        assert (await client.get(f"/console/calls/{first}/audio")).status_code == 200


async def test_without_a_recording_nothing_is_rendered_from_the_code(console: Clocked) -> None:
    """The code is erased when the call ends: there is nothing to render a prompt from."""
    voiceid = await call(console, "Submit", mobile="13800138000", content="4711")
    gw = console.gateway
    fence = SqlFence(gw.store, keybox=KeyBox(gw.settings.secret_key))
    busy = CallOutcome(CallStatus.BUSY, 486, 17, NOW, NOW + 1, None, NOW + 2)
    assert await fence.finish(voiceid, busy, attempt=1)
    console.clock[0] = NOW + WINDOW_S + 1
    client, _ = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        assert (await client.get(f"/console/calls/{voiceid}/audio")).status_code == 404
    assert not (gw.settings.data_dir / "console-prompts").exists()
