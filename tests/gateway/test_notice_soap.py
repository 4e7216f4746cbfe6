"""The notification product's own WSDL (``/vm/webservice/voice.php?wsdl``): its service
name and address, and zeep sending notices from that WSDL alone."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import httpx2
import zeep

from tests.gateway.harness import FIXTURE, VOICE, serving
from tests.gateway.notifykit import FILLED, NOTICE, PARCEL
from tests.gateway.test_soap import KEY1, seeded_settings
from voiceotp.gateway import create_app
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.templates import Templates
from voiceotp.protocol import Code
from voiceotp.store import make_store

NOW = float(FIXTURE["now"])
ACCOUNT = "V10000001"


def approve(settings: Settings, text: str) -> int:
    async def file() -> int:
        store = make_store(settings)
        await store.open()
        try:
            account = await store.get_account(ACCOUNT)
            assert account is not None
            templates = Templates(store, time.time)
            filed = await templates.file(account.id, text, by="test")
            await templates.decide(filed.id, approve=True, by="test")
            return filed.id
        finally:
            await store.close()

    return asyncio.run(file())


def test_zeep_sends_a_notice_from_the_notice_wsdl(tmp_path: Path, sqlite_template: Path) -> None:
    settings = seeded_settings(tmp_path, sqlite_template)
    template_id = approve(settings, PARCEL)
    app = create_app(settings, clock=lambda: NOW, migrate=False)
    with serving(app) as base:
        client = zeep.Client(f"{base}{NOTICE}?wsdl")
        (service,) = client.wsdl.services.values()
        assert service.name == "voiceNotice"
        (port,) = service.ports.values()
        assert port.binding_options["address"] == f"{base}{NOTICE}"
        sent = client.service.Submit(
            account=ACCOUNT, password=KEY1, mobile="02151290000", content=FILLED
        )
        assert (sent.code, sent.msg) == (Code.OK, "提交成功")
        by_values = client.service.Submit(
            account=ACCOUNT,
            password=KEY1,
            mobile="13800138000",
            content="SF9|东站|4321",
            templateid=str(template_id),
        )
        assert by_values.code == Code.OK
        wrong = client.service.Submit(
            account=ACCOUNT, password=KEY1, mobile="13900139000", content="您好"
        )
        assert wrong.code == Code.TEMPLATE_MISMATCH
        assert wrong.voiceid == "0"
        balance = client.service.GetNum(account=ACCOUNT, password=KEY1)
        assert balance.code == Code.OK
        code_wsdl = httpx2.get(f"{base}{VOICE}?wsdl").text
    assert '<wsdl:service name="voice">' in code_wsdl  # the code product keeps its own
    assert "templateid" not in code_wsdl
    database = settings.effective_database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:
        calls = conn.execute(
            "SELECT voiceid, mobile, kind, notice_text FROM calls ORDER BY voiceid"
        ).fetchall()
    assert [(str(v), m, k, t) for v, m, k, t in calls] == [
        (sent.voiceid, "02151290000", "notice", FILLED),
        (by_values.voiceid, "13800138000", "notice", "您的快递SF9已到达东站,请凭取件码4321取件。"),
    ]
