"""FakeIhuyi behaves like the ihuyi endpoint: auth, validation, scripting, dedupe, HTTP."""

from __future__ import annotations

import contextlib
import urllib.request
from urllib.parse import urlencode

import aiohttp
import pytest

from voiceotp.client import Client, RetryPolicy
from voiceotp.errors import ConnectError
from voiceotp.protocol import (
    GetNumResult,
    Method,
    QueryResult,
    SubmitResult,
    dynamic_password,
    parse_result,
)
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

NEVER = RetryPolicy.never()

MOBILE = "13800138000"
NOW = 1_700_000_000


@pytest.fixture
def fake() -> FakeIhuyi:
    return FakeIhuyi(clock=lambda: float(NOW))


def submit_form(
    mobile: str = MOBILE, content: str = "1234", t: int = NOW, **over: str
) -> dict[str, str]:
    form = {
        "account": DEFAULT_ACCOUNT,
        "password": dynamic_password(
            DEFAULT_ACCOUNT, DEFAULT_APIKEY, str(t), mobile=mobile, content=content
        ),
        "mobile": mobile,
        "content": content,
        "time": str(t),
    }
    return {**form, **over}


def submit(fake: FakeIhuyi, **form: str) -> SubmitResult:
    result = parse_result(fake.handle([("method", "Submit")], form.items()).body)
    assert isinstance(result, SubmitResult)
    return result


def code_of(fake: FakeIhuyi, t: int = NOW, **over: str) -> int:
    """The code for a valid Submit at time ``t`` with the fields in ``over`` replaced."""
    return submit(fake, **{**submit_form(t=t), **over}).code


def test_accepts_a_dynamic_password(fake: FakeIhuyi) -> None:
    result = submit(fake, **submit_form())
    assert (result.code, result.msg) == (2, "提交成功")
    assert fake.calls[0].voiceid == result.voiceid
    assert (fake.submits[MOBILE], fake.received[MOBILE], fake.balance_of()) == (1, 1, 99)


def test_accepts_the_static_apikey_unless_dynamic_is_required(fake: FakeIhuyi) -> None:
    assert code_of(fake, password=DEFAULT_APIKEY) == 2
    fake.accounts[DEFAULT_ACCOUNT].require_dynamic = True
    assert code_of(fake, password=DEFAULT_APIKEY) == 405


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"account": ""}, 401),
        ({"password": ""}, 402),
        ({"mobile": ""}, 403),
        ({"content": ""}, 404),
        ({"account": "V999"}, 405),
        ({"password": "0" * 32}, 405),
        ({"mobile": "1380013800"}, 405),  # the password was made for another number
    ],
)
def test_refusals_in_validation_order(fake: FakeIhuyi, over: dict[str, str], code: int) -> None:
    assert code_of(fake, **over) == code
    assert fake.submits.total() == 0


def test_expired_dynamic_password(fake: FakeIhuyi) -> None:
    assert code_of(fake, t=NOW - 301) == 40501
    assert code_of(fake, t=NOW - 300) == 2


@pytest.mark.parametrize(
    ("mobile", "content", "code"),
    [
        ("12800138000", "1234", 406),
        ("１３８００１３８０００", "1234", 406),
        (MOBILE, "123", 4070),
        (MOBILE, "一二三四", 4070),
    ],
)
def test_number_and_content_checks(fake: FakeIhuyi, mobile: str, content: str, code: int) -> None:
    assert submit(fake, **submit_form(mobile, content)).code == code


def test_frozen_account_and_balance(fake: FakeIhuyi) -> None:
    fake.accounts[DEFAULT_ACCOUNT].balance = 1
    assert code_of(fake) == 2
    assert code_of(fake, t=NOW + 1) == 4051
    fake.accounts[DEFAULT_ACCOUNT].frozen = True
    assert code_of(fake, t=NOW + 2) == 4050


def test_scripted_codes_come_in_order_then_normal(fake: FakeIhuyi) -> None:
    fake.script(MOBILE, 4090, 4081, 2, 0)
    codes = [code_of(fake, t=NOW + i) for i in range(5)]
    assert codes == [4090, 4081, 2, 0, 2]
    assert fake.received[MOBILE] == 5
    assert fake.submits[MOBILE] == 2


def test_scripted_message_fills_the_limit(fake: FakeIhuyi) -> None:
    fake.script(MOBILE, 4081)
    assert submit(fake, **submit_form()).msg == "同一手机号码一分钟之内发送频率不能超过1条"


def test_lost_response_is_accepted_and_dropped(fake: FakeIhuyi) -> None:
    fake.lose_responses(MOBILE)
    reply = fake.handle([("method", "Submit")], submit_form().items())
    assert reply.dropped
    assert fake.submits[MOBILE] == 1
    assert not fake.handle([("method", "Submit")], submit_form(t=NOW + 1).items()).dropped


def test_dedupe_answers_exact_replays_with_the_original_voiceid() -> None:
    fake = FakeIhuyi(dedupe=True, clock=lambda: float(NOW))
    first, again = submit(fake, **submit_form()), submit(fake, **submit_form())
    assert first == again
    assert fake.submits[MOBILE] == 1
    assert submit(fake, **submit_form(t=NOW + 1)).voiceid != first.voiceid  # a new request
    static = submit_form(password=DEFAULT_APIKEY)
    assert submit(fake, **static).voiceid != submit(fake, **static).voiceid  # no dedupe key
    assert fake.submits[MOBILE] == 4


def test_without_dedupe_a_replay_is_a_second_call(fake: FakeIhuyi) -> None:
    assert submit(fake, **submit_form()).voiceid != submit(fake, **submit_form()).voiceid
    assert fake.submits[MOBILE] == 2


def test_getnum_and_query(fake: FakeIhuyi) -> None:
    voiceid = submit(fake, **submit_form()).voiceid
    auth = {
        "account": DEFAULT_ACCOUNT,
        "password": dynamic_password(DEFAULT_ACCOUNT, DEFAULT_APIKEY, str(NOW)),
        "time": str(NOW),
    }
    balance = parse_result(fake.handle([("method", "GetNum")], auth.items()).body)
    assert balance == GetNumResult(2, "查询成功", 99)
    fake.statuses[voiceid] = "BUSY"
    found = parse_result(
        fake.handle([("method", "Query"), ("voiceid", voiceid)], auth.items()).body
    )
    assert isinstance(found, QueryResult)
    assert (found.code, found.status, found.sip_code) == (2, "BUSY", 486)
    fake.add_account("V2", "k" * 32)
    other = {**auth, "account": "V2", "password": dynamic_password("V2", "k" * 32, str(NOW))}
    hidden = parse_result(
        fake.handle([("method", "Query"), ("voiceid", voiceid)], other.items()).body
    )
    assert hidden.code == 4100  # another account's voiceid does not exist for you


def test_json_and_namespace_rendering() -> None:
    fake = FakeIhuyi(namespace="http://106.ihuyi.com/", clock=lambda: float(NOW))
    xml = fake.handle([("method", "Submit")], submit_form().items()).body
    assert b'<SubmitResult xmlns="http://106.ihuyi.com/">' in xml
    body = fake.handle(
        [("method", "Submit"), ("format", "JSON")], submit_form(t=NOW + 1).items()
    ).body
    assert body == '{"code":2,"msg":"提交成功","voiceid":"60495655"}'.encode()


# ---- over HTTP, as a program in any language would use it ----------------------------


def test_served_over_http_with_a_plain_query_string(fake: FakeIhuyi) -> None:
    fake.clock = lambda: float(NOW)
    with fake.serve() as server:
        query = urlencode({"method": "Submit", **submit_form(), "format": "json"})
        with urllib.request.urlopen(f"{server.url}?{query}", timeout=5) as response:
            assert response.headers["Content-Type"] == "application/json; charset=utf-8"
            assert parse_result(response.read()).code == 2
        form = urlencode(submit_form(content="一二三四")).encode()  # non-ASCII form body
        request = urllib.request.Request(f"{server.url}?method=Submit", data=form)
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
            assert parse_result(response.read()).code == 4070


async def test_served_on_the_running_loop_with_multipart_and_ignored_bodies(
    fake: FakeIhuyi,
) -> None:
    async with fake.serve() as server, aiohttp.ClientSession() as session:
        data = aiohttp.FormData(submit_form())
        data.add_field("x", b"force-multipart", filename="x.txt")
        async with session.post(f"{server.url}?method=Submit", data=data) as response:
            assert parse_result(await response.read()).code == 2
        json_body = {"json": submit_form()}  # a JSON body is ignored, like the real service
        async with session.post(f"{server.url}?method=Submit", **json_body) as response:
            assert parse_result(await response.read()).code == 401


@pytest.mark.timeout(20)  # without the shutdown limit, leaving would wait out the 60 s
def test_server_stops_despite_a_long_latency() -> None:
    fake = FakeIhuyi(latency=60.0)
    with fake.serve() as server, contextlib.suppress(OSError):
        urllib.request.urlopen(f"{server.url}?method=GetNum", timeout=0.2)
    assert fake.requests == 1


def test_the_request_log_is_every_request_that_reached_the_fake() -> None:
    fake = FakeIhuyi()
    client = Client(DEFAULT_ACCOUNT, DEFAULT_APIKEY, transport=fake.transport(), retry=NEVER)
    fake.refuse_connections(1)
    with contextlib.suppress(ConnectError):
        client.balance()  # refused before it was sent: not logged
    client.send("13800138000", "1125")
    client.balance()
    assert fake.requests == len(fake.request_log) == 2
    submit, getnum = fake.request_log
    assert (submit.method, submit.get("mobile"), submit.get("content")) == (
        Method.SUBMIT,
        "13800138000",
        "1125",
    )
    assert getnum.method is Method.GETNUM


def test_server_start_failure_is_raised() -> None:
    with FakeIhuyi().serve() as first, pytest.raises(OSError), FakeIhuyi().serve(port=first.port):
        pass
