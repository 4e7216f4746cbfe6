"""Requests and results of the ihuyi voice API as plain, immutable values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Method(StrEnum):
    SUBMIT = "Submit"
    GETNUM = "GetNum"
    QUERY = "Query"  # voiceotp extension: status of one voiceid
    VERIFY = "Verify"  # voiceotp extension: the gateway makes up the code and calls
    CHECK = "Check"  # voiceotp extension: compare a code the user typed

    @classmethod
    def lookup(cls, value: str | None) -> Method | None:
        """The method named by ``value`` (case-insensitive), or None."""
        if not value:
            return None
        return _METHODS.get(value.strip().lower())


_METHODS = {m.value.lower(): m for m in Method}


class Format(StrEnum):
    XML = "xml"
    JSON = "json"

    @classmethod
    def select(cls, value: str | None) -> Format:
        """``format`` parameter -> Format: case-insensitive, anything else is XML."""
        if value is not None and value.strip().lower() == "json":
            return cls.JSON
        return cls.XML


# ---- requests -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    account: str
    password: str
    mobile: str
    content: str
    time: str | None = None
    format: Format = Format.XML

    method = Method.SUBMIT

    def to_form(self) -> dict[str, str]:
        """The form fields, in the order the docs list them (``method`` goes in the query)."""
        form = {
            "account": self.account,
            "password": self.password,
            "mobile": self.mobile,
            "content": self.content,
        }
        return _finish_form(form, self.time, self.format)


@dataclass(frozen=True, slots=True)
class GetNumRequest:
    account: str
    password: str
    time: str | None = None
    format: Format = Format.XML

    method = Method.GETNUM

    def to_form(self) -> dict[str, str]:
        form = {"account": self.account, "password": self.password}
        return _finish_form(form, self.time, self.format)


@dataclass(frozen=True, slots=True)
class QueryRequest:
    account: str
    password: str
    voiceid: str
    time: str | None = None
    format: Format = Format.XML

    method = Method.QUERY

    def to_form(self) -> dict[str, str]:
        form = {"account": self.account, "password": self.password, "voiceid": self.voiceid}
        return _finish_form(form, self.time, self.format)


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """voiceotp extension: the gateway generates the code (``length`` digits, valid
    ``ttl`` seconds; "" = the gateway's defaults) and places the call."""

    account: str
    password: str
    mobile: str
    length: str = ""
    ttl: str = ""
    time: str | None = None
    format: Format = Format.XML

    method = Method.VERIFY

    def to_form(self) -> dict[str, str]:
        form = {"account": self.account, "password": self.password, "mobile": self.mobile}
        if self.length:
            form["length"] = self.length
        if self.ttl:
            form["ttl"] = self.ttl
        return _finish_form(form, self.time, self.format)


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """voiceotp extension: is ``code`` the one last spoken to ``mobile``?"""

    account: str
    password: str
    mobile: str
    code: str
    voiceid: str = ""
    time: str | None = None
    format: Format = Format.XML

    method = Method.CHECK

    def to_form(self) -> dict[str, str]:
        form = {
            "account": self.account,
            "password": self.password,
            "mobile": self.mobile,
            "code": self.code,
        }
        if self.voiceid:
            form["voiceid"] = self.voiceid
        return _finish_form(form, self.time, self.format)


Request = SubmitRequest | GetNumRequest | QueryRequest | VerifyRequest | CheckRequest


def _finish_form(form: dict[str, str], time: str | None, fmt: Format) -> dict[str, str]:
    if time is not None:
        form["time"] = time
    if fmt is not Format.XML:
        form["format"] = fmt.value
    return form


# ---- results ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmitResult:
    code: int
    msg: str
    voiceid: str = "0"

    root = "SubmitResult"

    @property
    def ok(self) -> bool:
        return self.code == 2

    def fields(self) -> tuple[tuple[str, int | str], ...]:
        return (("code", self.code), ("msg", self.msg), ("voiceid", self.voiceid))


@dataclass(frozen=True, slots=True)
class GetNumResult:
    code: int
    msg: str
    num: int = 0

    root = "GetNumResult"

    @property
    def ok(self) -> bool:
        return self.code == 2

    def fields(self) -> tuple[tuple[str, int | str], ...]:
        return (("code", self.code), ("msg", self.msg), ("num", self.num))


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Status of one call (voiceotp extension). Times are Unix seconds, 0 when unknown.

    ``ring_time`` (when the callee's phone started ringing, as in the status push) came
    last, after the Verify fields: answers of older gateways lack it and parse as 0."""

    code: int
    msg: str
    voiceid: str = "0"
    status: str = ""
    sip_code: int = 0
    submit_time: int = 0
    answer_time: int = 0
    end_time: int = 0
    duration: int = 0
    attempts: int = 0
    # Calls placed by Verify: pending | verified | expired | exhausted | superseded;
    # "" for a Submit's call. ``verify_time``: when Check succeeded (0: not verified).
    verify_status: str = ""
    verify_time: int = 0
    ring_time: int = 0

    root = "QueryResult"

    @property
    def ok(self) -> bool:
        return self.code == 2

    def fields(self) -> tuple[tuple[str, int | str], ...]:
        return (
            ("code", self.code),
            ("msg", self.msg),
            ("voiceid", self.voiceid),
            ("status", self.status),
            ("sip_code", self.sip_code),
            ("submit_time", self.submit_time),
            ("answer_time", self.answer_time),
            ("end_time", self.end_time),
            ("duration", self.duration),
            ("attempts", self.attempts),
            ("verify_status", self.verify_status),
            ("verify_time", self.verify_time),
            ("ring_time", self.ring_time),
        )


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """voiceotp extension: the call placed for a generated code (never the code itself)."""

    code: int
    msg: str
    voiceid: str = "0"

    root = "VerifyResult"

    @property
    def ok(self) -> bool:
        return self.code == 2

    def fields(self) -> tuple[tuple[str, int | str], ...]:
        return (("code", self.code), ("msg", self.msg), ("voiceid", self.voiceid))


@dataclass(frozen=True, slots=True)
class CheckResult:
    """voiceotp extension: code 2 when the code was right (the voiceid of its call)."""

    code: int
    msg: str
    voiceid: str = "0"

    root = "CheckResult"

    @property
    def ok(self) -> bool:
        return self.code == 2

    def fields(self) -> tuple[tuple[str, int | str], ...]:
        return (("code", self.code), ("msg", self.msg), ("voiceid", self.voiceid))


Result = SubmitResult | GetNumResult | QueryResult | VerifyResult | CheckResult

# QueryResult's integer fields after code/msg/voiceid/status, and every field carried as a
# JSON integer (the rest, voiceid included, are strings).
QUERY_INT_FIELDS = (
    "sip_code",
    "submit_time",
    "answer_time",
    "end_time",
    "duration",
    "attempts",
    "verify_time",
    "ring_time",
)
INT_FIELDS = frozenset({"code", "num", *QUERY_INT_FIELDS})

ResultType = (
    type[SubmitResult]
    | type[GetNumResult]
    | type[QueryResult]
    | type[VerifyResult]
    | type[CheckResult]
)
RESULT_TYPES: dict[Method, ResultType] = {
    Method.SUBMIT: SubmitResult,
    Method.GETNUM: GetNumResult,
    Method.QUERY: QueryResult,
    Method.VERIFY: VerifyResult,
    Method.CHECK: CheckResult,
}
