"""The voice-notification endpoint (docs/notices.md): ihuyi's api.vm.ihuyi.com product on
/vm/webservice/voice.php and on /webservice/voice.php of a mapped host, on both stores."""

from __future__ import annotations

import dataclasses
from unittest.mock import patch

import pytest

from tests.gateway.harness import running
from tests.gateway.notifykit import (
    ACCOUNT,
    APIKEY,
    FILLED,
    NOTICE,
    NOW,
    approved,
    call,
    notify,
)
from voiceotp import errors
from voiceotp.client import AsyncClient
from voiceotp.client.transports.asgi import ASGITransport
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.submit.notifyconf import NotifySettings
from voiceotp.protocol import Method, dynamic_password, parse_result
from voiceotp.store import Store

# A time of day outside the default quiet hours: NOW is 2023-11-14 22:13 UTC = 06:13 in
# Shanghai (quiet); these tests are about the endpoint, so quiet hours are off.
AWAKE = {"quiet_hours": ""}


def quiet_off(settings: Settings) -> Settings:
    return dataclasses.replace(settings, notify=NotifySettings(**AWAKE))


async def test_no_template_is_4071_and_a_matching_notice_is_accepted(
    store: Store, settings: Settings
) -> None:
    async with running(store, quiet_off(settings), now=NOW) as harness:
        refused = await notify(harness)
        assert (refused.code, refused.msg) == (4071, "没有提交备案模板")
        template_id = await approved(harness)
        sent = await notify(harness)
        assert sent.code == 2, sent.msg
        stored = await harness.store.get_call(sent.voiceid)
        assert stored is not None
        assert (stored.kind, stored.notice_text, stored.template_id) == (
            "notice",
            FILLED,
            template_id,
        )
        assert stored.deadline == NOW + 86_400  # notify.validity_s, not a code's 300 s
        query = await call(harness, "Query", voiceid=sent.voiceid)
        assert parse_result(query.content, Method.QUERY).status == "QUEUED"
        balance = parse_result((await call(harness, "GetNum")).content, Method.GETNUM)
        assert balance.num == 99


async def test_mismatch_names_the_template_and_variable(store: Store, settings: Settings) -> None:
    async with running(store, quiet_off(settings), now=NOW) as harness:
        template_id = await approved(harness)
        wrong = await notify(harness, content="您的快递SF123已到站人民路,请取件。")
        assert wrong.code == 4072
        assert wrong.msg == (
            "提交的语音内容必须与报备过的模板格式相匹配"
            f"(模板{template_id}:变量{{变量1}}之后应为「已到达」)"
        )
        too_long = await notify(harness, content=FILLED.replace("SF123", "SF1234567890"))
        assert (too_long.code, too_long.msg) == (40722, "变量内容超过指定的长度【8】")
        station = FILLED.replace("人民路站", "人民路" * 5)  # 15 > station's own 12
        assert (await notify(harness, content=station)).msg == "变量内容超过指定的长度【12】"
        assert await harness.store.count_calls() == 0


async def test_landlines_length_and_sensitive_words(store: Store, settings: Settings) -> None:
    async with running(store, quiet_off(settings), now=NOW) as harness:
        await approved(harness)
        assert (await notify(harness, mobile="02151290000")).code == 2
        assert (await notify(harness, mobile="0215129000")).code == 406
        code_path = await call(
            harness, path="/webservice/voice.php", mobile="02151290000", content="1234"
        )
        assert parse_result(code_path.content, Method.SUBMIT).code == 406  # codes: mobiles
        await approved(harness, "{text:180}。")
        long = await notify(harness, mobile="13800138001", content="长" * 180 + "。")
        assert long.code == 4073
        sensitive = await notify(
            harness, mobile="13800138001", content=FILLED.replace("SF123", "110119")
        )
        assert sensitive.code == 407  # the word is in a variable: the filled text is checked


async def test_templateid_mode_and_dynamic_password(store: Store, settings: Settings) -> None:
    async with running(store, quiet_off(settings), now=NOW) as harness:
        template_id = await approved(harness)
        values = "SF123|人民路站|8812"
        sent = await notify(harness, content=values, templateid=str(template_id))
        assert sent.code == 2
        stored = await harness.store.get_call(sent.voiceid)
        assert stored is not None
        assert stored.notice_text == FILLED
        missing = await notify(harness, content="SF123|人民路站", templateid=str(template_id))
        assert missing.code == 4072
        unknown = await notify(harness, content=values, templateid="999")
        assert unknown.code == 4071
        t = str(int(NOW))
        password = dynamic_password(ACCOUNT, APIKEY, t, mobile="13800138001", content=FILLED)
        signed = await notify(harness, mobile="13800138001", password=password, time=t)
        assert signed.code == 2


async def test_daily_limit_is_4082(store: Store, settings: Settings) -> None:
    async with running(store, quiet_off(settings), now=NOW) as harness:
        await approved(harness)
        await harness.store.update_account(ACCOUNT, cap_minute=0, cap_hour=0, cap_day=2)
        await harness.gateway.directory.load()
        codes = [(await notify(harness)).code for _ in range(3)]
        assert codes == [2, 2, 4082]


async def test_a_mapped_host_serves_notices_on_the_ihuyi_path(
    store: Store, settings: Settings
) -> None:
    mapped = dataclasses.replace(
        settings, notify=NotifySettings(hosts=("api.vm.example.com",), **AWAKE)
    )
    async with running(store, mapped, now=NOW) as harness:
        await approved(harness)
        path = "/webservice/voice.php"
        notice = await call(
            harness, path=path, headers={"Host": "API.vm.example.com:8080"}, mobile="13800138000",
            content=FILLED,
        )  # fmt: skip
        assert parse_result(notice.content, Method.SUBMIT).code == 2
        other = await call(harness, path=path, mobile="13800138001", content=FILLED)
        assert parse_result(other.content, Method.SUBMIT).code == 4070  # the code product
        verify = await call(harness, "Verify", path=NOTICE, mobile="13800138002")
        assert parse_result(verify.content, Method.VERIFY).code == 0  # codes' method only


async def test_the_client_notifies_through_the_gateway(store: Store, settings: Settings) -> None:
    """AsyncClient.notify round-trip through the app: the notification URL is derived
    from the code product's, dynamic passwords sign the content as sent."""
    async with running(store, quiet_off(settings), now=NOW) as harness:
        template_id = await approved(harness)
        client = AsyncClient(
            ACCOUNT,
            APIKEY,
            base_url="http://gw/webservice/voice.php",
            transport=ASGITransport(harness.app),
        )
        assert client.notify_url == "http://gw" + NOTICE
        with patch("voiceotp.client.base._time.time", return_value=NOW):
            sent = await client.notify("021-5129 0000", FILLED)
            by_id = await client.notify("13800138001", "SF9|人民路站|1234", template_id=template_id)
            with pytest.raises(errors.RequestError) as refused:
                await client.notify("13800138002", "您好")
        await client.aclose()
        stored = await harness.store.get_call(sent.voiceid)
        assert stored is not None
        assert (stored.mobile, stored.notice_text) == ("02151290000", FILLED)
        assert by_id.code == 2
        assert refused.value.code == 4072
