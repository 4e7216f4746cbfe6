"""Behaviour of the running gateway beyond the vectors: races, idempotency, caps, Query,
limits, proxies — on both stores."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json

import httpx2

from tests.gateway.harness import FIXTURE, VOICE, Harness, running
from voiceotp.delivery.dialer.base import CallOutcome, CallStatus
from voiceotp.delivery.fence import SqlFence
from voiceotp.gateway.settings import Settings
from voiceotp.protocol import (
    Code,
    Method,
    QueryResult,
    SubmitResult,
    dynamic_password,
    message_for,
    parse_result,
)
from voiceotp.store import Store
from voiceotp.store.keys import KeyBox

NOW = float(FIXTURE["now"])
KEY1 = "0123456789abcdef0123456789abcdef"
AUTH = {"account": "V10000001", "password": KEY1}


async def submit(harness: Harness, mobile: str = "13800138000", **extra: str) -> SubmitResult:
    response = await harness.submit(**AUTH, mobile=mobile, content="1125", **extra)
    assert response.status_code == 200
    result = parse_result(response.content, Method.SUBMIT)
    assert isinstance(result, SubmitResult)
    return result


async def test_race_200_submits_against_balance_50(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        sealed = KeyBox(settings.secret_key).seal("ab" * 16)
        account = await store.create_account(
            name="V30000001", apikey_enc=sealed, now=NOW, balance=50
        )
        client = harness.client()

        async def one(i: int) -> int:
            form = {"account": "V30000001", "password": "ab" * 16, "mobile": f"1380000{i:04d}"}
            response = await client.post(
                VOICE, params={"method": "Submit"}, data={**form, "content": "1125"}
            )
            return parse_result(response.content, Method.SUBMIT).code

        codes = await asyncio.gather(*(one(i) for i in range(200)))
        assert codes.count(Code.OK) == 50
        assert codes.count(Code.BALANCE_LOW) == 150
        assert await store.get_balance(account.id) == 0
        assert await store.ledger_sum(account.id) == 0
        assert await store.count_calls(account.id) == 50


async def test_idempotency_key_header(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        headers = {"Idempotency-Key": "order-42"}
        client = harness.client()
        form = {**AUTH, "mobile": "13800138000", "content": "1125"}
        answers = await asyncio.gather(
            *(
                client.post(VOICE, params={"method": "Submit"}, data=form, headers=headers)
                for _ in range(3)
            )
        )
        results = [parse_result(a.content, Method.SUBMIT) for a in answers]
        assert {r.code for r in results} == {Code.OK}
        assert len({r.voiceid for r in results}) == 1
        assert await store.count_calls() == 1
        other = await client.post(
            VOICE, params={"method": "Submit"}, data=form, headers={"Idempotency-Key": "order-43"}
        )
        assert parse_result(other.content).code == Code.NUMBER_MINUTE_CAP


async def test_per_number_caps_minute_hour_day(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        clock = harness.clock_value
        seen: list[int] = []
        for hour in range(3):
            for minute in range(6):
                clock[0] = NOW + hour * 3600 + minute * 61
                seen.append((await submit(harness)).code)
        assert seen[:6] == [2, 2, 2, 2, 2, 4086]
        assert seen[6:12] == [2, 2, 2, 2, 2, 4086]
        assert seen[12:] == [4082] * 6
        clock[0] = NOW + 2 * 3600 + 6 * 61 + 10
        minute_cap = await submit(harness, mobile="13800138001")
        assert minute_cap.code == Code.OK
        again = await submit(harness, mobile="13800138001")
        assert (again.code, again.msg) == (4081, message_for(4081, n=1))
        day = await submit(harness)
        assert day.msg == message_for(Code.NUMBER_DAY_CAP, n=10)
        assert "10" in day.msg
        clock[0] = NOW + 86_400 + 1  # the first calls leave the 24 h window
        assert (await submit(harness)).code == Code.OK


async def test_caps_survive_a_restart(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        assert (await submit(harness)).code == Code.OK
    async with running(store, settings, now=NOW + 5, seed=False) as harness:
        assert (await submit(harness)).code == Code.NUMBER_MINUTE_CAP


async def test_account_rate_cap(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        await store.update_account("V10000001", rate_per_s=2)
        harness.gateway.directory.forget("V10000001")
        codes = [(await submit(harness, mobile=f"1380013800{i}")).code for i in range(3)]
        assert codes == [2, 2, Code.RATE_LIMITED]
        harness.clock_value[0] += 1
        assert (await submit(harness, mobile="13800138009")).code == Code.OK


async def test_query_reports_own_calls_only(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        voiceid = (await submit(harness)).voiceid
        client = harness.client()
        mine = await client.post(
            VOICE, params={"method": "Query"}, data={**AUTH, "voiceid": voiceid}
        )
        result = parse_result(mine.content, Method.QUERY)
        assert isinstance(result, QueryResult)
        assert (result.code, result.voiceid, result.status) == (2, voiceid, "QUEUED")
        assert result.submit_time == int(NOW)
        theirs = {"account": "V10000004", "password": "3" * 32, "voiceid": voiceid}
        other = await harness.client("10.1.2.3").post(
            VOICE, params={"method": "Query"}, data=theirs
        )
        assert parse_result(other.content, Method.QUERY).code == Code.VOICEID_UNKNOWN


async def test_query_carries_the_ring_time_of_the_status_push(
    store: Store, settings: Settings
) -> None:
    async with running(store, settings, now=NOW) as harness:
        await store.update_account("V10000001", callback_url="https://push.example.com/cb")
        harness.gateway.directory.forget("V10000001")
        voiceid = (await submit(harness)).voiceid
        rang = CallOutcome(CallStatus.NO_ANSWER, 487, 19, NOW + 1, NOW + 2, None, NOW + 32)
        assert await SqlFence(store).finish(voiceid, rang, attempt=1)
        client = harness.client()
        answer = await client.post(
            VOICE, params={"method": "Query"}, data={**AUTH, "voiceid": voiceid}
        )
        result = parse_result(answer.content, Method.QUERY)
        assert isinstance(result, QueryResult)
        [(pushed,)] = await store.read("SELECT report FROM outbox")
        assert result.ring_time == json.loads(str(pushed))["ring_time"] == int(NOW + 2)
        assert (result.status, result.answer_time) == ("NO_ANSWER", 0)
        assert answer.content.index(b"ring_time") > answer.content.index(b"verify_time")


async def test_oversized_body_is_413_with_a_document(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        big = b"account=" + b"x" * (settings.max_body_bytes + 1)
        response = await harness.client().post(
            VOICE,
            params={"method": "Submit", "format": "json"},
            content=big,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 413
        assert parse_result(response.content).code == Code.FAILED
        assert response.headers["content-type"].startswith("application/json")
        assert await store.count_calls() == 0


async def test_unknown_method_places_nothing(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        form = {**AUTH, "mobile": "13800138000", "content": "1125"}
        response = await harness.client().post(VOICE, params={"method": "Sumbit"}, data=form)
        assert parse_result(response.content).code == Code.FAILED
        assert await store.count_calls() == 0


async def test_forwarded_for_from_a_trusted_proxy(store: Store, settings: Settings) -> None:
    proxied = dataclasses.replace(settings, trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    async with running(store, proxied, now=NOW) as harness:
        form = {
            "account": "V10000004",
            "password": "3" * 32,
            "mobile": "13800138000",
            "content": "1125",
        }
        via = {"X-Forwarded-For": "10.1.2.3, 127.0.0.2"}
        response = await harness.client().post(
            VOICE, params={"method": "Submit"}, data=form, headers=via
        )
        assert parse_result(response.content).code == Code.OK
        spoofed = {"X-Forwarded-For": "10.1.2.3"}
        direct = await harness.client("192.0.2.10").post(
            VOICE,
            params={"method": "Submit"},
            data={**form, "mobile": "13800138001"},
            headers=spoofed,
        )
        assert parse_result(direct.content).code == Code.IP_NOT_ALLOWED


async def test_junk_that_must_not_reach_the_store(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        nul = await harness.submit(account="V1000\x000001", password=KEY1, mobile="1", content="1")
        assert parse_result(nul.content).code == Code.AUTH_FAILED
        # A zero-padded time still verifies; its idempotency key must stay storable.
        padded = "0" * 300 + str(int(NOW))
        password = dynamic_password("V10000001", KEY1, padded, mobile="13800138000", content="1125")
        form = {"account": "V10000001", "password": password, "time": padded}
        first = await harness.submit(**form, mobile="13800138000", content="1125")
        again = await harness.submit(**form, mobile="13800138000", content="1125")
        assert parse_result(first.content).code == Code.OK
        assert parse_result(again.content) == parse_result(first.content)


async def test_an_escaping_error_is_still_an_ihuyi_document(
    store: Store, settings: Settings
) -> None:
    async with running(store, settings, now=NOW) as harness:

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("a bug")

        harness.gateway.observer.request = broken  # type: ignore[assignment,method-assign]
        transport = harness.client()._transport
        assert isinstance(transport, httpx2.ASGITransport)
        transport.raise_app_exceptions = False  # see what a real client would see
        response = await harness.client().get(VOICE, params={"method": "GetNum", "format": "json"})
        assert response.status_code == 200
        assert response.content == '{"code":0,"msg":"提交失败","num":0}'.encode()


async def test_a_time_too_long_for_int_is_just_expired(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        huge = "1" * 5000
        password = dynamic_password("V10000001", KEY1, huge, mobile="13800138000", content="1125")
        form = {"account": "V10000001", "password": password, "time": huge}
        response = await harness.submit(**form, mobile="13800138000", content="1125")
        assert parse_result(response.content).code == Code.PASSWORD_EXPIRED
