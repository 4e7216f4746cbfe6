"""Helpers of the Verify/Check tests: calls over the in-process app, the spoken code."""

from __future__ import annotations

from tests.gateway.harness import VOICE, Harness
from voiceotp.delivery.fence import SqlFence
from voiceotp.protocol import CheckResult, Method, QueryResult, VerifyResult, parse_result
from voiceotp.store.keys import KeyBox

KEY1 = "0123456789abcdef0123456789abcdef"
AUTH = {"account": "V10000001", "password": KEY1}
MOBILE = "13800138000"


async def verify(
    harness: Harness, mobile: str = MOBILE, auth: dict[str, str] = AUTH, **extra: str
) -> VerifyResult:
    response = await harness.client().post(
        VOICE, params={"method": "Verify"}, data={**auth, "mobile": mobile, **extra}
    )
    assert response.status_code == 200
    result = parse_result(response.content, Method.VERIFY)
    assert isinstance(result, VerifyResult), response.content
    return result


async def check(
    harness: Harness, code: str, mobile: str = MOBILE, auth: dict[str, str] = AUTH, **extra: str
) -> CheckResult:
    form = {**auth, "mobile": mobile, "code": code, **extra}
    response = await harness.client().post(VOICE, params={"method": "Check"}, data=form)
    assert response.status_code == 200
    result = parse_result(response.content, Method.CHECK)
    assert isinstance(result, CheckResult), response.content
    return result


async def query(harness: Harness, voiceid: str) -> QueryResult:
    response = await harness.client().post(
        VOICE, params={"method": "Query"}, data={**AUTH, "voiceid": voiceid}
    )
    result = parse_result(response.content, Method.QUERY)
    assert isinstance(result, QueryResult)
    return result


async def spoken(harness: Harness, voiceid: str) -> str:
    """The code the dialer would speak: claimed through the call fence, as a dialer does."""
    gw = harness.gateway
    fence = SqlFence(gw.store, keybox=KeyBox(gw.settings.secret_key))
    claim = await fence.claim_for_dialing(
        voiceid, attempt=1, worker="test", now=gw.clock(), lease_s=60
    )
    assert claim.ticket is not None
    return claim.ticket.code


def wrong(code: str) -> str:
    """A code of the same length that is not ``code``."""
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"
