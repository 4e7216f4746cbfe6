"""Verify and Check on both stores: the right code passes once; wrong, expired, sixth,
superseded and reused codes fail with their codes; concurrency; Query's fields."""

from __future__ import annotations

import asyncio
import dataclasses
from unittest.mock import patch

import pytest

from tests.gateway.harness import FIXTURE, running
from tests.gateway.verifykit import AUTH, KEY1, MOBILE, check, query, spoken, verify, wrong
from voiceotp import errors
from voiceotp.client import ASGITransport, AsyncClient
from voiceotp.gateway.settings import NumberCaps, Settings
from voiceotp.protocol import Code, Method, dynamic_password, message_for, parse_result
from voiceotp.store import Store

NOW = float(FIXTURE["now"])


async def test_right_code_passes_once(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        sent = await verify(harness)
        assert sent.code == Code.OK
        assert sent.voiceid != "0"
        assert sent.msg == message_for(Code.OK, Method.VERIFY)
        code = await spoken(harness, sent.voiceid)
        assert len(code) == 6
        assert code.isdigit()
        ok = await check(harness, code)
        assert (ok.code, ok.voiceid, ok.msg) == (Code.OK, sent.voiceid, "验证成功")
        again = await check(harness, code)
        assert again.code == Code.NO_PENDING_CODE


async def test_wrong_expired_and_sixth_attempt(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        sent = await verify(harness, length="4", ttl="60")
        code = await spoken(harness, sent.voiceid)
        assert len(code) == 4
        for _ in range(5):
            assert (await check(harness, wrong(code))).code == Code.CODE_WRONG
        sixth = await check(harness, code)
        assert sixth.code == Code.ATTEMPTS_USED_UP

        harness.clock_value[0] += 120  # a fresh number (caps), a fresh code
        sent = await verify(harness, mobile="13800138001", ttl="60")
        code = await spoken(harness, sent.voiceid)
        harness.clock_value[0] += 61
        expired = await check(harness, code, mobile="13800138001")
        assert expired.code == Code.CODE_EXPIRED


async def test_superseded_and_unknown(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        assert (await check(harness, "123456")).code == Code.NO_PENDING_CODE
        first = await verify(harness)
        old = await spoken(harness, first.voiceid)
        harness.clock_value[0] += 61  # past the per-minute cap
        second = await verify(harness)
        new = await spoken(harness, second.voiceid)
        by_voiceid = await check(harness, old, voiceid=first.voiceid)
        assert by_voiceid.code == Code.NO_PENDING_CODE
        if old != new:
            assert (await check(harness, old)).code == Code.CODE_WRONG
        assert (await check(harness, new)).code == Code.OK
        status = await query(harness, first.voiceid)
        assert status.verify_status == "superseded"
        status = await query(harness, second.voiceid)
        assert (status.verify_status, status.verify_time) == ("verified", int(NOW) + 61)


async def test_verify_options_and_check_rules(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        assert (await verify(harness, length="7")).code == Code.LENGTH_INVALID
        assert (await verify(harness, length="x")).code == Code.LENGTH_INVALID
        assert (await verify(harness, ttl="59")).code == Code.TTL_INVALID
        assert (await verify(harness, mobile="2380013800")).code == Code.MOBILE_INVALID
        assert (await verify(harness, mobile="13911112222")).code == Code.MOBILE_BLACKLISTED
        assert (await check(harness, "")).code == Code.CODE_EMPTY
        assert (await check(harness, "1234", voiceid="abc")).code == Code.NO_PENDING_CODE


async def test_200_concurrent_right_checks_succeed_once(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        sent = await verify(harness)
        code = await spoken(harness, sent.voiceid)
        results = await asyncio.gather(*(check(harness, code) for _ in range(200)))
        codes = [r.code for r in results]
        assert codes.count(Code.OK) == 1
        assert set(codes) == {Code.OK, Code.NO_PENDING_CODE}


async def test_wrong_codes_are_throttled_across_codes(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        limit = settings.verify.wrong_per_number
        wrongs = 0
        while wrongs < limit:
            sent = await verify(harness)
            code = await spoken(harness, sent.voiceid)
            for _ in range(min(5, limit - wrongs)):
                assert (await check(harness, wrong(code))).code == Code.CODE_WRONG
                wrongs += 1
            harness.clock_value[0] += 61
            if wrongs % 25 == 0:
                harness.clock_value[0] += 86_400  # past the 24 h cap
        assert (await check(harness, "000000")).code == Code.CHECK_THROTTLED
        assert (await check(harness, "000000", mobile="13800138009")).code == Code.NO_PENDING_CODE


async def test_client_against_the_gateway(store: Store, settings: Settings) -> None:
    """The client's verify/check round-trip through the real app (dynamic passwords)."""
    async with running(store, settings, now=NOW) as harness:
        client = AsyncClient(
            "V10000001",
            "0123456789abcdef0123456789abcdef",
            base_url="http://gw/webservice/voice.php",
            transport=ASGITransport(harness.app),
        )
        with patch("voiceotp.client.base._time.time", return_value=NOW):
            sent = await client.verify("13800138000", length=5)
            code = await spoken(harness, sent.voiceid)
            assert len(code) == 5
            with pytest.raises(errors.WrongCode):
                await client.check("13800138000", wrong(code))
            assert (await client.check("13800138000", code, voiceid=sent.voiceid)).ok
        await client.aclose()


async def test_verifies_in_one_batch_leave_one_pending(store: Store, settings: Settings) -> None:
    uncapped = dataclasses.replace(settings, caps=NumberCaps(0, 0, 0))
    async with running(store, uncapped, now=NOW) as harness:
        sent = await asyncio.gather(*(verify(harness) for _ in range(3)))
        statuses = [(await query(harness, s.voiceid)).verify_status for s in sent]
        assert sorted(statuses) == ["pending", "superseded", "superseded"]
        latest = sent[statuses.index("pending")]
        assert (await check(harness, await spoken(harness, latest.voiceid))).code == Code.OK


async def test_dynamic_password_replay_is_one_call(store: Store, settings: Settings) -> None:
    """A Verify repeated exactly (same dynamic password and time) is deduped like Submit."""
    async with running(store, settings, now=NOW) as harness:
        time = str(int(NOW))
        password = dynamic_password("V10000001", KEY1, time, mobile=MOBILE, content="")
        form = {"account": "V10000001", "password": password, "time": time}
        first = await verify(harness, auth=form)
        again = await verify(harness, auth=form)
        assert (first.code, again.code, again.voiceid) == (Code.OK, Code.OK, first.voiceid)
        assert await store.count_calls() == 1
        signed = dynamic_password("V10000001", KEY1, time, mobile=MOBILE, content="1234")
        checked = await check(harness, "1234", auth={**form, "password": signed})
        assert checked.code in (Code.CODE_WRONG, Code.OK)
        bad = await check(harness, "1234", auth=form)  # Verify's password does not sign a Check
        assert bad.code == Code.AUTH_FAILED


async def test_idempotency_key_replays_a_verify(store: Store, settings: Settings) -> None:
    """A stray ``content`` changes nothing: a Verify's call speaks its own code."""
    async with running(store, settings, now=NOW) as harness:
        headers = {"Idempotency-Key": "signup-42"}
        form = {**AUTH, "mobile": MOBILE, "content": "1234"}
        answers = [
            await harness.client().post(
                "/webservice/voice.php", params={"method": "Verify"}, data=form, headers=headers
            )
            for _ in range(2)
        ]
        first, again = (parse_result(a.content, Method.VERIFY) for a in answers)
        assert (first.code, again.code, again.voiceid) == (Code.OK, Code.OK, first.voiceid)
        assert await store.count_calls() == 1
        code = await spoken(harness, first.voiceid)
        assert len(code) == 6  # made up by the gateway, never the given content
