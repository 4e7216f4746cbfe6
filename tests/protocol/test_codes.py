from __future__ import annotations

from pathlib import Path

import pytest

from voiceotp.errors import (
    AccountFrozen,
    AuthError,
    InsufficientBalance,
    IPNotAllowed,
    NumberError,
    RequestError,
    TransientError,
    error_for_code,
)
from voiceotp.protocol import (
    ACCOUNT_CODES,
    GETNUM_CODES,
    SUBMIT_CODES,
    Code,
    CodeClass,
    Method,
    classify,
    message_for,
)

DOCS_WITH_CODES = ("protocol.md", "verify.md")


def test_classes_follow_the_reference_table() -> None:
    expected = {
        CodeClass.SUCCESS: {2},
        CodeClass.TRANSIENT: {0, 4090, 4505},
        CodeClass.NUMBER: {4030, 406, 4081, 4086, 4082, 4506},
        CodeClass.REQUEST: {403, 404, 407, 4070, 4100, 4507, 4508, 4500, 4501, 4502, 4503, 4504},
        CodeClass.ACCOUNT: {400, 401, 402, 405, 40501, 4050, 4051, 4052, 4053, 408},
    }
    for cls, codes in expected.items():
        assert {c for c in Code if classify(c) is cls} == codes
    assert {int(c) for c in ACCOUNT_CODES} == expected[CodeClass.ACCOUNT]


def test_unknown_code_is_a_request_error() -> None:
    assert classify(12345) is CodeClass.REQUEST
    assert message_for(12345) == "提交失败"


def test_cap_messages_carry_the_limit() -> None:
    assert message_for(Code.NUMBER_MINUTE_CAP, n=1) == "同一手机号码一分钟之内发送频率不能超过1条"
    assert message_for(Code.NUMBER_HOUR_CAP, n=5) == "同一手机号码一小时之内发送频率不能超过5条"
    assert message_for(Code.NUMBER_DAY_CAP, n=10) == "超出同一手机号一天之内10条限制"


def test_code_2_message_depends_on_method() -> None:
    assert message_for(2, Method.SUBMIT) == "提交成功"
    assert message_for(2, Method.GETNUM) == "查询成功"
    assert message_for(2, Method.QUERY) == "查询成功"
    assert message_for(2, Method.VERIFY) == "提交成功"
    assert message_for(2, Method.CHECK) == "验证成功"


def test_method_code_lists() -> None:
    assert Code.OK in SUBMIT_CODES
    assert Code.VOICEID_UNKNOWN not in SUBMIT_CODES
    assert Code.MOBILE_INVALID not in GETNUM_CODES


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (405, AuthError),
        (40501, AuthError),
        (4050, AccountFrozen),
        (408, AccountFrozen),
        (4051, InsufficientBalance),
        (4052, IPNotAllowed),
        (400, IPNotAllowed),
        (406, NumberError),
        (4081, NumberError),
        (4070, RequestError),
        (99999, RequestError),
        (0, TransientError),
        (4090, TransientError),
    ],
)
def test_error_for_code(code: int, cls: type[Exception]) -> None:
    error = error_for_code(code, "m", "0")
    assert type(error) is cls
    assert (error.code, error.msg, error.voiceid) == (code, "m", "0")


def test_every_code_is_in_a_code_table_of_the_docs() -> None:
    """docs/protocol.md (the reference's §5 and our preface) and docs/verify.md list every
    code the gateway answers, with its message."""
    docs = Path(__file__).resolve().parents[2] / "docs"
    tables = "".join((docs / name).read_text(encoding="utf-8") for name in DOCS_WITH_CODES)
    capped = {Code.NUMBER_MINUTE_CAP, Code.NUMBER_HOUR_CAP, Code.NUMBER_DAY_CAP}  # "{n}" rows
    rows = {c: f"| {int(c)} | {'' if c in capped else message_for(c) + ' |'}" for c in Code}
    assert [int(code) for code, row in rows.items() if row not in tables] == []
