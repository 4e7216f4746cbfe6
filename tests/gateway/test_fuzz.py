"""Fuzz: thousands of hostile requests through the app in-process.

Always HTTP 200 with a valid ihuyi document (or 413 for an oversized body), or for a SOAP
request that is no readable call a SOAP Fault (400, or 413) — never a 500 — and the
store's invariants hold afterwards (no partial write: every balance equals its
ledger, every call has exactly one hold).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.gateway.harness import FIXTURE, VOICE, Harness, running
from voiceotp.gateway.settings import Settings
from voiceotp.protocol import dynamic_password, parse_result
from voiceotp.store import make_store

NOW = int(FIXTURE["now"])
MAX_BODY = 4096
KEY1 = "0123456789abcdef0123456789abcdef"
NAMES = ["method", "format", "account", "password", "mobile", "content", "time", "voiceid"]
_SOAP_RESULT = re.compile(rb"<(SubmitResult|GetNumResult)>.*</\1>", re.S)
_SOAP_FAULT = re.compile(rb"<soap:Fault>.*<code>0</code>.*</soap:Fault>", re.S)

mobiles = st.one_of(
    st.from_regex(r"\A1[3-9][0-9]{9}\Z"), st.text(max_size=14), st.just("13900000000")
)
contents = st.one_of(st.from_regex(r"\A[0-9]{4,6}\Z"), st.text(max_size=8), st.just("110119"))
values = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["9" * 5000, "0" * 300 + str(NOW), "1" * 19, str(2**63)]),  # int() edges
)


@st.composite
def params(draw: st.DrawFn, hostile: bool) -> list[tuple[str, str]]:
    """Valid Submit/GetNum/Query parameters, mutated when ``hostile``."""
    fields: dict[str, str] = {
        "method": draw(st.sampled_from(["Submit", "Submit", "GetNum", "Query", "submit", "Nope"])),
        "account": draw(st.sampled_from(["V10000001", "V10000001", "V10000004", "V10000006"])),
        "password": KEY1,
        "mobile": draw(st.from_regex(r"\A1[3-9][0-9]{9}\Z")),
        "content": draw(st.from_regex(r"\A[0-9]{4,6}\Z")),
    }
    if draw(st.booleans()):
        fields["time"] = str(NOW + draw(st.integers(-400, 400)))
        fields["password"] = dynamic_password(
            fields["account"],
            KEY1,
            fields["time"],
            mobile=fields["mobile"],
            content=fields["content"],
        )
    if draw(st.booleans()):
        fields["format"] = draw(st.sampled_from(["json", "JSON", "xml", "yaml"]))
    if hostile:
        fields["mobile"] = draw(st.one_of(st.just(fields["mobile"]), mobiles))
        fields["content"] = draw(st.one_of(st.just(fields["content"]), contents))
        for name in draw(st.lists(st.sampled_from(NAMES), max_size=3)):
            fields[name] = draw(values)  # mutate
        for name in draw(st.lists(st.sampled_from(NAMES), max_size=2)):
            fields.pop(name, None)  # drop
    extra = draw(st.lists(st.tuples(st.text(max_size=10), values), max_size=3 if hostile else 0))
    return [*fields.items(), *extra]


CONTENT_TYPES = [
    None,
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=gbk",
    "multipart/form-data",
    "multipart/form-data; boundary=xyz",
    "text/xml",
    "application/soap+xml",
    "application/json",
    "text/plain",
]


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    hostile = draw(st.sampled_from([True, False, False]))  # two in three requests are valid
    pairs = draw(params(hostile))
    split = draw(st.integers(0, len(pairs)))
    query, form = pairs[:split], pairs[split:]
    if hostile:
        content_type = draw(st.sampled_from(CONTENT_TYPES))
        body_kind = draw(st.sampled_from(["form", "raw", "soap", "oversized", "none"]))
    else:
        content_type, body_kind = "application/x-www-form-urlencoded", "form"
    if body_kind == "form":
        body = httpx2.QueryParams(form).__str__().encode()
    elif body_kind == "raw":
        body = draw(st.binary(max_size=300))
    elif body_kind == "soap":
        inner = "".join(f"<{k}>{v}</{k}>" for k, v in form if k.isalpha())
        body = (
            '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
            f'<Submit xmlns="http://106.ihuyi.com/">{inner}</Submit></s:Body></s:Envelope>'
        ).encode("utf-8", "surrogatepass")
    elif body_kind == "oversized":
        body = b"account=" + b"9" * (MAX_BODY + draw(st.integers(1, 3000)))
    else:
        body = b""
    headers = {}
    if content_type:
        headers["content-type"] = content_type
    if hostile and draw(st.booleans()):
        headers["idempotency-key"] = draw(st.text(alphabet="abc", max_size=3))
    if hostile and draw(st.booleans()):
        headers["x-forwarded-for"] = draw(st.sampled_from(["10.1.2.3", "garbage", "::1, 1.2.3.4"]))
    return {
        "http": draw(st.sampled_from(["GET", "POST"])) if hostile else "POST",
        "query": query,
        "body": body,
        "headers": headers,
        "oversized": len(body) > MAX_BODY,
        "ip": draw(st.sampled_from(["127.0.0.1", "10.1.2.3", "192.0.2.66", "::1"]))
        if hostile
        else "127.0.0.1",
    }


async def send_and_check(harness: Harness, request: dict[str, Any]) -> None:
    response = await harness.client(request["ip"]).request(
        request["http"],
        VOICE,
        params=request["query"],
        content=request["body"],
        headers=request["headers"],
    )
    wsdl = request["http"] == "GET" and any(k.lower() == "wsdl" for k, _ in request["query"])
    if wsdl:
        assert response.status_code == 200
        return
    content = response.content
    envelope = b"Envelope" in content[:200]
    if envelope and _SOAP_FAULT.search(content):  # a fault's detail says code 0
        assert response.status_code == (413 if request["oversized"] else 400)
        return
    assert response.status_code == (413 if request["oversized"] else 200), response.text
    soap = _SOAP_RESULT.search(content) if envelope else None
    result = parse_result(soap.group(0) if soap else content)
    assert isinstance(result.code, int)


def run_fuzz(settings: Settings, examples: int) -> None:
    # NORMAL: the fuzz checks answers and invariants, not power-loss durability.
    fuzz_settings = dataclasses.replace(
        settings, max_body_bytes=MAX_BODY, sqlite_synchronous="NORMAL"
    )
    store = make_store(fuzz_settings)
    loop = asyncio.new_event_loop()
    context = running(store, fuzz_settings, now=NOW)
    harness = loop.run_until_complete(context.__aenter__())
    try:

        @hsettings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,  # the same thousands of requests on every run
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(request=requests())
        def one(request: dict[str, Any]) -> None:
            loop.run_until_complete(send_and_check(harness, request))

        one()
        assert loop.run_until_complete(store.consistency_problems()) == []
        assert loop.run_until_complete(store.count_calls()) > 0  # writes were exercised
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()


@pytest.mark.slow
@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_fuzz_sqlite(settings: Settings) -> None:
    run_fuzz(settings, examples=1500)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_fuzz_postgres(settings: Settings) -> None:
    run_fuzz(settings, examples=600)
