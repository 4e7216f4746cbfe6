"""SipTrunkGroup: places each call through one of several trunks, failing over when safe.

Each trunk has its own :class:`SipDialer` (its own socket, registration, redirects), all
sharing one RTP pacer, and its own :class:`OptionsPinger`. A call goes to the first trunk
of :func:`rank_trunks`' order that is up (answering OPTIONS pings, and its REGISTER not
failed) and under its limits. When it fails, it moves to the next trunk only if
:func:`failover_reason` says the callee provably was not reached; each trunk is tried at
most once per call. The record's ``detail`` names every trunk tried:
``trunk a: 503 Service Unavailable; trunk b: played 2.0 s …``.

When every trunk not yet tried is at its limit the call **waits** here (a call ending or
the calls/s bucket refilling wakes it) until its deadline (then EXPIRED, nothing dialed)
or the dialer closing (CANCELED) — both ``never_left``, so refunded: waiting cannot dial
twice, and the worker renews the call's lease meanwhile. When no trunk is up at all, the
trunks that are down are tried as a last resort (health is a guess; a code is worth the
try), in the same order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from voiceotp.delivery.dialer.base import CallOutcome, CallRequest, CallStatus
from voiceotp.delivery.dialer.rtp import RtpPacer
from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.dialer import SipDialer
from voiceotp.delivery.dialer.sip.health import OptionsPinger, TrunkHealth
from voiceotp.delivery.dialer.sip.outcome import CallProgress, failover_reason
from voiceotp.delivery.dialer.sip.register import RegistrationState
from voiceotp.delivery.dialer.sip.trunks import TrunkLoad, check_trunks, rank_trunks

__all__ = ["SipTrunkGroup"]

log = logging.getLogger(__name__)


@dataclass
class _Member:
    trunk: SipTrunk
    dialer: SipDialer
    pinger: OptionsPinger
    load: TrunkLoad = field(init=False)

    def __post_init__(self) -> None:
        self.load = TrunkLoad(self.trunk.max_concurrent, self.trunk.calls_per_s)

    @property
    def up(self) -> bool:
        registration = self.dialer.registration_state
        return self.pinger.health.up and registration is not RegistrationState.FAILED


class SipTrunkGroup:
    """A :class:`~voiceotp.delivery.dialer.base.Dialer` over several SIP trunks."""

    def __init__(
        self,
        trunks: Sequence[SipTrunk],
        *,
        pacer: RtpPacer | None = None,
        rand: random.Random | None = None,
    ) -> None:
        check_trunks(trunks)
        self.pacer = pacer or RtpPacer()
        self._rand = rand or random.Random()
        self._members = {
            t.label: _Member(t, SipDialer(t, pacer=self.pacer), OptionsPinger(t, self._changed))
            for t in trunks
        }
        self._changes = asyncio.Condition()  # a call ended, a trunk went up or down
        self._notifying: set[asyncio.Task[None]] = set()
        self._started = False
        self._closed = False

    @property
    def name(self) -> str:
        """``sip:<name>,<name>…``: each record names the trunk that took its call."""
        return "sip:" + ",".join(self._members)

    @property
    def trunks(self) -> Mapping[str, TrunkHealth]:
        """Each trunk's health by name (for metrics and health pages)."""
        return {label: m.pinger.health for label, m in self._members.items()}

    def trunks_up(self) -> dict[str, bool]:
        """Whether each trunk takes calls now (pings answered, registration not failed)."""
        return {label: m.up for label, m in self._members.items()}

    @property
    def active_calls(self) -> int:
        return sum(m.load.in_flight for m in self._members.values())

    @property
    def registration_state(self) -> RegistrationState:
        """The worst of the trunks' registrations (``off`` when none registers)."""
        states = {m.dialer.registration_state for m in self._members.values()}
        for state in (
            RegistrationState.FAILED,
            RegistrationState.REGISTERING,
            RegistrationState.UNREGISTERED,
            RegistrationState.REGISTERED,
        ):
            if state in states:
                return state
        return RegistrationState.OFF

    def _changed(self, trunk: SipTrunk, health: TrunkHealth) -> None:
        task = asyncio.get_running_loop().create_task(self._notify())
        self._notifying.add(task)  # keep a reference until it ran
        task.add_done_callback(self._notifying.discard)

    async def _notify(self) -> None:
        async with self._changes:
            self._changes.notify_all()

    async def start(self) -> None:
        """Open every trunk's socket, start registrations and OPTIONS pings (idempotent).
        A trunk that cannot start is logged; its pings fail and take it out."""
        if self._started:
            return
        self._started = True
        for member in self._members.values():
            try:
                await member.dialer.start()
            except OSError as exc:
                log.warning("SIP trunk %s cannot start: %s", member.trunk.label, exc)
            member.pinger.start(member.dialer.ping_path)

    async def wait_for(self, label: str, *, up: bool) -> None:
        """Return once trunk ``label`` is up (or down); woken by pings and calls ending."""
        async with self._changes:
            await self._changes.wait_for(lambda: self._members[label].up is up)

    async def dial(self, call: CallRequest) -> CallOutcome:
        """Place ``call`` through the best trunk, failing over while that is safe."""
        await self.start()
        # as SipDialer does: a trunk that wants registration is tried once before a call,
        # so that one whose REGISTER failed is skipped (its dialer still retries)
        registrations = [m.dialer.registration for m in self._members.values()]
        await asyncio.gather(*(r.first_attempt() for r in registrations if r is not None))
        tried: list[str] = []
        notes: list[str] = []
        outcomes: list[CallOutcome] = []
        while True:
            member = await self._acquire(call, tried)
            if isinstance(member, CallOutcome):  # expired, closed, or no trunk left
                return _combined(outcomes, notes) if outcomes else member
            tried.append(member.trunk.label)
            progress = CallProgress()
            try:
                outcome = await member.dialer.dial_traced(call, progress)
            finally:
                member.load.release()
                await self._notify()
            outcomes.append(replace(outcome, dialer=_dialer_name(member)))
            notes.append(f"trunk {member.trunk.label}: {outcome.detail or outcome.status}")
            reason = failover_reason(outcome, progress)
            if reason is None or self._closed or not self._untried(tried):
                return _combined(outcomes, notes)
            log.info("call %s: trunk %s failed (%s)", call.call_id, member.trunk.label, reason)

    def _untried(self, tried: list[str]) -> list[_Member]:
        """The trunks a call may still go to, in its order: up ones; when none is up at
        all, the down ones as a last resort."""
        ranked = [self._members[t.label] for t in rank_trunks(self._trunks(), self._rand)]
        if any(m.up for m in ranked):
            ranked = [m for m in ranked if m.up]
        return [m for m in ranked if m.trunk.label not in tried]

    def _trunks(self) -> list[SipTrunk]:
        return [m.trunk for m in self._members.values()]

    async def _acquire(self, call: CallRequest, tried: list[str]) -> _Member | CallOutcome:
        """The first trunk free for ``call``, waiting while every candidate is at its limit."""
        async with self._changes:
            while True:
                refused = self._refusal(call)
                if refused is not None:
                    return refused
                candidates = self._untried(tried)
                if not candidates:
                    return _no_trunk()
                now = time.monotonic()
                for member in candidates:
                    if member.load.free(now):
                        member.load.take(now)
                        return member
                wake = min(m.load.free_at(now) for m in candidates) - now
                if call.deadline is not None:
                    wake = min(wake, call.deadline - time.time())
                timeout = max(wake, 0.001) if math.isfinite(wake) else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changes.wait(), timeout)

    def _refusal(self, call: CallRequest) -> CallOutcome | None:
        """A call that waited for a trunk and must give up: nobody was asked to place it,
        so it is ``never_left`` (refunded whatever the charge policy)."""
        now = time.time()
        if self._closed:
            detail = "dialer closed before a trunk was free"
            return CallOutcome(
                CallStatus.CANCELED, None, None, end_at=now, detail=detail, never_left=True
            )
        if call.deadline is not None and now >= call.deadline:
            detail = "deadline passed before a trunk was free"
            return CallOutcome(
                CallStatus.EXPIRED, None, None, end_at=now, detail=detail, never_left=True
            )
        return None

    async def aclose(self) -> None:
        """Stop the pings, then end calls in flight and close each trunk."""
        self._closed = True
        await self._notify()
        for member in self._members.values():
            await member.pinger.aclose()
        await asyncio.gather(*(m.dialer.aclose() for m in self._members.values()))


def _no_trunk() -> CallOutcome:
    detail = "no trunk to place the call"
    return CallOutcome(
        CallStatus.FAILED, None, 34, end_at=time.time(), detail=detail, never_left=True
    )


def _combined(outcomes: list[CallOutcome], notes: list[str]) -> CallOutcome:
    """The last attempt's outcome (its media figures and ``dialer``: the trunk of the last
    attempt), timed from the first INVITE, with every trunk noted; ``never_left`` only when
    no trunk was asked."""
    first, last = outcomes[0], outcomes[-1]
    return replace(
        last,
        invite_at=first.invite_at or last.invite_at,
        detail="; ".join(notes),
        never_left=all(o.never_left for o in outcomes),
    )


def _dialer_name(member: _Member) -> str:
    """What the call record names as the dialer: ``sip:<trunk name>``, or the host."""
    return f"sip:{member.trunk.name}" if member.trunk.name else member.dialer.name
