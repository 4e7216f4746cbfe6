"""The client's I/O-free core, shared by Client and AsyncClient (httpx's BaseClient design).

It turns a call into a prepared request (URL + form), a response body into a result,
an outcome into a retry decision, and outcomes into reports or exceptions. The two
clients only add the loop that performs the I/O and sleeps.
"""

from __future__ import annotations

import logging
import os
import re
import time as _time
from dataclasses import dataclass
from typing import TypeVar

from voiceotp.client.config import Settings, resolve_settings
from voiceotp.client.models import DEFAULT_TOTAL_S, SendReport, Timeout
from voiceotp.client.retry import Decision, Outcome, RetryPolicy, should_retry
from voiceotp.client.transports.base import display_url
from voiceotp.errors import InvalidCode, InvalidMobile, error_for_code
from voiceotp.protocol import (
    CheckRequest,
    CheckResult,
    Format,
    GetNumRequest,
    GetNumResult,
    Method,
    ProtocolError,
    QueryRequest,
    QueryResult,
    Result,
    SubmitRequest,
    SubmitResult,
    VerifyRequest,
    VerifyResult,
    dynamic_password,
    mask_mobile,
    normalize_mobile,
    parse_result,
)
from voiceotp.protocol.errors import VoiceOTPError
from voiceotp.protocol.notice import normalize_callee, notice_url

log = logging.getLogger("voiceotp.client")

_CODE = re.compile(r"[0-9]{4,6}")  # ASCII digits only: [0-9], not \d
# The exact bytes render_xml produces for a SubmitResult (protocol reference §3). Reading
# them with one regex instead of ElementTree halves the client's CPU per Submit (profiled
# in bench/client.py); any other body goes to parse_result. A property test pins that
# both readings agree on every rendered SubmitResult.
_CANONICAL_SUBMIT = re.compile(
    rb'<\?xml version="1\.0" encoding="utf-8"\?>\n<SubmitResult>\n'
    rb"<code>(0|[1-9][0-9]{0,8})</code>\n<msg>([^<&\x00-\x20]*)</msg>\n"
    rb"<voiceid>([0-9]{1,40})</voiceid>\n</SubmitResult>\n"
)
_FINAL = Decision(False, "success")
R = TypeVar("R", SubmitResult, GetNumResult, QueryResult, VerifyResult, CheckResult)
_READ_ONLY = frozenset({Method.GETNUM, Method.QUERY})
_REPLAYABLE = frozenset({Method.SUBMIT, Method.VERIFY})  # the gateway dedupes exact replays


@dataclass(frozen=True, slots=True)
class Prepared:
    """One request ready to send, and to re-send byte for byte."""

    method: Method
    url: str
    form: dict[str, str]
    mobile: str = ""
    time: str | None = None

    @property
    def idempotent(self) -> bool:
        """Safe to repeat blindly: a repeat cannot ring again or spend a Check attempt."""
        return self.method in _READ_ONLY


def method_url(base_url: str, method: Method) -> str:
    """``base_url`` with ``method=`` in the query, as the ihuyi samples send it."""
    return f"{base_url}{'&' if '?' in base_url else '?'}method={method.value}"


def check_code(code: str) -> str:
    """``code`` if it is 4-6 ASCII digits, else InvalidCode."""
    if not isinstance(code, str) or _CODE.fullmatch(code) is None:
        raise InvalidCode("the code must be 4 to 6 ASCII digits")
    return code


def check_mobile(mobile: str) -> str:
    """``mobile`` normalised to 11 digits, else InvalidMobile (the number is masked)."""
    normalised = normalize_mobile(mobile) if isinstance(mobile, str) else None
    if normalised is None:
        raise InvalidMobile(f"not a mainland mobile number: {mask_mobile(str(mobile))}")
    return normalised


def read_canonical_submit(body: bytes) -> SubmitResult | None:
    """The SubmitResult in a canonically rendered XML body, or None for anything else."""
    found = _CANONICAL_SUBMIT.fullmatch(body)
    if found is None:
        return None
    try:
        msg = found.group(2).decode()
    except UnicodeDecodeError:
        return None  # parse_result will say what is wrong
    if msg != msg.strip() or "\ufffe" in msg or "\uffff" in msg:
        return None  # parse_result strips Unicode spaces; XML forbids these two
    return SubmitResult(int(found.group(1)), msg, found.group(3).decode())


class BaseClient:
    """Everything Client and AsyncClient share; no I/O happens here."""

    def __init__(
        self,
        account: str | None = None,
        apikey: str | None = None,
        *,
        base_url: str | None = None,
        config_file: str | os.PathLike[str] | None = None,
        timeout: float | Timeout | None = DEFAULT_TOTAL_S,
        retry: RetryPolicy | None = None,
        dynamic_password: bool = True,
        server_dedupes: bool = False,
        raise_on_error: bool = True,
        format: Format = Format.XML,
        notify_url: str | None = None,
    ) -> None:
        self.settings: Settings = resolve_settings(
            account, apikey, base_url, config_file=config_file
        )
        self.timeout = Timeout.of(timeout)
        self.retry = retry if retry is not None else RetryPolicy()
        self.dynamic_password = dynamic_password
        self.server_dedupes = server_dedupes
        self.raise_on_error = raise_on_error
        self.format = Format(format)
        self._urls = {m: method_url(self.settings.base_url, m) for m in Method}
        self.notify_url = notify_url or notice_url(self.settings.base_url)

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    def __repr__(self) -> str:  # never the APIKEY
        return f"<{type(self).__name__} account={self.settings.account!r} url={self.base_url!r}>"

    # ---- preparing requests ---------------------------------------------------------

    def _time(self, given: int | None) -> str | None:
        if not self.dynamic_password:
            return None
        return str(int(_time.time()) if given is None else int(given))

    def _password(self, time: str | None, **submit: str) -> str:
        s = self.settings
        if time is None:
            return s.apikey
        return dynamic_password(s.account, s.apikey, time, **submit)

    def _prepare_submit(self, mobile: str, code: str, time: int | None) -> Prepared:
        normalised, content = check_mobile(mobile), check_code(code)
        t = self._time(time)
        password = self._password(t, mobile=normalised, content=content)
        request = SubmitRequest(
            self.settings.account, password, normalised, content, t, self.format
        )
        return Prepared(Method.SUBMIT, self._urls[Method.SUBMIT], request.to_form(), normalised, t)

    def _prepare_notify(
        self, mobile: str, content: str, template_id: int | str | None, time: int | None
    ) -> Prepared:
        callee = normalize_callee(mobile) if isinstance(mobile, str) else None
        if callee is None:
            masked = mask_mobile(str(mobile))
            raise InvalidMobile(f"not a mainland mobile or landline number: {masked}")
        t = self._time(time)
        form = SubmitRequest(
            self.settings.account,
            self._password(t, mobile=callee, content=content),
            callee,
            content,
            t,
            self.format,
        ).to_form()
        if template_id is not None:
            form["templateid"] = str(template_id)
        url = method_url(self.notify_url, Method.SUBMIT)
        return Prepared(Method.SUBMIT, url, form, callee, t)

    def _prepare_verify(
        self, mobile: str, length: int | None, ttl: int | None, time: int | None
    ) -> Prepared:
        normalised = check_mobile(mobile)
        if length is not None and not 4 <= length <= 6:
            raise InvalidCode("the code length must be 4 to 6 digits")
        t = self._time(time)
        request = VerifyRequest(
            self.settings.account,
            self._password(t, mobile=normalised, content=""),
            normalised,
            "" if length is None else str(int(length)),
            "" if ttl is None else str(int(ttl)),
            t,
            self.format,
        )
        return Prepared(Method.VERIFY, self._urls[Method.VERIFY], request.to_form(), normalised, t)

    def _prepare_check(self, mobile: str, code: str, voiceid: str | None) -> Prepared:
        normalised, given = check_mobile(mobile), check_code(code)
        t = self._time(None)
        request = CheckRequest(
            self.settings.account,
            self._password(t, mobile=normalised, content=given),
            normalised,
            given,
            voiceid or "",
            t,
            self.format,
        )
        return Prepared(Method.CHECK, self._urls[Method.CHECK], request.to_form(), normalised, t)

    def _prepare_getnum(self) -> Prepared:
        t = self._time(None)
        request = GetNumRequest(self.settings.account, self._password(t), t, self.format)
        return Prepared(Method.GETNUM, self._urls[Method.GETNUM], request.to_form(), time=t)

    def _prepare_query(self, voiceid: str) -> Prepared:
        t = self._time(None)
        account = self.settings.account
        request = QueryRequest(account, self._password(t), str(voiceid), t, self.format)
        return Prepared(Method.QUERY, self._urls[Method.QUERY], request.to_form(), time=t)

    # ---- reading answers and deciding -----------------------------------------------

    @staticmethod
    def read(prepared: Prepared, body: bytes) -> Result | ProtocolError:
        if prepared.method is Method.SUBMIT:
            fast = read_canonical_submit(body)
            if fast is not None:
                return fast
        try:
            result = parse_result(body, prepared.method)
        except ProtocolError as exc:
            return unreadable(exc.reason, prepared, body)
        if result.root != f"{prepared.method.value}Result":
            return unreadable(f"expected a {prepared.method.value}Result", prepared, body)
        return result

    def _decide(self, prepared: Prepared, outcome: Outcome, attempt: int, slept: float) -> Decision:
        if type(outcome) is SubmitResult and outcome.code == 2:
            return _FINAL  # the hot path: no rule evaluation, no logging
        return should_retry(
            outcome,
            attempt=attempt,
            slept_s=slept,
            policy=self.retry,
            idempotent=prepared.idempotent,
            server_dedupes=self.server_dedupes and prepared.method in _REPLAYABLE,
        )

    def _report(self, prepared: Prepared, outcome: Outcome, attempts: int) -> SendReport:
        if isinstance(outcome, SubmitResult):
            error = None if outcome.code == 2 else api_error(outcome)
            report = SendReport(prepared.mobile, outcome, error, attempts, prepared.time)
        elif isinstance(outcome, VoiceOTPError):
            report = SendReport(prepared.mobile, None, outcome, attempts, prepared.time)
        else:  # parse_result gave another result type; _read refuses that already
            raise AssertionError(f"unexpected outcome {outcome!r}")
        _log_report(report)
        return report

    def _unwrap_submit(self, report: SendReport) -> SubmitResult:
        """``send``'s answer: the result, or its typed exception."""
        if report.error is None or (report.result is not None and not self.raise_on_error):
            assert report.result is not None
            return report.result
        raise report.error

    def _unwrap(self, outcome: Outcome, kind: type[R]) -> R:
        """A read-only call's result, or its typed exception."""
        if isinstance(outcome, kind):
            if outcome.code == 2 or not self.raise_on_error:
                return outcome
            raise api_error(outcome)
        if isinstance(outcome, VoiceOTPError):
            raise outcome
        raise ProtocolError(f"unexpected result {type(outcome).__name__}")

    @staticmethod
    def _refused(mobile: str, exc: VoiceOTPError) -> SendReport:
        log.info("refused locally before sending: %s", exc)
        return SendReport(str(mobile), None, exc, 0, None)


def unreadable(reason: str, prepared: Prepared, body: bytes) -> ProtocolError:
    """A body that is not the answer asked for, named by where it came from (and its HTTP
    status, when the transport kept one: a wrong path answers 404)."""
    status = getattr(body, "status", None)
    where = display_url(prepared.url)
    origin = f"HTTP {status} from {where}" if status is not None else f"the answer from {where}"
    return ProtocolError(f"{origin}: {reason}", body)


def api_error(result: Result) -> VoiceOTPError:
    """The typed exception for a non-success result."""
    voiceid = getattr(result, "voiceid", None)
    return error_for_code(result.code, result.msg, voiceid if voiceid not in (None, "0") else None)


def _log_report(report: SendReport) -> None:
    if report.error is None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "Submit %s accepted, voiceid %s (%s)",
                mask_mobile(report.mobile),
                report.voiceid,
                _attempts(report.attempts),
            )
        return
    level = logging.WARNING if report.result is None else logging.INFO
    log.log(
        level,
        "Submit %s failed after %s: %s: %s",
        mask_mobile(report.mobile),
        _attempts(report.attempts),
        type(report.error).__name__,
        report.error,
    )


def _attempts(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"
