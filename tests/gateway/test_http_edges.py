"""HTTP edges of the ihuyi path: repeated headers, methods other than GET/POST, and the
WSDL's service address (never taken from the client's Host)."""

from __future__ import annotations

import dataclasses
import ipaddress
import re

import httpx2
import pytest

from tests.gateway.harness import FIXTURE, VOICE, running
from voiceotp.gateway.api.voice import wanted_headers
from voiceotp.gateway.settings import Settings, SettingsError
from voiceotp.protocol import Code, GetNumResult, Method, parse_result
from voiceotp.store import Store

NOW = float(FIXTURE["now"])
# V10000004 may call only from 10.1.2.3 (the fixture's allow-list).
ALLOWED = {"method": "GetNum", "account": "V10000004", "password": "3" * 32}
LOCATION = re.compile(rb'<soap:address location="([^"]*)"')


def test_repeated_header_lines_are_one_comma_joined_list_in_order() -> None:
    scope = {
        "headers": [
            (b"x-forwarded-for", b"203.0.113.7"),
            (b"host", b"gw"),
            (b"x-forwarded-for", b"198.51.100.9"),
            (b"idempotency-key", b"a"),
        ]
    }
    headers = wanted_headers(scope)
    assert headers[b"x-forwarded-for"] == "203.0.113.7, 198.51.100.9"
    assert headers[b"idempotency-key"] == "a"
    assert b"host" not in headers


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # The client wrote the first line itself; the proxy appended the second.
        (["10.1.2.3", "198.51.100.9"], Code.IP_NOT_ALLOWED),
        (["198.51.100.9", "10.1.2.3"], Code.OK),
        (["10.1.2.3"], Code.OK),
    ],
)
async def test_repeated_forwarded_for_lines_are_judged_from_the_right(
    store: Store, settings: Settings, lines: list[str], expected: int
) -> None:
    proxied = dataclasses.replace(settings, trusted_proxies=(ipaddress.ip_network("127.0.0.1"),))
    async with running(store, proxied, now=NOW) as harness:
        headers = [("X-Forwarded-For", line) for line in lines]
        response = await harness.client().get(VOICE, params=ALLOWED, headers=headers)
        assert parse_result(response.content).code == expected


@pytest.mark.parametrize("verb", ["PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_other_methods_get_405_with_an_ihuyi_document(
    store: Store, settings: Settings, verb: str
) -> None:
    async with running(store, settings, now=NOW) as harness:
        form = {"account": "V10000001", "password": "0123456789abcdef0123456789abcdef"}
        submit = {**form, "mobile": "13800138000", "content": "1125"}
        client = harness.client()
        as_json = await client.request(
            verb, VOICE, params={"method": "Submit", "format": "json"}, data=submit
        )
        assert as_json.status_code == 405
        assert as_json.headers["allow"] == "GET, POST"
        assert as_json.headers["content-type"].startswith("application/json")
        assert as_json.content == '{"code":0,"msg":"提交失败","voiceid":"0"}'.encode()
        as_xml = await client.request(verb, VOICE, params={"method": "GetNum", **form})
        assert as_xml.status_code == 405
        assert as_xml.headers["content-type"].startswith("text/xml")
        result = parse_result(as_xml.content, Method.GETNUM)
        assert isinstance(result, GetNumResult)
        assert (result.code, result.num) == (Code.FAILED, 0)
        assert await store.count_calls() == 0


async def test_head_places_no_call(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        params = {
            "method": "Submit",
            "account": "V10000001",
            "password": "0123456789abcdef0123456789abcdef",
            "mobile": "13800138000",
            "content": "1125",
        }
        response = await harness.client().head(VOICE, params=params)
        assert response.status_code == 405
        assert await store.count_calls() == 0
        wsdl = await harness.client().head(VOICE, params={"wsdl": ""})
        assert wsdl.status_code == 200
        assert wsdl.headers["content-type"].startswith("text/xml")


async def wsdl_location(client: httpx2.AsyncClient, **headers: str) -> bytes:
    response = await client.get(VOICE, params={"wsdl": ""}, headers=headers)
    assert response.status_code == 200
    found = LOCATION.search(response.content)
    assert found is not None
    return found.group(1)


async def test_wsdl_address_ignores_the_host_header(store: Store, settings: Settings) -> None:
    proxied = dataclasses.replace(settings, trusted_proxies=(ipaddress.ip_network("127.0.0.1"),))
    async with running(store, proxied, now=NOW) as harness:
        client = harness.client()
        spoofed = await wsdl_location(client, Host="attacker.example:80")
        assert b"attacker.example" not in spoofed
        forwarded = await wsdl_location(
            client, **{"X-Forwarded-Host": "attacker.example", "X-Forwarded-Proto": "https"}
        )
        assert b"attacker.example" not in forwarded
        # Without public_url: the address the connection reached (the test transport's "gw").
        assert spoofed == forwarded == b"http://gw/webservice/voice.php"


async def test_wsdl_address_is_the_public_url(store: Store, settings: Settings) -> None:
    public = dataclasses.replace(settings, public_url="https://voice.example.com/ihuyi/")
    async with running(store, public, now=NOW) as harness:
        location = await wsdl_location(harness.client(), Host="attacker.example:80")
        assert location == b"https://voice.example.com/ihuyi/webservice/voice.php"


def test_public_url_setting() -> None:
    loaded = Settings.load(
        environ={"VOICEOTP_PUBLIC_URL": "https://voice.example.com", "VOICEOTP_DEV_MODE": "1"}
    )
    assert loaded.public_url == "https://voice.example.com"
    for bad in ("voice.example.com", "ftp://voice.example.com", "https://x/?a=1", "https://x/#f"):
        with pytest.raises(SettingsError, match="public_url"):
            Settings.load(environ={"VOICEOTP_DEV_MODE": "1"}, public_url=bad)


@pytest.mark.parametrize("path", [VOICE + "/", "/healthz/", "/metrics/", "/admin/accounts/"])
async def test_no_redirect_follows_the_host_header(
    store: Store, settings: Settings, path: str
) -> None:
    """A trailing slash is not redirected to wherever ``Host`` says (an open redirect)."""
    async with running(store, settings, now=NOW) as harness:
        response = await harness.client().get(path, headers={"Host": "attacker.example"})
    assert not 300 <= response.status_code < 400
    assert "attacker.example" not in response.headers.get("location", "")
