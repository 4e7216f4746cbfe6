"""Every ``gateway_cases`` and ``gateway_sequences`` entry of the golden vectors, on both
stores, through the ASGI app in-process with the fixture's clock."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.gateway.harness import FIXTURE, VECTORS, VOICE, Harness, running
from voiceotp.gateway.settings import Settings
from voiceotp.protocol import Format, Method, parse_result
from voiceotp.store import Store

CASES = VECTORS["gateway_cases"]
SEQUENCES = VECTORS["gateway_sequences"]


async def send(harness: Harness, case: dict[str, Any]) -> httpx2.Response:
    client = harness.client(case.get("client_ip", FIXTURE["default_client_ip"]))
    headers = dict(case.get("headers") or {})
    form = case.get("form")
    content_type = case.get("content_type")
    kwargs: dict[str, Any] = {"params": case["query"], "headers": headers}
    if form is not None and content_type == "multipart/form-data":
        kwargs["files"] = {k: (None, v) for k, v in form.items()}
    elif form is not None:
        kwargs["content"] = httpx2.QueryParams(form).__str__().encode()
        headers["content-type"] = content_type or "application/x-www-form-urlencoded"
    return await client.request(case.get("http", "POST"), case.get("path", VOICE), **kwargs)


def check_format(response: httpx2.Response, expected: str) -> None:
    body = response.content
    if expected == "json":
        assert body.startswith(b"{")
        assert response.headers["content-type"] == "application/json; charset=utf-8"
    else:
        assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n')
        assert response.headers["content-type"] == "text/xml; charset=utf-8"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_gateway_case(case: dict[str, Any], store: Store, settings: Settings) -> None:
    async with running(store, settings, now=FIXTURE["now"]) as harness:
        response = await send(harness, case)
    assert response.status_code == 200
    check_format(response, case["expect_format"])
    method = Method.lookup(case["query"].get("method"))
    result = parse_result(response.content, method)
    assert result.code == case["expect_code"], response.text
    if "expect_num" in case:
        assert getattr(result, "num", None) == case["expect_num"]
    if result.code == 2 and method is Method.SUBMIT:
        assert getattr(result, "voiceid", "0").isdigit()
        assert getattr(result, "voiceid", "0") != "0"


@pytest.mark.parametrize("sequence", SEQUENCES, ids=[s["name"] for s in SEQUENCES])
async def test_gateway_sequence(sequence: dict[str, Any], store: Store, settings: Settings) -> None:
    async with running(store, settings, now=FIXTURE["now"]) as harness:
        voiceids: list[str] = []
        for step in sequence["steps"]:
            method = step.get("method", "Submit")
            case = {
                "query": {"method": method},
                "form": step["form"],
                "content_type": "application/x-www-form-urlencoded",
            }
            response = await send(harness, case)
            result = parse_result(response.content, Method.lookup(method))
            assert result.code == step["expect_code"], response.text
            voiceids.append(str(getattr(result, "voiceid", "")))
            if "same_voiceid_as_step" in step:
                assert voiceids[-1] == voiceids[step["same_voiceid_as_step"]]
            if "expect_num" in step:
                assert getattr(result, "num", None) == step["expect_num"]
        if "expect_calls_placed" in sequence:
            assert await store.count_calls() == sequence["expect_calls_placed"]


def test_every_code_renders_in_both_formats() -> None:
    # The vectors use both formats; the enum must keep covering them.
    assert {c["expect_format"] for c in CASES} == {f.value for f in Format}
