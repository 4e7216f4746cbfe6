"""SOAP requests that cannot be read as a call get a SOAP Fault a SOAP client can read;
DTDs are refused in every encoding; envelopes in GBK (declared in the prolog) work."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import zeep
import zeep.exceptions
from zeep.plugins import Plugin

from tests.gateway.harness import FIXTURE, VOICE, running, serving
from tests.gateway.test_soap import KEY1, NOW, seeded_settings
from voiceotp.gateway import create_app
from voiceotp.gateway.api import soap
from voiceotp.gateway.settings import Settings
from voiceotp.protocol import Code
from voiceotp.store import Store

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS = "http://106.ihuyi.com/"
SUBMIT = (
    f"<account>V10000001</account><password>{KEY1}</password>"
    "<mobile>13800138000</mobile><content>1125</content>"
)


def envelope(body: str, version: str = SOAP11) -> str:
    return f'<s:Envelope xmlns:s="{version}"><s:Body>{body}</s:Body></s:Envelope>'


def fault_of(content: bytes, version: str) -> str:
    """The fault's reason text; fails unless ``content`` is a Fault of ``version``."""
    root = ET.fromstring(content)
    assert root.tag == f"{{{version}}}Envelope"
    fault = root.find(f"{{{version}}}Body/{{{version}}}Fault")
    assert fault is not None, content
    if version == SOAP11:
        assert fault.findtext("faultcode") == "soap:Client"
        return fault.findtext("faultstring") or ""
    code = fault.findtext(f"{{{version}}}Code/{{{version}}}Value")
    assert code == "soap:Sender"
    return fault.findtext(f"{{{version}}}Reason/{{{version}}}Text") or ""


SOAP11_HEADERS = {"content-type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}Submit"'}
SOAP12_TYPE = {"content-type": f'application/soap+xml; charset=utf-8; action="{NS}Submit"'}
TEXT_XML = {"content-type": "text/xml"}


@pytest.mark.parametrize(
    ("body", "headers", "version", "reason"),
    [
        (envelope(f"<Submit>{SUBMIT}")[:-30], SOAP11_HEADERS, SOAP11, "not well-formed"),
        ("<not xml", TEXT_XML, SOAP11, "not well-formed"),
        (envelope(f'<Sumbit xmlns="{NS}">{SUBMIT}</Sumbit>'), TEXT_XML, SOAP11, "Sumbit"),
        (envelope(""), SOAP11_HEADERS, SOAP11, "empty"),
        (f'<s:Envelope xmlns:s="{SOAP11}"/>', SOAP11_HEADERS, SOAP11, "no Body"),
        (f'<Submit xmlns="{NS}">{SUBMIT}</Submit>', SOAP11_HEADERS, SOAP11, "not a SOAP envelope"),
        ("", SOAP11_HEADERS, SOAP11, "empty"),
        (envelope("<x/>", SOAP12)[:-5], SOAP12_TYPE, SOAP12, "not well-formed"),
        (envelope('<GetBalance xmlns="urn:x"/>', SOAP12), SOAP12_TYPE, SOAP12, "GetBalance"),
        (envelope("", SOAP12), TEXT_XML, SOAP12, "empty"),  # the envelope says 1.2
    ],
)
async def test_unreadable_soap_calls_get_a_fault(
    store: Store,
    settings: Settings,
    body: str,
    headers: dict[str, str],
    version: str,
    reason: str,
) -> None:
    async with running(store, settings, now=NOW) as harness:
        response = await harness.client().post(VOICE, content=body.encode(), headers=headers)
        assert response.status_code == 400
        media = "text/xml" if version == SOAP11 else "application/soap+xml"
        assert response.headers["content-type"] == f"{media}; charset=utf-8"
        assert reason in fault_of(response.content, version)
        assert await store.count_calls() == 0


async def test_a_dtd_is_refused_in_utf16_too(store: Store, settings: Settings) -> None:
    document = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        '<!DOCTYPE x [<!ENTITY acc "V10000001">]>'
        + envelope(f'<Submit xmlns="{NS}">{SUBMIT.replace("V10000001", "&acc;")}</Submit>')
    )
    async with running(store, settings, now=NOW) as harness:
        for headers in (SOAP11_HEADERS, TEXT_XML):
            response = await harness.client().post(
                VOICE, content=document.encode("utf-16"), headers=headers
            )
            assert response.status_code == 400
            assert "DTD" in fault_of(response.content, SOAP11)
        assert await store.count_calls() == 0


async def test_an_oversized_soap_call_gets_a_fault_with_413(
    store: Store, settings: Settings
) -> None:
    async with running(store, settings, now=NOW) as harness:
        big = envelope(f'<Submit xmlns="{NS}">{SUBMIT}</Submit>' + " " * settings.max_body_bytes)
        response = await harness.client().post(VOICE, content=big.encode(), headers=SOAP11_HEADERS)
        assert response.status_code == 413
        assert "larger than" in fault_of(response.content, SOAP11)


async def test_a_gbk_envelope_is_decoded(store: Store, settings: Settings) -> None:
    document = (
        '<?xml version="1.0" encoding="GBK"?><!-- 语音验证码 -->'
        + envelope(f'<Submit xmlns="{NS}">{SUBMIT}</Submit>')
    ).encode("gbk")
    async with running(store, settings, now=NOW) as harness:
        response = await harness.client().post(
            VOICE, content=document, headers={"content-type": "text/xml; charset=GBK"}
        )
        assert response.status_code == 200
        assert re.search(rb"<SubmitResult><code>2</code>", response.content), response.content


@pytest.mark.parametrize("encoding", ["GBK", "gb2312", "GB18030", "Big5", "Shift_JIS", "UTF-16"])
def test_declared_encodings_are_decoded(encoding: str) -> None:
    text = f'<?xml version="1.0" encoding="{encoding}"?>' + envelope(
        f'<GetNum xmlns="{NS}"><account>中文</account><password>p</password></GetNum>'
    )
    call = soap.read_envelope(text.encode(encoding), None)
    assert isinstance(call, soap.Call)
    assert call.request.params["account"] == "中文"


def test_a_plain_xml_body_without_soap_signs_is_not_soap() -> None:
    assert soap.read_envelope(b"<not xml", None) is None
    assert soap.read_envelope(b"<Envelope><Body><Submit/></Body></Envelope>", None) is None


# ---- a real SOAP client -----------------------------------------------------------------
class GbkTransport(zeep.Transport):  # type: ignore[misc]
    """Sends zeep's envelope re-encoded in GBK, as some SOAP stacks in China do."""

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> Any:
        text = re.sub(r"^<\?xml[^>]*\?>", "", message.decode("utf-8"))
        body = ('<?xml version="1.0" encoding="GBK"?><!-- 验证码 -->' + text).encode("gbk")
        return super().post(address, body, {**headers, "Content-Type": "text/xml; charset=GBK"})


class Truncating(zeep.Transport):  # type: ignore[misc]
    def post(self, address: str, message: bytes, headers: dict[str, str]) -> Any:
        return super().post(address, message[:-20], headers)


class RenameOperation(Plugin):  # type: ignore[misc]
    def egress(self, envelope: Any, http_headers: Any, operation: Any, options: Any) -> Any:
        body = envelope.find(f"{{{SOAP11}}}Body")
        body[0].tag = f"{{{NS}}}SubmitLater"
        return envelope, http_headers


def test_zeep_reads_faults_and_sends_gbk(tmp_path: Path, sqlite_template: Path) -> None:
    settings = seeded_settings(tmp_path, sqlite_template)
    app = create_app(settings, clock=lambda: NOW, migrate=False)
    auth = {"account": "V10000001", "password": KEY1}
    with serving(app) as base:
        wsdl = f"{base}{VOICE}?wsdl"
        gbk = zeep.Client(wsdl, transport=GbkTransport())
        ok = gbk.service.Submit(**auth, mobile="13800138000", content="1125")
        assert (ok.code, ok.msg) == (Code.OK, "提交成功")
        renamed = zeep.Client(wsdl, plugins=[RenameOperation()])
        with pytest.raises(zeep.exceptions.Fault, match="SubmitLater"):
            renamed.service.Submit(**auth, mobile="13800138001", content="1125")
        truncated = zeep.Client(wsdl, transport=Truncating())
        with pytest.raises(zeep.exceptions.Fault, match="not well-formed"):
            truncated.service.GetNum(**auth)
        balance = zeep.Client(wsdl).service.GetNum(**auth)
        assert balance.num == FIXTURE["accounts"][0]["balance"] - 1
