"""Client and AsyncClient through the in-memory transport: results, errors, inputs."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from tests.client.conftest import MakeTwin, Twin
from voiceotp import errors
from voiceotp.client import SendReport
from voiceotp.client.transports.memory import MemoryReply
from voiceotp.protocol import Code, Format, GetNumResult, SubmitResult, dynamic_password
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

MOBILE = "13800138000"


async def test_send_returns_the_submit_result(twin: Twin, fake: FakeIhuyi) -> None:
    result = await twin.send(MOBILE, "1234")
    assert result == SubmitResult(2, "提交成功", fake.calls[0].voiceid)
    assert fake.submits[MOBILE] == 1


@pytest.mark.parametrize(
    "typed",
    [
        "+86 138-0013-8000",
        "0086 13800138000",
        "8613800138000",
        " 138 0013 8000 ",
        "１３８００１３８０００",
    ],
)
async def test_numbers_are_normalised_before_sending(
    twin: Twin, fake: FakeIhuyi, typed: str
) -> None:
    report = await twin.submit(typed, "1234")
    assert report.ok
    assert report.mobile == MOBILE
    assert fake.calls[0].mobile == MOBILE


@pytest.mark.parametrize("mobile", ["", "12345", "23800138000", "138001380001", "+1 415 555 0100"])
async def test_invalid_numbers_are_refused_locally(
    twin: Twin, fake: FakeIhuyi, mobile: str
) -> None:
    report = await twin.submit(mobile, "1234")
    assert isinstance(report.error, errors.InvalidMobile)
    assert (report.mobile, report.result, report.attempts, report.time) == (mobile, None, 0, None)
    with pytest.raises(errors.InvalidMobile):
        await twin.send(mobile, "1234")
    assert fake.requests == 0


@pytest.mark.parametrize("code", ["", "123", "1234567", "12a4", "１２３４", "12 34", "٣٤٥٦"])
async def test_invalid_codes_are_refused_locally(twin: Twin, fake: FakeIhuyi, code: str) -> None:
    report = await twin.submit(MOBILE, code)
    assert isinstance(report.error, errors.InvalidCode)
    with pytest.raises(errors.InvalidCode):
        await twin.send(MOBILE, code)
    assert fake.requests == 0


# One code per class, and the exception each maps to (the mapping is errors.error_for_code).
CLASSES = [
    (Code.FAILED, errors.TransientError),
    (Code.RATE_LIMITED, errors.TransientError),
    (Code.IP_DENIED, errors.IPNotAllowed),
    (Code.IP_NOT_ALLOWED, errors.IPNotAllowed),
    (Code.AUTH_FAILED, errors.AuthError),
    (Code.PASSWORD_EXPIRED, errors.AuthError),
    (Code.ACCOUNT_FROZEN, errors.AccountFrozen),
    (Code.ABUSE_FROZEN, errors.AccountFrozen),
    (Code.BALANCE_LOW, errors.InsufficientBalance),
    (Code.MOBILE_BLACKLISTED, errors.NumberError),
    (Code.MOBILE_INVALID, errors.NumberError),
    (Code.NUMBER_MINUTE_CAP, errors.NumberError),
    (Code.CONTENT_SENSITIVE, errors.RequestError),
    (Code.CONTENT_INVALID, errors.RequestError),
    (9999, errors.RequestError),
]


@pytest.mark.parametrize(("code", "exc"), CLASSES)
async def test_every_code_class_raises_its_exception(
    make_twin: MakeTwin, fake: FakeIhuyi, code: int, exc: type[errors.APIError]
) -> None:
    fake.script(MOBILE, code, code, code)  # transient codes are retried: script all 3 attempts
    with pytest.raises(exc) as caught:
        await make_twin().send(MOBILE, "1234")
    assert caught.value.code == code
    assert caught.value.voiceid is None


@pytest.mark.parametrize(("code", "exc"), CLASSES)
async def test_submit_reports_every_code_without_raising(
    make_twin: MakeTwin, fake: FakeIhuyi, code: int, exc: type[errors.APIError]
) -> None:
    fake.script(MOBILE, code, code, code)
    report = await make_twin().submit(MOBILE, "1234")
    assert isinstance(report, SendReport)
    assert isinstance(report.error, exc)
    assert report.result is not None
    assert report.result.code == code
    assert not report.ok
    assert not report.outcome_unknown
    assert report.voiceid is None
    assert report.attempts == (3 if code in (0, 4090) else 1)


async def test_non_raising_mode_returns_the_result(make_twin: MakeTwin, fake: FakeIhuyi) -> None:
    twin = make_twin(raise_on_error=False)
    fake.script(MOBILE, 4030)
    assert await twin.send(MOBILE, "1234") == SubmitResult(4030, "手机号码已被列入黑名单", "0")
    fake.accounts[DEFAULT_ACCOUNT].frozen = True
    assert (await twin.get_num()).code == 4050
    with pytest.raises(errors.AccountFrozen):
        await twin.balance()  # balance() has no result to return: it always raises


async def test_dynamic_password_by_default_the_apikey_never_travels(
    make_twin: MakeTwin, fake: FakeIhuyi
) -> None:
    seen: list[Mapping[str, str]] = []

    def record(url: str, form: Mapping[str, str]) -> MemoryReply:
        seen.append(form)
        return fake.handle_post(url, form)

    twin = make_twin(handler=record)
    report = await twin.submit(MOBILE, "1234", time=1_700_000_000)
    await twin.get_num()
    assert report.time == "1700000000"
    expected = dynamic_password(
        DEFAULT_ACCOUNT, DEFAULT_APIKEY, "1700000000", mobile=MOBILE, content="1234"
    )
    assert seen[0] == {
        "account": DEFAULT_ACCOUNT,
        "password": expected,
        "mobile": MOBILE,
        "content": "1234",
        "time": "1700000000",
    }
    assert all(DEFAULT_APIKEY not in form.values() for form in seen)


async def test_time_defaults_to_now(twin: Twin, fake: FakeIhuyi) -> None:
    import time

    before = int(time.time())
    report = await twin.submit(MOBILE, "1234")
    assert report.time is not None
    assert before <= int(report.time) <= int(time.time())
    assert fake.calls[0].time == report.time


async def test_static_password_mode_sends_the_apikey(make_twin: MakeTwin, fake: FakeIhuyi) -> None:
    report = await make_twin(dynamic_password=False).submit(MOBILE, "1234")
    assert report.ok
    assert report.time is None
    assert fake.calls[0].time is None


async def test_json_format(make_twin: MakeTwin, fake: FakeIhuyi) -> None:
    bodies: list[bytes] = []

    def record(url: str, form: Mapping[str, str]) -> MemoryReply:
        reply = fake.handle_post(url, form)
        bodies.append(reply.body)
        return reply

    twin = make_twin(handler=record, format=Format.JSON)
    result = await twin.send(MOBILE, "1234")
    assert bodies[0] == f'{{"code":2,"msg":"提交成功","voiceid":"{result.voiceid}"}}'.encode()
    assert await twin.balance() == 99


async def test_balance_and_get_num(twin: Twin, fake: FakeIhuyi) -> None:
    assert await twin.balance() == 100
    await twin.send(MOBILE, "1234")
    assert await twin.get_num() == GetNumResult(2, "查询成功", 99)


async def test_query_a_call(twin: Twin, fake: FakeIhuyi) -> None:
    result = await twin.send(MOBILE, "1234")
    status = await twin.query(result.voiceid)
    assert (status.code, status.voiceid, status.status, status.sip_code) == (
        2,
        result.voiceid,
        "ANSWERED",
        200,
    )
    with pytest.raises(errors.RequestError) as caught:
        await twin.query("1")
    assert caught.value.code == 4100


async def test_wrong_apikey_is_an_auth_error(make_twin: MakeTwin, fake: FakeIhuyi) -> None:
    fake.accounts[DEFAULT_ACCOUNT].apikey = "f" * 32
    twin = make_twin()
    with pytest.raises(errors.AuthError):
        await twin.send(MOBILE, "1234")
    with pytest.raises(errors.AuthError):
        await twin.balance()


async def test_http_options_need_the_default_transport(make_twin: MakeTwin) -> None:
    with pytest.raises(TypeError):
        make_twin(limit=5)
