"""The upstream relay: a :class:`~voiceotp.delivery.dialer.base.Dialer` that hands each call
to ihuyi (or any ihuyi-compatible service, e.g. another voiceotp gateway) through our own
:class:`~voiceotp.client.AsyncClient`.

Upstreams are tried in order. We move on to the next one only when the answer proves that
nothing was accepted (docs/delivery.md):

- ``ConnectError``: the request never left;
- code 0 or 4090 (``TransientError``): the upstream refused it before accepting;
- an account-level code of that upstream (``AccountError``: 400-405, 4050-4052, 408).

After an ``UnknownOutcome`` (the request left, no answer came) or an unreadable answer we
never try another upstream: the first one may be ringing the phone already. Whether the
*same* upstream is asked again is the client's retry policy: only when the upstream dedupes
exact dynamic-password replays (``server_dedupes=True``).

A call every upstream refused, or one refused with a code about the call itself (4030,
406, ...), or whose deadline passed between refusals, provably never left: its outcome
says so (``never_left``) and the fence refunds it whatever the charge policy. An accepted
call ends :attr:`CallStatus.RELAYED` unless the upstream answers our Query extension
(``supports_query=True``): then it is polled, within a bounded budget, and its final
status is reported as ours.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from voiceotp.client import AsyncClient, RetryPolicy, SendReport, Timeout
from voiceotp.delivery.dialer.base import (
    CallOutcome,
    CallRequest,
    CallStatus,
    canonical_row,
    outcome_for_sip,
)
from voiceotp.errors import AccountError, ConnectError, TransientError, VoiceOTPError
from voiceotp.protocol import QueryResult, mask_mobile

__all__ = ["RelayDialer", "Upstream", "proves_nothing_accepted"]

log = logging.getLogger(__name__)
_FINAL = frozenset(s.value for s in CallStatus)


@dataclass(frozen=True)
class Upstream:
    """One ihuyi-compatible service the relay may hand calls to."""

    name: str
    base_url: str
    account: str
    apikey: str = field(repr=False)
    #: the upstream answers an exact dynamic-password replay with the original voiceid
    #: (voiceotp gateways do; ihuyi's behaviour is not on public record: keep False)
    server_dedupes: bool = False
    #: the upstream answers ``method=Query`` (voiceotp gateways do; ihuyi does not)
    supports_query: bool = False


def proves_nothing_accepted(error: VoiceOTPError | None) -> bool:
    """True when ``error`` shows the upstream accepted nothing, so another may be tried."""
    return isinstance(error, ConnectError | TransientError | AccountError)


class RelayDialer:
    """Relays calls to an ordered list of upstreams; see the module docstring."""

    def __init__(
        self,
        upstreams: Sequence[Upstream],
        *,
        retry: RetryPolicy | None = None,
        timeout: float | Timeout = 10.0,
        poll_interval_s: float = 5.0,
        poll_extra_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not upstreams:
            raise ValueError("the relay needs at least one upstream")
        self.upstreams = tuple(upstreams)
        self.poll_interval_s, self.poll_extra_s = poll_interval_s, poll_extra_s
        self._clock, self._sleep = clock, sleep
        self._clients = {
            up.name: AsyncClient(
                up.account,
                up.apikey,
                base_url=up.base_url,
                timeout=timeout,
                retry=retry,
                server_dedupes=up.server_dedupes,
                raise_on_error=False,
            )
            for up in self.upstreams
        }
        self._stopping = asyncio.Event()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def name(self) -> str:
        """``relay:<upstream names>``; an outcome names the one upstream that took its call."""
        return "relay:" + ",".join(up.name for up in self.upstreams)

    async def dial(self, call: CallRequest) -> CallOutcome:
        """Hand ``call`` to the first upstream that accepts it (see the module docstring)."""
        if call.code is None:
            raise ValueError(f"call {call.call_id}: the relay needs CallRequest.code")
        if self._stopping.is_set():
            return CallOutcome(
                CallStatus.CANCELED, None, None, end_at=self._clock(), detail="closed"
            )
        self._in_flight += 1
        self._idle.clear()
        try:
            return await self._relay(call, call.code)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _relay(self, call: CallRequest, code: str) -> CallOutcome:
        refusals: list[str] = []
        for upstream in self.upstreams:
            now = self._clock()
            if call.deadline is not None and now >= call.deadline:
                expired = _ended(CallStatus.EXPIRED, now, "; ".join([*refusals, "deadline passed"]))
                return replace(expired, never_left=True)
            report = await self._clients[upstream.name].submit(call.mobile, code)
            if report.ok:
                assert report.voiceid is not None
                return await self._follow(upstream, report.voiceid, call, now)
            reason = f"{upstream.name}: {_describe(report)}"
            if not proves_nothing_accepted(report.error):
                log.warning("relay of %s stopped: %s", mask_mobile(call.mobile), reason)
                stopped = _ended(CallStatus.FAILED, self._clock(), "; ".join([*refusals, reason]))
                # a code that refuses this call proves it was not taken; a lost answer does not
                refused = report.result is not None
                return replace(stopped, dialer=_name(upstream), never_left=refused)
            log.info("relay of %s fails over: %s", mask_mobile(call.mobile), reason)
            refusals.append(reason)
        detail = "no upstream accepted: " + "; ".join(refusals)
        return replace(_ended(CallStatus.FAILED, self._clock(), detail), never_left=True)

    async def _follow(
        self, upstream: Upstream, voiceid: str, call: CallRequest, submitted_at: float
    ) -> CallOutcome:
        """Poll the upstream's Query (when it has one) until a final status or the budget."""
        relayed = f"relayed to {upstream.name} as {voiceid}"
        if upstream.supports_query:
            budget_end = (
                submitted_at + call.ring_timeout_s + call.max_duration_s + self.poll_extra_s
            )
            while self._clock() < budget_end and await self._pause(self.poll_interval_s):
                result = await self._clients[upstream.name].query(voiceid)
                if result.ok and result.status in _FINAL:
                    outcome = _from_query(result, submitted_at, relayed)
                    return replace(outcome, dialer=_name(upstream))
            relayed += "; its final status is unknown (poll budget spent or relay closed)"
        return CallOutcome(
            CallStatus.RELAYED,
            None,
            None,
            submitted_at,
            end_at=self._clock(),
            detail=relayed,
            dialer=_name(upstream),
        )

    async def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds``; False when the relay is closing (stop polling)."""
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        stopper = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (sleeper, stopper):
            task.cancel()
        return not self._stopping.is_set()

    async def aclose(self) -> None:
        """Refuse new calls, stop polling (those calls end RELAYED), close the clients.

        A Submit already on the wire is let finish (bounded by the client's timeout):
        cancelling it would only turn a known answer into an unknown one.
        """
        self._stopping.set()
        await self._idle.wait()
        for client in self._clients.values():
            await client.aclose()


def _name(upstream: Upstream) -> str:
    """The dialer an outcome names when ``upstream`` took (or may have taken) the call."""
    return f"relay:{upstream.name}"


def _describe(report: SendReport) -> str:
    error = report.error
    if report.result is not None:
        return f"code {report.result.code} {report.result.msg}"
    return f"{type(error).__name__}: {error}"


def _ended(status: CallStatus, now: float, detail: str) -> CallOutcome:
    return CallOutcome(status, None, None, end_at=now, detail=detail)


def _from_query(result: QueryResult, submitted_at: float, relayed: str) -> CallOutcome:
    status = CallStatus(result.status)
    sip = result.sip_code if 200 <= result.sip_code <= 699 else None
    q850 = outcome_for_sip(sip)[1] if sip is not None else canonical_row(status).q850
    return CallOutcome(
        status,
        sip,
        q850,
        invite_at=submitted_at,
        ring_at=float(result.ring_time) or None,
        answer_at=float(result.answer_time) or None,
        end_at=float(result.end_time) or None,
        duration_s=float(result.duration),
        detail=relayed,
    )
