"""FakeIhuyi's voice notifications behave like the gateway's (the same template code),
reached the ways a client reaches them, and tell a test what was spoken."""

from __future__ import annotations

import pytest

from voiceotp import errors
from voiceotp.client import AsyncClient, Client
from voiceotp.client.transports.asgi import ASGITransport
from voiceotp.protocol import Method, parse_result
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

TEMPLATE = "您的快递【变量】已到达{station:12},请取件。"
TEXT = "您的快递SF123已到达人民路站,请取件。"


@pytest.fixture
def fake() -> FakeIhuyi:
    return FakeIhuyi()


def test_a_notice_fills_an_approved_template(fake: FakeIhuyi) -> None:
    client = Client(DEFAULT_ACCOUNT, DEFAULT_APIKEY, transport=fake.transport())
    with pytest.raises(errors.RequestError) as none:
        client.notify("13800138000", TEXT)
    assert none.value.code == 4071
    template_id = fake.add_template(TEMPLATE)
    sent = client.notify("+86 21 5129 0000", TEXT)
    assert fake.spoken_notice("02151290000") == TEXT
    assert fake.spoken_notice(voiceid=sent.voiceid) == TEXT
    by_id = client.notify("13800138000", "SF9|站", template_id=template_id)
    assert fake.spoken_notice(voiceid=by_id.voiceid) == "您的快递SF9已到达站,请取件。"
    with pytest.raises(errors.RequestError) as mismatch:
        client.notify("13800138000", "您的快递SF123到了")
    assert mismatch.value.code == 4072
    assert "模板1:变量{变量1}之后应为「已到达」" in mismatch.value.msg
    with pytest.raises(errors.RequestError) as too_long:
        client.notify("13800138000", TEXT.replace("SF123", "SF123456789"))
    assert (too_long.value.code, too_long.value.msg) == (40722, "变量内容超过指定的长度【8】")
    with pytest.raises(errors.InvalidMobile):
        client.notify("12345", TEXT)  # refused locally: neither a mobile nor a landline
    assert fake.balance_of() == 98


def test_codes_and_notices_stay_apart(fake: FakeIhuyi) -> None:
    fake.add_template(TEMPLATE)
    client = Client(DEFAULT_ACCOUNT, DEFAULT_APIKEY, transport=fake.transport())
    form = {"account": DEFAULT_ACCOUNT, "password": DEFAULT_APIKEY, "mobile": "13800138000"}
    code_url = "http://gw/webservice/voice.php?method=Submit"
    reply = fake.handle_post(code_url, {**form, "content": TEXT})
    assert parse_result(reply.body, Method.SUBMIT).code == 4070  # codes are 4-6 digits
    assert client.send("13800138000", "1234").ok
    with pytest.raises(KeyError):
        fake.spoken_notice("13800138000")


async def test_the_async_client_over_asgi_and_an_ihuyi_style_host(fake: FakeIhuyi) -> None:
    fake.add_template(TEMPLATE)
    client = AsyncClient(
        DEFAULT_ACCOUNT,
        DEFAULT_APIKEY,
        base_url="http://api.ihuyi.com/webservice/voice.php",
        transport=ASGITransport(fake.asgi_app()),
    )
    assert client.notify_url == "http://api.vm.ihuyi.com/webservice/voice.php"
    sent = await client.notify("13800138000", TEXT)
    await client.aclose()
    assert fake.spoken_notice(voiceid=sent.voiceid) == TEXT
