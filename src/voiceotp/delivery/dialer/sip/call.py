"""The life of one outbound SIP call: INVITE transaction, CANCEL, ACK, RTP, BYE.

Timers follow RFC 3261 §17.1: INVITE retransmitted at T1, 2·T1, 4·T1 … until a
provisional arrives (Timer A) and given up after 64·T1 without any answer (Timer B);
CANCEL and BYE retransmitted at T1 doubling up to T2 (Timer E) for at most 64·T1 (F).
Every final response is ACKed: non-2xx inside the INVITE transaction, 2xx as a new
transaction along the dialog. Messages arrive in :attr:`SipCall.inbox` from the shared
transport; ``None`` in the inbox is a wake-up (dialer closing, playback over).
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from dataclasses import dataclass, field, replace

from voiceotp.delivery.dialer.base import (
    UNREACHABLE,
    CallOutcome,
    CallRequest,
    CallStatus,
    outcome_for_sip,
)
from voiceotp.delivery.dialer.rtp import RtpPacer
from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.dialog import CallLeg, response_to, stray_answer
from voiceotp.delivery.dialer.sip.digest import answer_challenge
from voiceotp.delivery.dialer.sip.dtmf import EVENT_PAYLOAD_TYPE, info_key
from voiceotp.delivery.dialer.sip.failover import TargetFailover, TargetHealth
from voiceotp.delivery.dialer.sip.icmp import Refusal
from voiceotp.delivery.dialer.sip.leftover import Leftovers
from voiceotp.delivery.dialer.sip.media import MediaPorts, media_quality, media_summary
from voiceotp.delivery.dialer.sip.message import SipMessage
from voiceotp.delivery.dialer.sip.outcome import CallProgress, failure_detail, failure_status
from voiceotp.delivery.dialer.sip.playback import Playback
from voiceotp.delivery.dialer.sip.redirect import REDIRECTS, Redirects
from voiceotp.delivery.dialer.sip.resolve import Target
from voiceotp.delivery.dialer.sip.sdp import MediaAnswer, build_offer, parse_answer
from voiceotp.delivery.dialer.sip.srtp import SrtpContext, SrtpOffer
from voiceotp.delivery.dialer.sip.transaction import InviteTransaction, NonInviteTransaction
from voiceotp.delivery.dialer.sip.transport import Address, SipTransport, resolve_ipv4

__all__ = ["CallEnv", "SipCall"]

log = logging.getLogger(__name__)
NO_COMMON_CODEC_Q850 = 88  # incompatible destination: what PBXs send on a codec mismatch


@dataclass(frozen=True)
class CallEnv:
    """What a call shares with its dialer."""

    trunk: SipTrunk
    transport: SipTransport
    pacer: RtpPacer
    trunk_address: Address
    targets: tuple[Target, ...] = ()  # the trunk's resolved targets, in order (RFC 3263)
    health: TargetHealth = field(default_factory=TargetHealth)  # shared by the calls


@dataclass
class _Times:
    invite_at: float | None = None
    ring_at: float | None = None
    answer_at: float | None = None
    end_at: float | None = None


@dataclass
class SipCall:
    """One call; :meth:`run` returns its outcome and never raises for call failures."""

    env: CallEnv
    request: CallRequest
    leg: CallLeg
    media: MediaPorts
    inbox: asyncio.Queue[SipMessage | None] = field(default_factory=asyncio.Queue)
    closing: bool = False
    times: _Times = field(default_factory=_Times)
    cancel_reason: CallStatus | None = None
    cancel_sent: bool = False
    detail: str = ""
    last_ack: SipMessage | None = None
    early_sdp: bytes = b""  # from a 18x: the answer when a carrier's 200 repeats none
    refusal: str = ""  # the network refused our datagram to the trunk (ICMP)
    _failure_acks: dict[str, SipMessage] = field(default_factory=dict)
    target: Address = ("", 0)  # where our requests go: the trunk, or where a 3xx sent us
    redirects: Redirects = field(init=False)
    progress: CallProgress = field(default_factory=CallProgress)  # for trunk failover
    failover: TargetFailover = field(init=False)  # between the trunk's resolved targets
    srtp: SrtpOffer = field(init=False)  # our SDES keys, fresh per call
    leftovers: Leftovers = field(init=False)  # CANCEL/BYE to targets left behind

    def __post_init__(self) -> None:
        trunk = self.env.trunk
        self.srtp = SrtpOffer.create(trunk.srtp)
        if self.srtp.mode == "require":  # until the answer's key: nothing in the clear counts
            self.media.rtp_in.unprotect = self.media.rtcp_in.unprotect = _refuse
        self.target = self.env.trunk_address
        own = tuple(f"{t.host}/32" for t in self.env.targets)  # any node of the trunk
        self.redirects = Redirects(
            self.target[0],
            (*trunk.redirect_networks, *own),
            max_redirects=trunk.max_redirects,
            transport=self.env.transport.kind,
        )
        self.failover = TargetFailover(self.env.targets)
        self.leftovers = Leftovers(
            self.leg,
            self.env.transport.send,
            t1=trunk.t1_s,
            t2=trunk.t2_s,
            reliable=self.env.transport.reliable,
        )

    def deliver(self, message: SipMessage, source: Address) -> None:
        self.inbox.put_nowait(message)

    def refused(self, refusal: Refusal) -> None:
        """The network refused a datagram of this call (RFC 3261 §18.4: a transport error)."""
        if refusal.destination == self.target:  # not a reply to another node
            self.refusal = refusal.reason
            self.inbox.put_nowait(None)

    def close(self) -> None:
        """Ask the call to end now (CANCEL or BYE); it returns CANCELED."""
        self.closing = True
        self.inbox.put_nowait(None)

    def _closing(self) -> bool:
        # A method, not the attribute, so type narrowing does not outlive an await.
        return self.closing

    # -- plumbing -----------------------------------------------------------------------
    def _send(self, message: SipMessage) -> None:
        self.env.transport.send(message, self.target)

    def _reply(self, request: SipMessage, status: int, reason: str) -> None:
        # To where the request came from (RFC 3581): a carrier's BYE or OPTIONS may come
        # from another node of its SBC cluster than the address we send to.
        address = request.source or self.target
        self.env.transport.send(response_to(request, status, reason), address)

    async def _receive(self, until: float) -> SipMessage | None:
        """Next message, or ``None`` at ``until`` (loop time) or on a wake-up."""
        if not self.inbox.empty():
            return self.inbox.get_nowait()
        if until <= _now():
            return None
        try:
            async with asyncio.timeout_at(until if math.isfinite(until) else None):
                return await self.inbox.get()
        except TimeoutError:
            return None

    def _handle_stray(self, message: SipMessage) -> None:
        """Re-ACK retransmitted finals; answer requests that are not part of our flow."""
        if not message.is_request:
            ack = self._failure_acks.get(message.branch)
            if ack is None and self.leftovers.answer(message, message.source or self.target):
                return  # another node's late answer (failover), or the reply to ours
            if ack is None and message.status < 300 and message.cseq[1] == "INVITE":
                ack = self.last_ack
            if ack is not None and message.status >= 200:  # a failure's ACK is hop by hop
                self.env.transport.send(ack, message.source or self.target)
            return
        if message.method == "INFO":  # a key outside playback: answered, not acted upon
            self._answer_info(message)
        elif message.method != "ACK":
            self._reply(message, *stray_answer(message.method))

    # -- the call -----------------------------------------------------------------------
    async def run(self) -> CallOutcome:
        """Place the call and return how it ended."""
        final, invite = await self._invite_with_auth()
        self.times.end_at = time.time()
        if final is None:
            if self.cancel_sent and self.cancel_reason is not None:
                return self._outcome(self.cancel_reason, None, None)
            if self.closing:
                return self._outcome(CallStatus.CANCELED, None, None)
            return self._outcome(UNREACHABLE.status, None, UNREACHABLE.q850)
        if final.status >= 300:
            return self._failure_outcome(final)
        return await self._talk(invite, final)

    async def _invite_with_auth(self) -> tuple[SipMessage | None, SipMessage]:
        """INVITE until a final we keep: one digest challenge answered per target, 3xx
        followed within :class:`Redirects`' limits, a redirect target's failure moving on
        to the 3xx's next Contact."""
        sdp = self._offer()
        ring_deadline = _now() + self.request.ring_timeout_s
        self.times.invite_at = time.time()
        invite = self.leg.invite(sdp)
        self.redirects.start(invite.uri)
        challenged = False
        while True:
            final = await self._invite_transaction(invite, ring_deadline)
            auth = None
            if final is not None and final.status in (401, 407) and not challenged:
                auth = self._answer_challenge(final, invite)
            if auth is not None and not self.closing:
                challenged = True
                invite = self.leg.invite(sdp, auth=auth)
            elif self._closing() or self.cancel_reason is not None:
                return final, invite
            elif self._fail_over(final) or await self._redirect(final):
                challenged = False
                invite = self.leg.invite(sdp)
            else:
                return final, invite

    def _offer(self) -> bytes:
        offered = [c for c in self.env.trunk.codecs if c in self.request.audio]
        host = self.media.rtp.get_extra_info("sockname")[0]
        return build_offer(
            session_id=secrets.randbits(62),  # unique per call (RFC 4566 §5.2), not a clock
            host=self.env.trunk.public_host or str(host),
            port=int(self.media.port),
            codecs=offered,
            telephone_event=EVENT_PAYLOAD_TYPE if self.env.trunk.repeat_key else None,
            profile=self.srtp.profile,
            attributes=self.srtp.attributes(),
        )

    def _fail_over(self, final: SipMessage | None) -> bool:
        """Whether to INVITE the trunk's next resolved target after ``final`` (RFC 3263
        §4.3; not once a 3xx took the call elsewhere)."""
        if self.redirects.followed:
            return False
        target = self.failover.next_after(final, self.progress)
        if target is None:
            return False
        why = failure_detail(final) if final is not None else self.detail
        where = self.failover.targets[self.failover.index - 1]
        self.env.health.failed(where, _now())
        self.redirects.notes.append(f"{where} failed ({why}), trying {target}")
        log.info("call %s: trunk target %s failed, trying %s", self.request.call_id, where, target)
        self.refusal = self.detail = ""
        self.env.transport.abandon(self.leg.call_id, self.target)
        self.target = target.address
        return True

    def _target_timeout(self) -> float | None:
        """How long a silent target may keep the call when another one could take it."""
        trunk = self.env.trunk
        if self.redirects.followed or not self.failover.has_next:
            return None
        return trunk.target_timeout_s if trunk.target_timeout_s < 64 * trunk.t1_s else None

    async def _redirect(self, final: SipMessage | None) -> bool:
        """Whether to INVITE another target after ``final`` (now ``self.target``)."""
        redirects = self.redirects
        if final is not None and final.status < 300:
            return False
        if final is not None and final.status in REDIRECTS:
            why = redirects.follow(final)
            if why is not None:
                redirects.notes.append(f"{final.status} not followed: {why}")
                return False
        elif not redirects.pending:
            return False
        elif final is None or 400 <= final.status < 600:  # try the 3xx's next Contact
            redirects.notes.append(f"{failure_detail(final) if final else self.detail}")
            self.refusal = self.detail = ""
        else:  # a 6xx is the callee's answer everywhere (RFC 3261 §21.6); 305, 380: no
            return False
        while (target := redirects.next_target()) is not None:
            try:
                address = await resolve_ipv4(target.host, target.port)
            except OSError:
                redirects.notes.append(f"redirect to {target.where}: name does not resolve")
                continue
            if not redirects.allowed(address[0]):
                redirects.notes.append(f"redirect to {target.where} refused: not allowed")
                log.warning("call %s: redirect to %s refused", self.request.call_id, target.where)
                continue
            redirects.notes.append(f"redirected to {target.where}")
            self.leg.target_uri, self.target = target.uri, address
            return True
        return False

    async def _invite_transaction(
        self, invite: SipMessage, ring_deadline: float
    ) -> SipMessage | None:
        trunk = self.env.trunk
        self.refusal = ""  # one that came before (the last target's connection) is not ours
        tx = InviteTransaction(
            invite,
            self.leg.cancel(invite),
            t1=trunk.t1_s,
            t2=trunk.t2_s,
            send=self._send,
            now=_now(),
            reliable=self.env.transport.reliable,
            give_up_s=self._target_timeout(),
        )
        if self.cancel_reason is not None:  # ring timeout passed during an auth round
            tx.cancel(_now())
        while True:
            wake = tx.wake() if self.cancel_reason else min(tx.wake(), ring_deadline)
            message = await self._receive(wake)
            now = _now()
            if message is not None and tx.owns(message):
                if message.cseq[1] == "INVITE":
                    self.progress.saw(message)
                final = tx.on_response(message, now)
                if final is not None:
                    return self._on_final(invite, final)
                if message.status in (180, 183) and self.times.ring_at is None:
                    self.times.ring_at = time.time()
                if 100 < message.status < 200 and message.body:
                    self.early_sdp = message.body
            elif message is not None:
                self._handle_stray(message)
            if self.cancel_reason is None and (self.closing or now >= ring_deadline):
                self.cancel_reason = CallStatus.CANCELED if self.closing else CallStatus.NO_ANSWER
                tx.cancel(now)
            self.cancel_sent = tx.canceling is not None
            if self.refusal and not tx.proceeding and tx.canceling is None:
                self.detail = f"trunk unreachable: {refusal_text(self.refusal)}"
                return None
            failure = tx.on_timer(now)
            if failure is None and self.closing and not tx.proceeding:
                failure = "dialer closed before the trunk answered"
            if failure is not None:
                self.detail = failure
                return None

    def _on_final(self, invite: SipMessage, final: SipMessage) -> SipMessage:
        if final.status >= 300:
            ack = self.leg.ack_failure(invite, final)
            self._failure_acks[invite.branch] = ack
            self.last_ack = ack
            self._send(ack)
        return final

    def _failure_outcome(self, final: SipMessage) -> CallOutcome:
        self.detail = failure_detail(final)
        status, q850 = failure_status(final, self.cancel_reason)
        return self._outcome(status, final.status, q850)

    def _outcome(self, status: CallStatus, sip_code: int | None, q850: int | None) -> CallOutcome:
        t = self.times
        duration = round(t.end_at - t.answer_at, 3) if t.end_at and t.answer_at else 0.0
        times = (t.invite_at, t.ring_at, t.answer_at, t.end_at)
        notes = self.redirects.notes
        detail = "; ".join([*notes, self.detail] if self.detail else notes)
        return CallOutcome(status, sip_code, q850, *times, duration, detail)

    # -- answered -----------------------------------------------------------------------
    async def _talk(self, invite: SipMessage, final: SipMessage) -> CallOutcome:
        self.times.answer_at = time.time()
        self.leg.confirm(final)
        self.last_ack = self.leg.ack_success(invite)
        self._send(self.last_ack)
        status, q850 = outcome_for_sip(final.status)  # a 2xx: ANSWERED, Q.850 16
        offered = [c for c in self.env.trunk.codecs if c in self.request.audio]
        media = parse_answer(final.body or self.early_sdp, offered)
        srtp, insecure = self.srtp.accept(media.crypto) if media else (None, "")
        reason, ended_by_callee, ssrc = "", False, None
        if self.closing:
            status, self.detail = CallStatus.CANCELED, "dialer closed as the call was answered"
        elif media is None:
            status, q850 = CallStatus.FAILED, NO_COMMON_CODEC_Q850
            self.detail = f"no common codec with our offer ({'/'.join(offered)}) in the answer"
            reason = f'Q.850;cause={q850};text="no common codec"'
        elif insecure:  # not one packet in the clear
            status, q850, self.detail = CallStatus.FAILED, NO_COMMON_CODEC_Q850, insecure
            reason = f'Q.850;cause={q850};text="SRTP required"'
        else:
            ended_by_callee, ssrc = await self._stream(media, srtp)
            if ended_by_callee:
                self.detail += "; callee hung up"
            elif self._closing():
                status = CallStatus.CANCELED
                self.detail += "; dialer closed during playback"
        self.times.end_at = time.time()
        if not ended_by_callee:
            await self._hang_up(reason)
        if ssrc is None:
            return self._outcome(status, final.status, q850)
        # after the BYE: the callee's last packets have arrived
        self.detail += f"; {media_summary(self.media, ssrc)}"
        return replace(
            self._outcome(status, final.status, q850), media=media_quality(self.media, ssrc)
        )

    async def _stream(self, media: MediaAnswer, srtp: SrtpContext | None) -> tuple[bool, int]:
        """Play the code (again on the repeat key); (callee hung up, our SSRC)."""
        playback = Playback(
            trunk=self.env.trunk,
            pacer=self.env.pacer,
            ports=self.media,
            answer=media,
            payload=self.request.audio[media.codec][: int(self.request.max_duration_s * 8000)],
            wake=lambda: self.inbox.put_nowait(None),
            srtp=srtp,
        )
        ended_by_callee = await self._play(playback)
        playback.stop()
        self.detail = playback.summary()
        return ended_by_callee, playback.stream.ssrc

    async def _play(self, playback: Playback) -> bool:
        """Play, then listen ``repeat_wait_s`` for the repeat key while it may replay, until
        the call cap; ``True`` if the callee sent BYE."""
        cap = _now() + self.request.max_duration_s
        listen_until = math.inf
        while not self.closing and _now() < cap:
            if playback.take_keys() or playback.playing:
                listen_until = math.inf
            elif not playback.may_repeat:
                return False
            elif listen_until == math.inf:
                listen_until = _now() + self.env.trunk.repeat_wait_s
            elif _now() >= listen_until:
                return False
            message = await self._receive(min(cap, listen_until))
            if message is None:
                continue
            if message.is_request and message.method == "BYE":
                self._reply(message, 200, "OK")
                return True
            if message.is_request and message.method == "INFO":
                playback.press(self._answer_info(message))
                continue
            self._handle_stray(message)
        return False

    def _answer_info(self, message: SipMessage) -> str | None:
        """200 to an INFO carrying a key (returned), 415 to any other (RFC 6086 §4.2.2)."""
        key = info_key(message.get("Content-Type"), message.body)
        self._reply(message, *((200, "OK") if key else (415, "Unsupported Media Type")))
        return key

    def _answer_challenge(
        self, challenge: SipMessage, request: SipMessage
    ) -> tuple[str, str] | None:
        trunk = self.env.trunk
        user = trunk.username or trunk.from_user
        return answer_challenge(challenge, request, username=user, password=trunk.password)

    async def _hang_up(self, reason: str = "") -> None:
        """Send BYE (``Reason`` header when given), answering one digest challenge to it."""
        bye = self.leg.bye(reason)
        final = await self._non_invite(bye)
        auth = self._answer_challenge(final, bye) if final and final.status in (401, 407) else None
        if auth is not None:  # some trunks challenge every request, BYE too
            final = await self._non_invite(self.leg.bye(reason, auth=auth))
        if final is None:
            self.detail += "; no answer to BYE"
        elif final.status >= 300:
            self.detail += f"; BYE answered {final.status}"

    async def _non_invite(self, request: SipMessage) -> SipMessage | None:
        """Run one BYE transaction (Timer E/F); its final, or ``None`` at Timer F."""
        trunk = self.env.trunk
        tx = NonInviteTransaction(
            request,
            t1=trunk.t1_s,
            t2=trunk.t2_s,
            send=self._send,
            now=_now(),
            reliable=self.env.transport.reliable,
        )
        while tx.final is None:
            message = await self._receive(tx.wake())
            if message is not None and tx.owns(message):
                tx.on_response(message)
            elif message is not None:
                self._handle_stray(message)
            if tx.on_timer(_now()):
                return None
        return tx.final


def refusal_text(reason: str) -> str:
    """An ICMP errno name is the network's refusal; a stream names its own failure."""
    if reason.startswith("E") and reason.isupper():
        return f"the network refused the INVITE ({reason})"
    return reason


def _now() -> float:
    return asyncio.get_running_loop().time()


def _refuse(data: bytes) -> bytes | None:
    return None
