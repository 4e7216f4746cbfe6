"""Each rule of the validation pipeline on its own, and the table's order (§6)."""

from __future__ import annotations

import dataclasses
import ipaddress
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.harness import FIXTURE, fixture_settings, seed_fixture
from voiceotp.gateway.submit import rules
from voiceotp.gateway.submit.rules import PIPELINE, Answer, Ctx
from voiceotp.gateway.submit.service import Gateway
from voiceotp.protocol import Code, Method, decode_request, dynamic_password
from voiceotp.store import make_store

NOW = float(FIXTURE["now"])
KEY1 = "0123456789abcdef0123456789abcdef"
GOOD = {"account": "V10000001", "password": KEY1, "mobile": "13800138000", "content": "1125"}


@pytest.fixture
async def gw(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Gateway]:
    shutil.copy(sqlite_template, tmp_path / "g.db")
    settings = fixture_settings(tmp_path, database_url=f"sqlite:///{tmp_path / 'g.db'}")
    store = make_store(settings)
    await store.open()
    await seed_fixture(store, settings, FIXTURE)
    gateway = Gateway(settings, store, clock=lambda: NOW)
    await gateway.start()
    yield gateway
    await store.close()


def ctx(method: Method = Method.SUBMIT, ip: str = "127.0.0.1", **params: str) -> Ctx:
    request = decode_request([("method", method.value), *params.items()])
    return Ctx(method, request, ipaddress.ip_address(ip), NOW)


async def authed(gw: Gateway, **params: str) -> Ctx:
    """A context whose account is loaded and whose credentials passed."""
    c = ctx(**params)
    assert await rules.load_account(gw, c) is None
    assert rules.credentials(gw, c) is None
    return c


def code(result: Answer | None) -> int | None:
    return None if result is None else result.code


async def test_deny_ip(gw: Gateway) -> None:
    assert code(rules.deny_ip(gw, ctx(ip="192.0.2.66"))) == Code.IP_DENIED
    assert rules.deny_ip(gw, ctx(ip="192.0.2.67")) is None


@pytest.mark.parametrize(
    ("rule", "name", "expected"),
    [
        (rules.account_given, "account", Code.ACCOUNT_EMPTY),
        (rules.password_given, "password", Code.PASSWORD_EMPTY),
        (rules.mobile_given, "mobile", Code.MOBILE_EMPTY),
        (rules.content_given, "content", Code.CONTENT_EMPTY),
    ],
)
async def test_presence(gw: Gateway, rule: rules.Rule, name: str, expected: Code) -> None:
    assert rule(gw, ctx()) == Answer(expected)
    assert rule(gw, ctx(**{name: "x"})) is None


async def test_credentials(gw: Gateway) -> None:
    unknown = ctx(**{**GOOD, "account": "V99999999"})
    await rules.load_account(gw, unknown)
    assert code(rules.credentials(gw, unknown)) == Code.AUTH_FAILED
    wrong = ctx(**{**GOOD, "password": "f" * 32})
    await rules.load_account(gw, wrong)
    assert code(rules.credentials(gw, wrong)) == Code.AUTH_FAILED
    old = str(int(NOW) - 301)
    pwd = dynamic_password("V10000001", KEY1, old, mobile="13800138000", content="1125")
    expired = ctx(**{**GOOD, "password": pwd, "time": old})
    await rules.load_account(gw, expired)
    assert code(rules.credentials(gw, expired)) == Code.PASSWORD_EXPIRED
    await authed(gw, **GOOD)


async def test_freezes_and_allow_list(gw: Gateway) -> None:
    keys = {a["account"]: a["apikey"] for a in FIXTURE["accounts"]}
    frozen = await authed(gw, account="V10000002", password=keys["V10000002"])
    assert code(rules.operator_frozen(gw, frozen)) == Code.ACCOUNT_FROZEN
    assert rules.abuse_frozen(gw, frozen) is None
    abused = await authed(gw, account="V10000003", password=keys["V10000003"])
    assert code(rules.abuse_frozen(gw, abused)) == Code.ABUSE_FROZEN
    listed = await authed(gw, account="V10000004", password=keys["V10000004"])
    assert code(rules.allow_list(gw, listed)) == Code.IP_NOT_ALLOWED
    listed.client_ip = ipaddress.ip_address("10.1.2.3")
    assert rules.allow_list(gw, listed) is None


@pytest.mark.parametrize(
    ("mobile", "ok"),
    [("13800138000", True), ("12800138000", False), ("１３８００１３８０００", False)],
)
async def test_mobile_format(gw: Gateway, mobile: str, ok: bool) -> None:
    assert (rules.mobile_format(gw, ctx(mobile=mobile)) is None) is ok


async def test_blacklists(gw: Gateway) -> None:
    for mobile in ("13900000000", "13911112222"):
        c = await authed(gw, **{**GOOD, "mobile": mobile})
        assert code(rules.blacklist(gw, c)) == Code.MOBILE_BLACKLISTED
    assert rules.blacklist(gw, await authed(gw, **GOOD)) is None


@pytest.mark.parametrize(("content", "ok"), [("1125", True), ("123456", True), ("123", False)])
async def test_content_format(gw: Gateway, content: str, ok: bool) -> None:
    assert (rules.content_format(gw, ctx(content=content)) is None) is ok


async def test_sensitive_words(gw: Gateway) -> None:
    assert code(rules.sensitive_words(gw, ctx(content="110119"))) == Code.CONTENT_SENSITIVE
    assert rules.sensitive_words(gw, ctx(content="1125")) is None


async def test_rate_cap(gw: Gateway) -> None:
    c = await authed(gw, **GOOD)
    assert c.account is not None
    c.account = dataclasses.replace(c.account, rate_per_s=2)
    assert await rules.rate_cap(gw, c) is None
    assert await rules.rate_cap(gw, c) is None
    assert code(await rules.rate_cap(gw, c)) == Code.RATE_LIMITED


async def test_number_caps_reserve_then_refuse(gw: Gateway) -> None:
    first = await authed(gw, **GOOD)
    assert await rules.number_caps(gw, first) is None
    assert first.reservation is not None
    second = await authed(gw, **GOOD)
    assert await rules.number_caps(gw, second) == Answer(Code.NUMBER_MINUTE_CAP, n=1)
    await gw.caps.release(first.reservation)
    assert await rules.number_caps(gw, await authed(gw, **GOOD)) is None


async def test_hold_and_queue_then_replay(gw: Gateway) -> None:
    pwd = dynamic_password("V10000001", KEY1, str(int(NOW)), mobile="13800138000", content="1125")
    params = {**GOOD, "password": pwd, "time": str(int(NOW))}
    first = await authed(gw, **params)
    assert first.idem_key is not None
    accepted = await rules.hold_and_queue(gw, first)
    assert accepted is not None
    assert accepted.code == Code.OK
    again = await authed(gw, **params)
    assert await rules.idempotent_replay(gw, again) == Answer(Code.OK, voiceid=accepted.voiceid)
    static = await authed(gw, **GOOD)
    assert await rules.idempotent_replay(gw, static) is None  # no key: nothing to replay


async def test_balance_and_query(gw: Gateway) -> None:
    c = await authed(gw, account="V10000001", password=KEY1)
    c.method = Method.GETNUM
    assert await rules.report_balance(gw, c) == Answer(Code.OK, num=100)
    q = await authed(gw, account="V10000001", password=KEY1, voiceid="123")
    assert code(await rules.report_call(gw, q)) == Code.VOICEID_UNKNOWN


def test_table_follows_the_reference_order() -> None:
    names = [step.name for step in PIPELINE]
    reference = [
        "deny_ip",
        "account_given",
        "credentials",
        "abuse_frozen",
        "operator_frozen",
        "allow_list",
        "mobile_format",
        "blacklist",
        "content_format",
        "sensitive_words",
        "rate_cap",
        "number_caps",
        "hold_and_queue",
    ]
    positions = [names.index(n) for n in reference]
    assert positions == sorted(positions)
    assert names.index("idempotent_replay") < names.index("number_caps")
    assert all(any(m in step.methods for step in PIPELINE) for m in Method)
