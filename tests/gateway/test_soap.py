"""SOAP: the WSDL, zeep calling Submit and GetNum from the WSDL alone, raw envelopes."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from pathlib import Path

import httpx2
import pytest
import zeep

from tests.gateway.harness import FIXTURE, VOICE, fixture_settings, running, seed_fixture, serving
from voiceotp.gateway import create_app
from voiceotp.gateway.settings import Settings
from voiceotp.protocol import Code
from voiceotp.store import Store, make_store

NOW = float(FIXTURE["now"])
KEY1 = "0123456789abcdef0123456789abcdef"


def seeded_settings(tmp_path: Path, template: Path) -> Settings:
    shutil.copy(template, tmp_path / "soap.db")
    settings = fixture_settings(tmp_path, database_url=f"sqlite:///{tmp_path / 'soap.db'}")

    async def seed() -> None:
        store = make_store(settings)
        await store.open()
        await seed_fixture(store, settings, FIXTURE)
        await store.close()

    asyncio.run(seed())
    return settings


def test_zeep_calls_submit_and_getnum_from_the_wsdl(tmp_path: Path, sqlite_template: Path) -> None:
    settings = seeded_settings(tmp_path, sqlite_template)
    app = create_app(settings, clock=lambda: NOW, migrate=False)
    with serving(app) as base:
        client = zeep.Client(f"{base}{VOICE}?WSDL")
        ok = client.service.Submit(
            account="V10000001", password=KEY1, mobile="13800138000", content="1125"
        )
        assert ok.code == Code.OK
        assert ok.msg == "提交成功"
        assert ok.voiceid.isdigit()
        assert ok.voiceid != "0"
        capped = client.service.Submit(
            account="V10000001", password=KEY1, mobile="13800138000", content="2222"
        )
        assert capped.code == Code.NUMBER_MINUTE_CAP
        bad = client.service.Submit(account="V10000001", password="x" * 32, mobile="1", content="1")
        assert (bad.code, bad.voiceid) == (Code.AUTH_FAILED, "0")
        balance = client.service.GetNum(account="V10000001", password=KEY1)
        assert (balance.code, balance.msg, balance.num) == (2, "查询成功", 99)
        frozen = client.service.GetNum(account="V10000002", password="1" * 32)
        assert frozen.code == Code.ACCOUNT_FROZEN


async def test_wsdl_names_the_configured_namespace(store: Store, settings: Settings) -> None:
    settings = dataclasses.replace(settings, soap_namespace="urn:example:voice/")
    async with running(store, settings, now=NOW) as harness:
        for spelling in ("wsdl", "WSDL", "Wsdl"):
            response = await harness.client().get(VOICE, params={spelling: ""})
            assert response.status_code == 200
            assert b'targetNamespace="urn:example:voice/"' in response.content
            assert b'soapAction="urn:example:voice/Submit"' in response.content
            assert b'<wsdl:service name="voice">' in response.content


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<not xml", 401),
        (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", 401),
        (b"<Envelope><Body><Submit/></Body></Envelope>", 401),  # no SOAP namespace
    ],
)
async def test_broken_envelopes_are_plain_requests(
    store: Store, settings: Settings, body: bytes, expected: int
) -> None:
    async with running(store, settings, now=NOW) as harness:
        response = await harness.client().post(
            VOICE, params={"method": "Submit"}, content=body, headers={"content-type": "text/xml"}
        )
        assert response.status_code == 200
        assert f"<code>{expected}</code>".encode() in response.content


async def test_soap12_envelope(store: Store, settings: Settings) -> None:
    envelope = (
        '<?xml version="1.0"?><e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope">'
        '<e:Body><GetNum xmlns="http://106.ihuyi.com/"><account>V10000001</account>'
        f"<password>{KEY1}</password></GetNum></e:Body></e:Envelope>"
    ).encode()
    async with running(store, settings, now=NOW) as harness:
        response: httpx2.Response = await harness.client().post(
            VOICE, content=envelope, headers={"content-type": "application/soap+xml; charset=utf-8"}
        )
        assert response.headers["content-type"].startswith("application/soap+xml")
        assert (
            b"<GetNumResult><code>2</code><msg>\xe6\x9f\xa5\xe8\xaf\xa2\xe6\x88\x90\xe5\x8a\x9f</msg><num>100</num>"
            in response.content
        )
