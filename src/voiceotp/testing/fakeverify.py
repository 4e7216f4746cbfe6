"""Verify and Check for :class:`~voiceotp.testing.fake.FakeIhuyi` (voiceotp extensions).

The fake makes up codes like the gateway (4-6 digits, ``ttl`` seconds, 5 attempts, a new
Verify supersedes) but keeps them in clear, so a test can learn what was "spoken"::

    result = client.verify("13800138000")
    code = fake.spoken_code("13800138000")      # or fake.spoken_code(voiceid=...)
    assert client.check("13800138000", code).ok
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voiceotp.protocol import (
    CheckResult,
    Code,
    IncomingRequest,
    Method,
    VerifyResult,
    is_valid_mobile,
    message_for,
)

if TYPE_CHECKING:
    from voiceotp.testing.fake import FakeIhuyi

MAX_ATTEMPTS = 5


@dataclass
class FakeCode:
    """One code the fake made up, in clear (this is a fake)."""

    voiceid: str
    account: str
    mobile: str
    code: str
    created_at: float
    expires_at: float
    attempts: int = 0
    state: str = "pending"  # pending | verified | exhausted | superseded
    verified_at: float = 0.0

    def status(self, now: float) -> str:
        return "expired" if self.state == "pending" and now >= self.expires_at else self.state


class FakeVerify:
    """The fake's codes: the latest per (account, mobile), and all by voiceid."""

    def __init__(self, fake: FakeIhuyi, *, length: int = 6, ttl_s: int = 300) -> None:
        self.fake, self.length, self.ttl_s = fake, length, ttl_s
        self.latest: dict[tuple[str, str], FakeCode] = {}
        self.by_voiceid: dict[str, FakeCode] = {}
        self._replays: dict[tuple[str, str, str], str] = {}

    def verify(self, request: IncomingRequest) -> tuple[VerifyResult, bool]:
        fake, mobile = self.fake, request.get("mobile")
        fake.received[mobile] += 1
        code = fake._auth(request, Method.VERIFY, mobile=mobile, content="")
        if code is None and not is_valid_mobile(mobile):
            code = Code.MOBILE_INVALID
        length, ttl = _int(request.get("length"), self.length), _int(request.get("ttl"), self.ttl_s)
        if code is None and not 4 <= length <= 6:
            code = Code.LENGTH_INVALID
        if code is None and not 60 <= ttl <= 3600:
            code = Code.TTL_INVALID
        if code is None and fake.accounts[request.get("account")].balance <= 0:
            code = Code.BALANCE_LOW
        if code is not None:
            return VerifyResult(code, message_for(code, Method.VERIFY)), False
        key = (request.get("account"), mobile, request.get("time"))
        if fake.dedupe and fake._is_dynamic(request) and key in self._replays:
            return _ok(self._replays[key]), False
        return self._place(request, key, length, ttl)

    def _place(
        self, request: IncomingRequest, key: tuple[str, str, str], length: int, ttl: int
    ) -> tuple[VerifyResult, bool]:
        fake, (account, mobile, time) = self.fake, key
        fake.accounts[account].balance -= 1
        voiceid, now = str(next(fake._ids)), fake.clock()
        spoken = f"{secrets.randbelow(10**length):0{length}d}"
        previous = self.latest.get((account, mobile))
        if previous is not None and previous.state == "pending":
            previous.state = "superseded"
        made = FakeCode(voiceid, account, mobile, spoken, now, now + ttl)
        self.latest[account, mobile] = self.by_voiceid[voiceid] = made
        fake.record_call(voiceid, account, mobile, spoken, time or None)
        if fake._is_dynamic(request):
            self._replays[key] = voiceid
        dropped = fake._losses[mobile] > 0
        if dropped:
            fake._losses[mobile] -= 1
        return _ok(voiceid), dropped

    def check(self, request: IncomingRequest) -> CheckResult:
        mobile, given = request.get("mobile"), request.get("code")
        code = self.fake._auth(request, Method.CHECK, mobile=mobile, content=given)
        if code is None and not is_valid_mobile(mobile):
            code = Code.MOBILE_INVALID
        if code is None and not given:
            code = Code.CODE_EMPTY
        if code is not None:
            return CheckResult(code, message_for(code, Method.CHECK))
        wanted = request.get("voiceid")
        found = (
            self.by_voiceid.get(wanted)
            if wanted
            else self.latest.get((request.get("account"), mobile))
        )
        if found is None or found.mobile != mobile or found.account != request.get("account"):
            return _check(Code.NO_PENDING_CODE)
        return self._attempt(found, given)

    def _attempt(self, found: FakeCode, given: str) -> CheckResult:
        now = self.fake.clock()
        status = found.status(now)
        if status in ("verified", "superseded"):
            return _check(Code.NO_PENDING_CODE)
        if status == "exhausted" or found.attempts >= MAX_ATTEMPTS:
            return _check(Code.ATTEMPTS_USED_UP)
        if status == "expired":
            return _check(Code.CODE_EXPIRED)
        found.attempts += 1
        if hmac.compare_digest(found.code.encode(), given.encode()):
            found.state, found.verified_at = "verified", now
            return CheckResult(2, message_for(2, Method.CHECK), found.voiceid)
        if found.attempts >= MAX_ATTEMPTS:
            found.state = "exhausted"
        return _check(Code.CODE_WRONG)


def _ok(voiceid: str) -> VerifyResult:
    return VerifyResult(2, message_for(2, Method.VERIFY), voiceid)


def _check(code: int) -> CheckResult:
    return CheckResult(code, message_for(code, Method.CHECK))


def _int(value: str, default: int) -> int:
    if not value:
        return default
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else -1
