"""An idempotency key is bound to the request it was first accepted for: the same key
with another mobile or content is refused, never told the first call's success."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.gateway.harness import FIXTURE, VOICE, running
from voiceotp.delivery.dialer.base import CallOutcome, CallStatus
from voiceotp.delivery.fence import SqlFence
from voiceotp.gateway.settings import Settings
from voiceotp.protocol import Code, Method, SubmitResult, dynamic_password, parse_result
from voiceotp.store import Acceptance, AcceptStatus, KeyUse, Store
from voiceotp.store.batch import plan_batch

NOW = float(FIXTURE["now"])
AUTH = {"account": "V10000001", "password": "0123456789abcdef0123456789abcdef"}
MOBILES = ("13800138000", "13800138001")
KEY_REUSED_MSG = "提交失败,Idempotency-Key已用于另一手机号码或内容,请换用新的Idempotency-Key"


async def test_a_key_reused_for_other_numbers_is_refused(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        client = harness.client()

        async def one(i: int) -> tuple[str, SubmitResult]:
            mobile = MOBILES[i % 2]
            form = {**AUTH, "mobile": mobile, "content": "1125"}
            response = await client.post(
                VOICE, params={"method": "Submit"}, data=form, headers={"Idempotency-Key": "abc"}
            )
            result = parse_result(response.content, Method.SUBMIT)
            assert isinstance(result, SubmitResult)
            return mobile, result

        answers = await asyncio.gather(*(one(i) for i in range(50)))
        assert await store.count_calls() == 1
        voiceids = {r.voiceid for _, r in answers if r.code == Code.OK}
        assert len(voiceids) == 1
        first = await store.get_call(voiceids.pop())
        assert first is not None
        for mobile, result in answers:
            if mobile == first.mobile:
                assert (result.code, result.voiceid) == (Code.OK, first.voiceid)
            else:
                assert (result.code, result.msg, result.voiceid) == (0, KEY_REUSED_MSG, "0")
        other_content = await client.post(
            VOICE,
            params={"method": "Submit", "format": "json"},
            data={**AUTH, "mobile": first.mobile, "content": "9999"},
            headers={"Idempotency-Key": "abc"},
        )
        refused = parse_result(other_content.content)
        assert (refused.code, refused.msg) == (Code.FAILED, KEY_REUSED_MSG)
        replay = await client.post(
            VOICE,
            params={"method": "Submit"},
            data={**AUTH, "mobile": first.mobile, "content": "1125"},
            headers={"Idempotency-Key": "abc"},
        )
        assert parse_result(replay.content) == SubmitResult(2, "提交成功", first.voiceid)
        assert await store.count_calls() == 1


@pytest.fixture
async def opened(store: Store) -> AsyncIterator[Store]:
    await store.open()
    yield store
    await store.close()


def acceptance(account_id: int, mobile: str, content: str = "1125") -> Acceptance:
    return Acceptance(account_id, mobile, content, NOW, NOW + 300, idem_key="k")


async def test_the_store_refuses_a_key_reused_for_another_request(opened: Store) -> None:
    # Two processes each let one of these through their in-process guard: the store decides.
    account = await opened.create_account(name="V20000001", apikey_enc="x", now=NOW, balance=9)
    together = await asyncio.gather(
        opened.accept(acceptance(account.id, MOBILES[0])),
        opened.accept(acceptance(account.id, MOBILES[1])),
        opened.accept(acceptance(account.id, MOBILES[0])),
    )
    assert [o.status for o in together] == [
        AcceptStatus.ACCEPTED,
        AcceptStatus.KEY_REUSED,
        AcceptStatus.REPLAY,
    ]
    later = await opened.accept(acceptance(account.id, MOBILES[0], content="0000"))
    assert later.status is AcceptStatus.KEY_REUSED
    assert later.voiceid == "0"
    found = await opened.find_idempotent(account.id, "k")
    assert found == KeyUse(together[0].voiceid, MOBILES[0], "1125")
    assert await opened.get_balance(account.id) == 8
    assert await opened.count_calls() == 1


def test_plan_batch_compares_the_stored_request() -> None:
    stored = {(1, "k"): KeyUse("99", MOBILES[0], "1125")}
    items = [acceptance(1, MOBILES[1]), acceptance(1, MOBILES[0]), acceptance(1, MOBILES[0], "1")]
    plan = plan_batch(items, {1: 5}, stored, iter([1]))
    assert [(o.status, o.voiceid) for o in plan.outcomes] == [
        (AcceptStatus.KEY_REUSED, "0"),
        (AcceptStatus.REPLAY, "99"),
        (AcceptStatus.KEY_REUSED, "0"),
    ]
    assert not plan.new_calls


async def test_a_key_still_works_once_the_call_ended_and_its_code_was_erased(
    store: Store, settings: Settings
) -> None:
    """The ended call keeps only the code's fingerprint: a replay still matches it, a key
    reused for another code is still refused."""
    async with running(store, settings, now=NOW) as harness:
        client = harness.client()

        async def submit(content: str, mobile: str = MOBILES[0]) -> SubmitResult:
            response = await client.post(
                VOICE,
                params={"method": "Submit"},
                data={**AUTH, "mobile": mobile, "content": content},
                headers={"Idempotency-Key": "ended"},
            )
            result = parse_result(response.content, Method.SUBMIT)
            assert isinstance(result, SubmitResult)
            return result

        first = await submit("4711")
        keybox = harness.gateway.keybox
        ended = CallOutcome(CallStatus.BUSY, 486, 17, NOW + 1, NOW + 2, None, NOW + 3)
        assert await SqlFence(store, keybox=keybox).finish(first.voiceid, ended, attempt=1)
        call = await store.get_call(first.voiceid)
        assert call is not None
        assert call.content == keybox.fingerprint(MOBILES[0], "4711") != "4711"
        assert (await submit("4711")).voiceid == first.voiceid
        assert (await submit("4712")).msg == KEY_REUSED_MSG
        assert (await submit("4711", MOBILES[1])).msg == KEY_REUSED_MSG
        assert await store.count_calls() == 1


async def test_a_dynamic_passwords_key_holds_no_code(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        when = str(int(NOW))
        password = dynamic_password(
            AUTH["account"], AUTH["password"], when, mobile=MOBILES[0], content="4711"
        )
        form = {**AUTH, "password": password, "mobile": MOBILES[0], "content": "4711"}
        answers = [await harness.submit(**form, time=when) for _ in range(2)]
        first, again = (parse_result(a.content, Method.SUBMIT) for a in answers)
        assert first.code == Code.OK
        assert again.voiceid == first.voiceid  # the exact replay is still recognised
        [(key,)] = await store.read("SELECT idem_key FROM calls")
        assert "4711" not in str(key)
