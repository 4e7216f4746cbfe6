"""The ihuyi voice API, sans I/O: codes, requests, results, rendering, parsing, passwords.

Nothing here touches the network, the disk or the clock; the client and the gateway
both build on it, so the two cannot drift.
"""

from voiceotp.protocol.codes import (
    ACCOUNT_CODES,
    CHECK_CODES,
    GETNUM_CODES,
    NOTICE_CODES,
    SUBMIT_CODES,
    VERIFY_CODES,
    Code,
    CodeClass,
    classify,
    message_for,
)
from voiceotp.protocol.errors import ProtocolError, VoiceOTPError
from voiceotp.protocol.mobile import is_valid_mobile, mask_mobile, normalize_mobile
from voiceotp.protocol.models import (
    RESULT_TYPES,
    CheckRequest,
    CheckResult,
    Format,
    GetNumRequest,
    GetNumResult,
    Method,
    QueryRequest,
    QueryResult,
    Request,
    Result,
    SubmitRequest,
    SubmitResult,
    VerifyRequest,
    VerifyResult,
)
from voiceotp.protocol.parse import parse_result
from voiceotp.protocol.password import DEFAULT_WINDOW_S, Verdict, dynamic_password, verify_password
from voiceotp.protocol.render import CONTENT_TYPES, render_json, render_result, render_xml
from voiceotp.protocol.request import (
    IncomingRequest,
    body_kind,
    decode_request,
    parse_urlencoded,
)

__all__ = [
    "ACCOUNT_CODES",
    "CHECK_CODES",
    "CONTENT_TYPES",
    "DEFAULT_WINDOW_S",
    "GETNUM_CODES",
    "NOTICE_CODES",
    "RESULT_TYPES",
    "SUBMIT_CODES",
    "VERIFY_CODES",
    "CheckRequest",
    "CheckResult",
    "Code",
    "CodeClass",
    "Format",
    "GetNumRequest",
    "GetNumResult",
    "IncomingRequest",
    "Method",
    "ProtocolError",
    "QueryRequest",
    "QueryResult",
    "Request",
    "Result",
    "SubmitRequest",
    "SubmitResult",
    "Verdict",
    "VerifyRequest",
    "VerifyResult",
    "VoiceOTPError",
    "body_kind",
    "classify",
    "decode_request",
    "dynamic_password",
    "is_valid_mobile",
    "mask_mobile",
    "message_for",
    "normalize_mobile",
    "parse_result",
    "parse_urlencoded",
    "render_json",
    "render_result",
    "render_xml",
    "verify_password",
]
