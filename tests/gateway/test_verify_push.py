"""The status push reports whether and when a code was verified: in the call's final
report when Check came first, in a ``-verified`` report when the call had ended."""

from __future__ import annotations

import json

from tests.gateway.harness import FIXTURE, Harness, running
from tests.gateway.verifykit import check, spoken, verify
from voiceotp.delivery.dialer.base import CallOutcome, CallStatus
from voiceotp.delivery.fence import SqlFence
from voiceotp.gateway.settings import Settings
from voiceotp.protocol import Code
from voiceotp.store import Store
from voiceotp.store.keys import KeyBox

NOW = float(FIXTURE["now"])


async def reports(store: Store) -> dict[str, dict[str, object]]:
    rows = await store.read("SELECT report_id, report FROM outbox")
    return {str(r[0]): json.loads(str(r[1])) for r in rows}


async def finish(harness: Harness, voiceid: str) -> None:
    fence = SqlFence(harness.store, keybox=KeyBox(harness.gateway.settings.secret_key))
    at = harness.clock_value[0]
    outcome = CallOutcome(CallStatus.ANSWERED, 200, 16, at, at + 1, at + 3, at + 15, 12.0)
    assert await fence.finish(voiceid, outcome, attempt=1)


async def test_verified_after_the_call_ended(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        await store.update_account("V10000001", callback_url="https://push.example.com/cb")
        harness.gateway.directory.forget("V10000001")
        sent = await verify(harness)
        code = await spoken(harness, sent.voiceid)
        await finish(harness, sent.voiceid)
        harness.clock_value[0] += 20
        assert (await check(harness, code)).code == Code.OK
        found = await reports(store)
        final, verified = found[f"{sent.voiceid}-1"], found[f"{sent.voiceid}-verified"]
        assert (final["verify_status"], final["verify_time"]) == ("pending", 0)
        assert (verified["verify_status"], verified["verify_time"]) == ("verified", NOW + 20)
        assert (verified["status"], verified["ring_time"]) == ("ANSWERED", NOW + 1)
        sealed = await store.read(
            "SELECT code_enc FROM verifications WHERE voiceid = $1", int(sent.voiceid)
        )
        assert sealed[0][0] is None  # erased when the call ended


async def test_verified_while_the_call_rang(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        await store.update_account("V10000001", callback_url="https://push.example.com/cb")
        harness.gateway.directory.forget("V10000001")
        sent = await verify(harness)
        assert (await check(harness, await spoken(harness, sent.voiceid))).code == Code.OK
        await finish(harness, sent.voiceid)
        found = await reports(store)
        assert list(found) == [f"{sent.voiceid}-1"]
        assert found[f"{sent.voiceid}-1"]["verify_status"] == "verified"
