"""Client.verify / Client.check (and the async twins) against FakeIhuyi: typed results and
errors, and the retry rules (a lost Verify is an unknown outcome, never a second call)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from tests.client.conftest import MakeTwin, Twin
from voiceotp import errors
from voiceotp.client.transports.memory import MemoryReply
from voiceotp.protocol import CheckResult, VerifyResult
from voiceotp.testing import FakeIhuyi

MOBILE = "13800138000"


async def test_verify_then_check(twin: Twin, fake: FakeIhuyi) -> None:
    sent = await twin.verify("+86 138-0013-8000", length=4)
    assert isinstance(sent, VerifyResult)
    assert sent.ok
    code = fake.spoken_code(MOBILE)
    assert code == fake.spoken_code(voiceid=sent.voiceid)
    assert len(code) == 4
    assert code not in sent.msg
    checked = await twin.check(MOBILE, code)
    assert isinstance(checked, CheckResult)
    assert (checked.ok, checked.voiceid) == (True, sent.voiceid)
    with pytest.raises(errors.NoPendingCode):
        await twin.check(MOBILE, code)
    query = await twin.query(sent.voiceid)
    assert query.verify_status == "verified"


async def test_check_errors_are_typed(twin: Twin, fake: FakeIhuyi) -> None:
    await twin.verify(MOBILE)
    code = fake.spoken_code(MOBILE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        with pytest.raises(errors.WrongCode) as caught:
            await twin.check(MOBILE, wrong)
        assert caught.value.code == 4501
    with pytest.raises(errors.AttemptsUsedUp):
        await twin.check(MOBILE, code)
    with pytest.raises(errors.CheckFailed):
        await twin.check("13800138001", code)
    with pytest.raises(errors.InvalidCode):
        await twin.check(MOBILE, "12ab")
    with pytest.raises(errors.InvalidCode):
        await twin.verify(MOBILE, length=7)


async def test_no_raise_gives_the_result(make_twin: MakeTwin, fake: FakeIhuyi) -> None:
    twin = make_twin(raise_on_error=False)
    await twin.verify(MOBILE)
    result = await twin.check(MOBILE, "000000" if fake.spoken_code(MOBILE) != "000000" else "1")
    assert (result.ok, result.code) == (False, 4501)


async def test_lost_verify_is_unknown_never_resent(twin: Twin, fake: FakeIhuyi) -> None:
    fake.lose_responses(MOBILE)
    with pytest.raises(errors.UnknownOutcome):
        await twin.verify(MOBILE)
    assert fake.received[MOBILE] == 1
    assert fake.submits[MOBILE] == 1  # one call placed, never a second


async def test_lost_verify_replayed_exactly_when_the_server_dedupes(make_twin: MakeTwin) -> None:
    fake = FakeIhuyi(dedupe=True)
    twin = make_twin(handler=fake.handle_post, server_dedupes=True)
    fake.lose_responses(MOBILE)
    sent = await twin.verify(MOBILE)
    assert sent.ok
    assert (fake.received[MOBILE], fake.submits[MOBILE]) == (2, 1)
    assert fake.calls[0].voiceid == sent.voiceid


async def test_lost_check_is_never_resent(make_twin: MakeTwin, fake: FakeIhuyi) -> None:
    seen: list[str] = []

    def handler(url: str, form: Mapping[str, str]) -> MemoryReply:
        reply = fake.handle_post(url, form)
        if "Check" in url:
            seen.append(form["code"])
            return MemoryReply(reply.body, dropped=True)
        return reply

    twin = make_twin(handler=handler, server_dedupes=True)
    await twin.verify(MOBILE)
    with pytest.raises(errors.UnknownOutcome):
        await twin.check(MOBILE, fake.spoken_code(MOBILE))
    assert len(seen) == 1  # a repeat would find the code consumed, or spend an attempt
