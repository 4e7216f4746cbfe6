"""The gateway's core, without HTTP: a request in, a :class:`Result` out.

:class:`Gateway` holds what the rules need (settings, store, directory, caps, clock) and
:meth:`Gateway.handle` runs the pipeline. It never raises: anything unexpected is logged
and answered with code 0 (提交失败: nothing was accepted, retry later).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from voiceotp.delivery.factory import record_dir
from voiceotp.gateway.admin import Admin
from voiceotp.gateway.observe import Observer
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.submit.abuse import AbuseDetector, freeze_account
from voiceotp.gateway.submit.directory import Directory, IPAddress, abuse_limits
from voiceotp.gateway.submit.fraud import FraudGuard
from voiceotp.gateway.submit.limits import (
    MemoryNumberCaps,
    MemoryRateCap,
    NumberCapCounter,
    RateCap,
)
from voiceotp.gateway.submit.replay import ReplayGuard
from voiceotp.gateway.submit.rules import NOTICE_METHODS, Answer, Ctx, Product, run_pipeline
from voiceotp.gateway.submit.shared import SharedLimits
from voiceotp.gateway.submit.verify import Verifier
from voiceotp.gateway.submit.verifypush import push_verified
from voiceotp.gateway.template_audio import TemplateAudio
from voiceotp.gateway.templates import Templates
from voiceotp.protocol import (
    CheckResult,
    Code,
    GetNumResult,
    IncomingRequest,
    Method,
    QueryResult,
    Result,
    SubmitResult,
    VerifyResult,
    message_for,
)
from voiceotp.store import Acceptance, KeyUse, Store
from voiceotp.store.keys import KeyBox

log = logging.getLogger(__name__)
Clock = Callable[[], float]


class Gateway:
    """Everything the validation pipeline reads, plus :meth:`handle`."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Clock = time.time,
        shared: SharedLimits | None = None,
        observer: Observer | None = None,
        on_accepted: Callable[[str, float, float], Awaitable[None]] | None = None,
    ) -> None:
        """``on_accepted`` is called with (voiceid, deadline, not_before) of every newly
        accepted call (delivery's queue); ``observer`` holds the metrics (a new one by
        default); what ``shared`` holds is counted with every API process (Redis), the
        rest in this one."""
        shared = shared or SharedLimits()
        self.settings = settings
        self.store = store
        self.clock = clock
        self.keybox = KeyBox(settings.secret_key)
        self.directory = Directory(store, self.keybox, settings)
        self.caps: NumberCapCounter = shared.caps or MemoryNumberCaps()
        self.rate_limiter: RateCap = shared.rate_cap or MemoryRateCap()
        self.replays = ReplayGuard(store, shared.claims)
        self.admin = Admin(
            store,
            self.keybox,
            clock,
            on_change=self.directory.load,
            audio_dir=record_dir(settings.delivery, settings.data_dir),
        )
        self.templates = Templates(
            store, clock, on_change=self.directory.load, data_dir=settings.data_dir
        )
        self.template_audio = TemplateAudio(store, self.templates, settings.data_dir, clock)
        self.abuse = AbuseDetector(abuse_limits(settings), self._abuse_freeze, shared.abuse_counts)
        self.observer = observer or Observer()
        store.add_batch_listener(self.observer.batch.observe)
        self.on_accepted = on_accepted
        self.verifier = Verifier(
            store,
            self.keybox,
            settings.secret_key,
            settings.verify,
            on_verified=self._verified,
            wrong_codes=shared.wrong_codes,
        )
        self.fraud = FraudGuard(
            store, settings.verify, self._record_audit, registry=self.observer.registry
        )

    async def _verified(self, account_id: int, voiceid: str, now: float) -> None:
        await push_verified(self.store, voiceid, now)

    async def _record_audit(self, account_id: int, kind: str, detail: str, now: float) -> None:
        await self.store.record_audit(account_id=account_id, kind=kind, detail=detail, now=now)

    async def start(self) -> None:
        """Load policy, and warm in-process caps from the last 24 h of calls."""
        await self.directory.load()
        if self.settings.verify.fraud_guard:
            await self.fraud.refresh(self.clock())
        if isinstance(self.caps, MemoryNumberCaps):
            self.caps.warm(await self.store.recent_calls(self.clock() - 86_400))

    async def handle(
        self,
        request: IncomingRequest,
        client_ip: IPAddress | None,
        *,
        idempotency_key: str | None = None,
        product: Product = Product.CODE,
    ) -> Result:
        """Answer one decoded request (the pipeline, then the result document's fields);
        ``product`` is what the path or host sells (voice codes, or notifications)."""
        method = request.method or Method.SUBMIT
        ctx = Ctx(method, request, client_ip, self.clock(), idempotency_key or None)
        ctx.product = product
        known = request.method is not None
        if product is Product.NOTICE and method not in NOTICE_METHODS:
            known = False  # Verify and Check are the code product's
        answer = Answer(Code.FAILED)
        try:
            answer = await run_pipeline(self, ctx) if known else _unknown_method(self, ctx)
        except Exception:
            log.exception("request failed inside the pipeline; answering code 0")
        finally:
            if ctx.reservation is not None or ctx.owned_key is not None:
                await self._settle(ctx, answer)
        return build_result(method, answer)

    async def _settle(self, ctx: Ctx, answer: Answer) -> None:
        """Give back what a refused request took: its cap slot and its idempotency key."""
        if ctx.reservation is not None:
            try:
                await self.caps.release(ctx.reservation)
            except Exception:
                log.exception("could not release a per-number cap reservation")
        if ctx.owned_key is not None and ctx.account is not None:
            used = None
            if answer.code == Code.OK:
                used = KeyUse(answer.voiceid, ctx.param("mobile"), ctx.content)
            try:
                await self.replays.release(ctx.account.id, ctx.owned_key, used)
            except Exception:  # the shared claim expires by itself (replay.CLAIM_TTL_S)
                log.exception("could not release an idempotency key's claim")

    async def after_accept(self, ctx: Ctx, voiceid: str, item: Acceptance) -> None:
        """Feed the abuse detectors, queue the call (not before ``item.not_before``); it
        is already committed, so never fail here."""
        assert ctx.account is not None
        self.observer.accepted()
        account = ctx.account

        async def feed_abuse() -> None:
            try:
                await self.abuse.accepted(account.id, ctx.param("mobile"), ctx.now, account.abuse)
            except Exception:
                log.exception("abuse detection failed after accepting %s", voiceid)

        async def enqueue() -> None:
            if self.on_accepted is None:
                return
            try:
                await self.on_accepted(voiceid, item.deadline, item.not_before)
            except Exception:  # the row is queued: the delivery sweep enqueues it again
                log.exception("could not enqueue call %s", voiceid)

        # independent (the call is committed; a freeze concerns the next requests): with
        # Redis, the answer waits for one round trip, not for the two one after the other
        await asyncio.gather(feed_abuse(), enqueue())

    async def _abuse_freeze(self, account_id: int, detector: str, detail: str) -> None:
        name = await freeze_account(self.store, account_id, detector, detail, self.clock())
        if name is not None:
            self.directory.forget(name)


def _unknown_method(gw: Gateway, ctx: Ctx) -> Answer:
    """No or unknown ``method``: nothing is done; the deny list still answers first."""
    if gw.directory.policy.denies_ip(ctx.client_ip):
        return Answer(Code.IP_DENIED)
    return Answer(Code.FAILED)


def build_result(method: Method, answer: Answer) -> Result:
    """The result document for ``answer`` (message from the code table)."""
    msg = answer.msg or message_for(answer.code, method, n=answer.n)
    if method is Method.GETNUM:
        return GetNumResult(answer.code, msg, answer.num)
    if method is Method.VERIFY:
        return VerifyResult(answer.code, msg, answer.voiceid)
    if method is Method.CHECK:
        return CheckResult(answer.code, msg, answer.voiceid)
    if method is Method.QUERY:
        call, verify = answer.call, answer.code_status
        if call is None:
            return QueryResult(answer.code, msg)
        return QueryResult(
            answer.code,
            msg,
            call.voiceid,
            call.state.upper(),
            call.sip_code,
            int(call.created_at),
            int(call.answer_time),
            int(call.end_time),
            call.duration,
            call.attempts,
            verify.status if verify else "",
            int(verify.verified_at) if verify else 0,
            int(answer.ring_at),
        )
    return SubmitResult(answer.code, msg, answer.voiceid)
