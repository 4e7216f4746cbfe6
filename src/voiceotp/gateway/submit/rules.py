"""The validation pipeline (protocol reference §6) as ONE table of small rules.

Each rule looks at the request context and either answers (an :class:`Answer` ends the
pipeline) or returns None to let the next rule run. A few rules are coroutines (they
read the store); the runner awaits those. Reordering the table reorders the checks.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from voiceotp.gateway.submit.directory import AccountState, IPAddress
from voiceotp.gateway.submit.limits import CapRefusal, Reservation
from voiceotp.gateway.submit.notice import Match, fill_notice
from voiceotp.protocol import Code, IncomingRequest, Method, Verdict, is_valid_mobile, message_for
from voiceotp.protocol import verify_password as check_password
from voiceotp.protocol.notice import MAX_CONTENT, TooLong, is_valid_callee
from voiceotp.store import Acceptance, AcceptStatus, CallRecord
from voiceotp.store.attempts import last_ring_at
from voiceotp.store.records import NoticeFill, VerifySeal
from voiceotp.store.verify import CodeStatus, code_status

if TYPE_CHECKING:
    from voiceotp.gateway.submit.service import Gateway

_CONTENT = re.compile(r"[0-9]{4,6}")


class Product(StrEnum):
    """What the endpoint sells: voice codes (ihuyi's api.ihuyi.com product) or voice
    notifications (api.vm.ihuyi.com, docs/notices.md). Same methods and answers; the
    steps of the table differ where a rule's ``products`` says so."""

    CODE = "code"
    NOTICE = "notice"


BOTH = frozenset(Product)
CODES = frozenset({Product.CODE})
NOTICES = frozenset({Product.NOTICE})
# The notification product has Submit, GetNum and Query (Verify and Check are codes').
NOTICE_METHODS = frozenset({Method.SUBMIT, Method.GETNUM, Method.QUERY})
ALL = frozenset(Method)
SUBMIT = frozenset({Method.SUBMIT})
CALLS = frozenset({Method.SUBMIT, Method.VERIFY})  # the methods that place a call
VERIFY = frozenset({Method.VERIFY})
CHECK = frozenset({Method.CHECK})
NUMBERED = CALLS | CHECK  # the methods that name a number


@dataclass(frozen=True, slots=True)
class Answer:
    """How the pipeline ended: a code, and what goes with it."""

    code: int
    voiceid: str = "0"
    num: int = 0
    n: int | None = None  # the limit in 4081/4086/4082 messages
    call: CallRecord | None = None
    msg: str | None = None  # instead of the code's message (only where the code is shared)
    code_status: CodeStatus | None = None  # Query of a Verify's call
    ring_at: float = 0.0  # Query: when the phone rang (last attempt; 0.0: it never rang)


@dataclass(slots=True)
class Ctx:
    """One request travelling through the pipeline."""

    method: Method
    request: IncomingRequest
    client_ip: IPAddress | None
    now: float
    idempotency_header: str | None = None
    account: AccountState | None = None
    verdict: Verdict | None = None
    reservation: Reservation | None = None
    owned_key: str | None = None  # idempotency key this request owns until it answers
    seal: VerifySeal | None = None  # Verify: the code made up for this call, sealed
    product: Product = Product.CODE
    filled: Match | None = None  # a notice: the template its text fills, and the text

    def param(self, name: str) -> str:
        return self.request.get(name)

    @property
    def content(self) -> str:
        """What the call speaks: Submit's ``content`` (a notice's filled text once its
        template matched); "" for a Verify (its code is made up, never a parameter)."""
        if self.filled is not None:
            return self.filled.text
        return self.param("content") if self.method is Method.SUBMIT else ""

    @property
    def idem_key(self) -> str | None:
        """The idempotency key of a Submit: the header's, else the dynamic password's."""
        if self.idempotency_header:
            key = "h:" + self.idempotency_header
        elif self.verdict is Verdict.DYNAMIC:
            # The password stands for the content (md5 over the APIKEY, mobile, content and
            # time): the stored key never holds the code itself (docs/privacy.md).
            key = f"d:{self.param('mobile')}:{self.param('time')}:{self.param('password').lower()}"
        else:
            return None
        # Bounded, so no client can make a batch's insert fail (``time`` may be zero-padded).
        return key if len(key) <= 128 else "s:" + hashlib.sha256(key.encode()).hexdigest()


RuleResult = Answer | None
# An Idempotency-Key already used for another mobile or content (keys are per account):
# nothing is done. Code 0 (no code of the table fits; its class says "nothing accepted"),
# with a message saying what to do, since a retry with the same key never succeeds.
KEY_REUSED = Answer(
    Code.FAILED,
    msg="提交失败,Idempotency-Key已用于另一手机号码或内容,请换用新的Idempotency-Key",
)
Rule = Callable[["Gateway", Ctx], RuleResult | Awaitable[RuleResult]]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    rule: Rule
    methods: frozenset[Method] = ALL
    products: frozenset[Product] = BOTH
    is_async: bool = field(init=False)

    def __post_init__(self) -> None:
        # Decided once here, so the runner does not inspect every result.
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(self.rule))


# ---- 1. server-wide deny list ------------------------------------------------------------
def deny_ip(gw: Gateway, ctx: Ctx) -> RuleResult:
    return Answer(Code.IP_DENIED) if gw.directory.policy.denies_ip(ctx.client_ip) else None


# ---- 2. presence -------------------------------------------------------------------------
def _required(name: str, code: Code) -> Rule:
    def rule(gw: Gateway, ctx: Ctx) -> RuleResult:
        return None if ctx.param(name) else Answer(code)

    rule.__name__ = f"{name}_given"
    return rule


account_given = _required("account", Code.ACCOUNT_EMPTY)
password_given = _required("password", Code.PASSWORD_EMPTY)
mobile_given = _required("mobile", Code.MOBILE_EMPTY)
content_given = _required("content", Code.CONTENT_EMPTY)
code_given = _required("code", Code.CODE_EMPTY)


# ---- 3. credentials ----------------------------------------------------------------------
async def load_account(gw: Gateway, ctx: Ctx) -> RuleResult:
    ctx.account = await gw.directory.account(ctx.param("account"))
    return None


def credentials(gw: Gateway, ctx: Ctx) -> RuleResult:
    account = ctx.account
    if account is None:
        return Answer(Code.AUTH_FAILED)
    ctx.verdict = _password_verdict(gw, ctx, account.apikey)
    if ctx.verdict is Verdict.WRONG and account.old_apikey and ctx.now < account.old_apikey_until:
        ctx.verdict = _password_verdict(gw, ctx, account.old_apikey)  # the rotation's grace
    if ctx.verdict is Verdict.EXPIRED:
        return Answer(Code.PASSWORD_EXPIRED)
    return Answer(Code.AUTH_FAILED) if ctx.verdict is Verdict.WRONG else None


def _password_verdict(gw: Gateway, ctx: Ctx, apikey: str) -> Verdict:
    assert ctx.account is not None
    numbered = ctx.method in NUMBERED
    return check_password(
        ctx.param("password"),
        account=ctx.account.name,
        apikey=apikey,
        time=ctx.param("time") or None,
        now=ctx.now,
        mobile=ctx.param("mobile") if numbered else None,
        content=_signed_content(ctx) if numbered else None,
        window_s=gw.settings.password_window_s,
        allow_static=not ctx.account.require_dynamic,
    )


def _signed_content(ctx: Ctx) -> str:
    """What a dynamic password signs after the mobile: Submit's content (a notice's as
    sent), Check's code, nothing for Verify (docs/verify.md)."""
    return ctx.param("code") if ctx.method is Method.CHECK else ctx.content


# ---- 4. freezes --------------------------------------------------------------------------
def abuse_frozen(gw: Gateway, ctx: Ctx) -> RuleResult:
    assert ctx.account is not None
    return Answer(Code.ABUSE_FROZEN) if ctx.account.state == "abuse_frozen" else None


def operator_frozen(gw: Gateway, ctx: Ctx) -> RuleResult:
    assert ctx.account is not None
    return Answer(Code.ACCOUNT_FROZEN) if ctx.account.state == "frozen" else None


# ---- 5. the account's allow-list ---------------------------------------------------------
def allow_list(gw: Gateway, ctx: Ctx) -> RuleResult:
    assert ctx.account is not None
    return None if ctx.account.allows_ip(ctx.client_ip) else Answer(Code.IP_NOT_ALLOWED)


# ---- 6-8. the number and the content -----------------------------------------------------
def mobile_format(gw: Gateway, ctx: Ctx) -> RuleResult:
    return None if is_valid_mobile(ctx.param("mobile")) else Answer(Code.MOBILE_INVALID)


def trial_numbers(gw: Gateway, ctx: Ctx) -> RuleResult:
    """A trial account (user center, until certified) calls only the numbers it proved."""
    account = ctx.account
    assert account is not None
    if account.trial and ctx.param("mobile") not in account.trial_numbers:
        return Answer(Code.TRIAL_NUMBER)
    return None


def blacklist(gw: Gateway, ctx: Ctx) -> RuleResult:
    assert ctx.account is not None
    mobile = ctx.param("mobile")
    listed = mobile in gw.directory.policy.blacklist or mobile in ctx.account.blacklist
    return Answer(Code.MOBILE_BLACKLISTED) if listed else None


def content_format(gw: Gateway, ctx: Ctx) -> RuleResult:
    return None if _CONTENT.fullmatch(ctx.param("content")) else Answer(Code.CONTENT_INVALID)


def sensitive_words(gw: Gateway, ctx: Ctx) -> RuleResult:
    content = ctx.content  # a notice's filled text
    hit = any(word in content for word in gw.directory.policy.sensitive_words)
    return Answer(Code.CONTENT_SENSITIVE) if hit else None


# ---- a notice: the number, the length, the template -------------------------------------
def callee_format(gw: Gateway, ctx: Ctx) -> RuleResult:
    """A notice may call a landline (区号 + number) as well as a mobile."""
    return None if is_valid_callee(ctx.param("mobile")) else Answer(Code.MOBILE_INVALID)


def notice_length(gw: Gateway, ctx: Ctx) -> RuleResult:
    too_long = len(ctx.param("content")) > MAX_CONTENT
    return Answer(Code.NOTICE_TOO_LONG) if too_long else None


def notice_template(gw: Gateway, ctx: Ctx) -> RuleResult:
    """4071 without an approved template, 4072 (naming the nearest template and where it
    stopped fitting) or 40722 (the variable's limit); else ``ctx.filled``."""
    assert ctx.account is not None
    found = fill_notice(ctx.account.templates, ctx.param("content"), ctx.param("templateid"))
    if isinstance(found, Match):
        if len(found.text) > MAX_CONTENT:  # templateid mode: the filled text is longer
            return Answer(Code.NOTICE_TOO_LONG)
        ctx.filled = found
        return None
    if isinstance(found, TooLong):
        return Answer(Code.VARIABLE_TOO_LONG, n=found.variable.max_len)
    if found is None:
        return Answer(Code.TEMPLATE_NONE)
    detail = found.describe()
    base = message_for(Code.TEMPLATE_MISMATCH)
    return Answer(Code.TEMPLATE_MISMATCH, msg=f"{base}({detail})" if detail else base)


# ---- Verify: the code; both: the fraud guard ----------------------------------------------
def verify_options(gw: Gateway, ctx: Ctx) -> RuleResult:
    return gw.verifier.prepare(ctx)  # 4507, 4508, or the sealed code in ctx.seal


def fraud_guard(gw: Gateway, ctx: Ctx) -> RuleResult:
    assert ctx.account is not None
    blocked = gw.fraud.blocks(ctx.account.id, ctx.param("mobile"), ctx.now)
    return Answer(Code.PREFIX_THROTTLED) if blocked else None


# ---- idempotency: before the caps, or a retry would be refused as a second send ----------
async def idempotent_replay(gw: Gateway, ctx: Ctx) -> RuleResult:
    key = ctx.idem_key
    if key is None:
        return None
    assert ctx.account is not None
    used = await gw.replays.claim(ctx.account.id, key)
    if used is None:
        ctx.owned_key = key
        return None
    if used.fits(ctx.param("mobile"), ctx.content, _fingerprint(gw, ctx)):
        return Answer(Code.OK, voiceid=used.voiceid)
    return KEY_REUSED


def _fingerprint(gw: Gateway, ctx: Ctx) -> str:
    """The request's code as an ended call keeps it (docs/privacy.md)."""
    return gw.keybox.fingerprint(ctx.param("mobile"), ctx.content) if ctx.content else ""


# ---- 9. rate cap, per-number caps --------------------------------------------------------
async def rate_cap(gw: Gateway, ctx: Ctx) -> RuleResult:
    assert ctx.account is not None
    allowed = await gw.rate_limiter.allow(ctx.account.id, ctx.account.rate_per_s, ctx.now)
    return None if allowed else Answer(Code.RATE_LIMITED)


async def number_caps(gw: Gateway, ctx: Ctx) -> RuleResult:
    assert ctx.account is not None
    got = await gw.caps.reserve(ctx.account.id, ctx.param("mobile"), ctx.now, ctx.account.caps)
    if isinstance(got, CapRefusal):
        return Answer(got.code, n=got.limit)
    ctx.reservation = got
    return None


# ---- 10-11. hold a unit and store the call -----------------------------------------------
async def hold_and_queue(gw: Gateway, ctx: Ctx) -> RuleResult:
    assert ctx.account is not None
    item = _acceptance(gw, ctx)
    outcome = await gw.store.accept(item)
    if outcome.status is AcceptStatus.ACCEPTED:
        ctx.reservation = None  # the slot is now a real call
        await gw.after_accept(ctx, outcome.voiceid, item)
        return Answer(Code.OK, voiceid=outcome.voiceid)
    if outcome.status is AcceptStatus.REPLAY:
        return Answer(Code.OK, voiceid=outcome.voiceid)
    if outcome.status is AcceptStatus.KEY_REUSED:
        return KEY_REUSED
    return Answer(Code.BALANCE_LOW)


def _acceptance(gw: Gateway, ctx: Ctx) -> Acceptance:
    assert ctx.account is not None
    notice = ctx.filled
    validity = gw.settings.call_validity_s if notice is None else gw.settings.notify.validity_s
    not_before = 0.0
    if notice is not None and ctx.account.quiet is not None:
        not_before = ctx.account.quiet.opens_at(ctx.now, ctx.account.tz)
    return Acceptance(
        account_id=ctx.account.id,
        mobile=ctx.param("mobile"),
        content=ctx.content,
        now=ctx.now,
        deadline=ctx.now + validity,
        idem_key=ctx.idem_key,
        verify=ctx.seal,
        fingerprint=_fingerprint(gw, ctx) if ctx.idem_key else "",
        notice=None if notice is None else NoticeFill(notice.template_id),
        not_before=not_before,
    )


# ---- GetNum and Query ----------------------------------------------------------------------
async def report_balance(gw: Gateway, ctx: Ctx) -> RuleResult:
    assert ctx.account is not None
    return Answer(Code.OK, num=await gw.store.get_balance(ctx.account.id))


async def report_call(gw: Gateway, ctx: Ctx) -> RuleResult:
    assert ctx.account is not None
    call = await gw.store.get_call(ctx.param("voiceid"))
    if call is None or call.account_id != ctx.account.id:
        return Answer(Code.VOICEID_UNKNOWN)
    status = await code_status(gw.store, call.voiceid, ctx.now)
    ring_at = await last_ring_at(gw.store, voiceid=int(call.voiceid))
    return Answer(Code.OK, voiceid=call.voiceid, call=call, code_status=status, ring_at=ring_at)


# ---- Check ----------------------------------------------------------------------------------
async def check_throttle(gw: Gateway, ctx: Ctx) -> RuleResult:
    return await gw.verifier.throttled(ctx)  # 4505


async def check_code(gw: Gateway, ctx: Ctx) -> RuleResult:
    return await gw.verifier.check(ctx)  # 2, 4501, 4502, 4503, 4504


PIPELINE: tuple[Step, ...] = (
    Step("deny_ip", deny_ip),  # 400
    Step("account_given", account_given),  # 401
    Step("password_given", password_given),  # 402
    Step("mobile_given", mobile_given, NUMBERED),  # 403
    Step("content_given", content_given, SUBMIT),  # 404
    Step("code_given", code_given, CHECK),  # 4500
    Step("load_account", load_account),
    Step("credentials", credentials),  # 405, 40501
    Step("abuse_frozen", abuse_frozen),  # 408
    Step("operator_frozen", operator_frozen),  # 4050
    Step("allow_list", allow_list),  # 4052
    Step("mobile_format", mobile_format, NUMBERED, CODES),  # 406
    Step("callee_format", callee_format, NUMBERED, NOTICES),  # 406 (landlines too)
    Step("trial_numbers", trial_numbers, CALLS),  # 4053 (voiceotp extension)
    Step("blacklist", blacklist, CALLS),  # 4030
    Step("content_format", content_format, SUBMIT, CODES),  # 4070
    Step("notice_length", notice_length, SUBMIT, NOTICES),  # 4073
    Step("notice_template", notice_template, SUBMIT, NOTICES),  # 4071, 4072, 40722
    Step("sensitive_words", sensitive_words, SUBMIT),  # 407 (a notice: the filled text)
    Step("verify_options", verify_options, VERIFY),  # 4507, 4508
    Step("fraud_guard", fraud_guard, CALLS),  # 4506
    Step("idempotent_replay", idempotent_replay, CALLS),  # 2 with the original voiceid
    Step("rate_cap", rate_cap, CALLS),  # 4090
    Step("number_caps", number_caps, CALLS),  # 4081, 4086, 4082
    Step("hold_and_queue", hold_and_queue, CALLS),  # 4051 or 2
    Step("report_balance", report_balance, frozenset({Method.GETNUM})),  # 2 + num
    Step("report_call", report_call, frozenset({Method.QUERY})),  # 2 + status, or 4100
    Step("check_throttle", check_throttle, CHECK),  # 4505
    Step("check_code", check_code, CHECK),  # 2, 4501-4504
)


# The table filtered per product and method once, so the runner does not test every
# step's methods.
_STEPS = {
    (p, m): tuple(s for s in PIPELINE if m in s.methods and p in s.products)
    for p in Product
    for m in Method
}


async def run_pipeline(gw: Gateway, ctx: Ctx, steps: tuple[Step, ...] | None = None) -> Answer:
    """Run the steps for ``ctx.method`` of ``ctx.product`` in order (default: the table);
    first answer wins."""
    chosen = _STEPS[ctx.product, ctx.method] if steps is None else steps
    for step in chosen:
        if ctx.method not in step.methods or ctx.product not in step.products:
            continue
        result = step.rule(gw, ctx)
        if step.is_async:
            result = await result  # type: ignore[misc]
        if result is not None:
            return result  # type: ignore[return-value]
    return Answer(Code.FAILED)  # unreachable with the table above: every method answers
