"""The ihuyi voice code table: every code, its message byte-for-byte, and its class.

The table below is the single source of truth for codes: the client classifies with it,
the gateway answers with it, and the golden vectors pin it.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from voiceotp.protocol.models import Method


class CodeClass(StrEnum):
    """How a caller should react to a code."""

    SUCCESS = "success"
    TRANSIENT = "transient"  # nothing was accepted; retrying later may work
    NUMBER = "number"  # this number cannot be called (now)
    REQUEST = "request"  # this request is malformed
    ACCOUNT = "account"  # the account cannot send at all: stop the batch


class Code(IntEnum):
    """Result codes of the ihuyi voice API plus voiceotp's documented extensions."""

    FAILED = 0
    OK = 2
    IP_DENIED = 400
    ACCOUNT_EMPTY = 401
    PASSWORD_EMPTY = 402
    MOBILE_EMPTY = 403
    MOBILE_BLACKLISTED = 4030
    CONTENT_EMPTY = 404
    AUTH_FAILED = 405
    PASSWORD_EXPIRED = 40501
    ACCOUNT_FROZEN = 4050
    BALANCE_LOW = 4051
    IP_NOT_ALLOWED = 4052
    TRIAL_NUMBER = 4053  # voiceotp extension: a trial account calls its proved numbers only
    MOBILE_INVALID = 406
    CONTENT_SENSITIVE = 407
    CONTENT_INVALID = 4070
    ABUSE_FROZEN = 408
    NUMBER_MINUTE_CAP = 4081
    NUMBER_HOUR_CAP = 4086
    NUMBER_DAY_CAP = 4082
    RATE_LIMITED = 4090
    VOICEID_UNKNOWN = 4100
    # Verify/Check (voiceotp extensions; docs/verify.md). 45xx is unused by ihuyi (4071 and
    # 4072 are its voice-notification template codes, so the option errors are 4507/4508).
    LENGTH_INVALID = 4507
    TTL_INVALID = 4508
    CODE_EMPTY = 4500
    CODE_WRONG = 4501
    CODE_EXPIRED = 4502
    ATTEMPTS_USED_UP = 4503
    NO_PENDING_CODE = 4504
    CHECK_THROTTLED = 4505
    PREFIX_THROTTLED = 4506
    # Voice notifications (语音通知, docs/notices.md): ihuyi's codes of that product, and
    # 4073 (voiceotp's: ihuyi's code for a content over 180 characters is not public).
    TEMPLATE_NONE = 4071
    TEMPLATE_MISMATCH = 4072
    VARIABLE_TOO_LONG = 40722
    NOTICE_TOO_LONG = 4073

    @property
    def code_class(self) -> CodeClass:
        return _CLASSES[self]


# code -> (message, class). Messages of Submit; GetNum/Query differ only for code 2.
_TABLE: dict[Code, tuple[str, CodeClass]] = {
    Code.FAILED: ("提交失败", CodeClass.TRANSIENT),
    Code.OK: ("提交成功", CodeClass.SUCCESS),
    Code.IP_DENIED: ("非法ip访问", CodeClass.ACCOUNT),
    Code.ACCOUNT_EMPTY: ("帐号不能为空", CodeClass.ACCOUNT),
    Code.PASSWORD_EMPTY: ("密码不能为空", CodeClass.ACCOUNT),
    Code.MOBILE_EMPTY: ("手机号码不能为空", CodeClass.REQUEST),
    Code.MOBILE_BLACKLISTED: ("手机号码已被列入黑名单", CodeClass.NUMBER),
    Code.CONTENT_EMPTY: ("语音内容不能为空", CodeClass.REQUEST),
    Code.AUTH_FAILED: ("用户名或密码不正确", CodeClass.ACCOUNT),
    Code.PASSWORD_EXPIRED: ("动态密码已过期", CodeClass.ACCOUNT),
    Code.ACCOUNT_FROZEN: ("账号被冻结", CodeClass.ACCOUNT),
    Code.BALANCE_LOW: ("剩余条数不足", CodeClass.ACCOUNT),
    Code.IP_NOT_ALLOWED: ("访问ip与备案ip不符", CodeClass.ACCOUNT),
    Code.TRIAL_NUMBER: (
        "体验账户只能呼叫注册时验证的号码,请完成企业认证",
        CodeClass.ACCOUNT,
    ),
    Code.MOBILE_INVALID: ("手机格式不正确", CodeClass.NUMBER),
    Code.CONTENT_SENSITIVE: ("短信内容含有敏感字符", CodeClass.REQUEST),
    Code.CONTENT_INVALID: ("语音验证码内容必须为4-6位数字", CodeClass.REQUEST),
    Code.ABUSE_FROZEN: (
        "您的帐户疑被恶意利用,已被自动冻结,如有疑问请与客服联系。",
        CodeClass.ACCOUNT,
    ),
    Code.NUMBER_MINUTE_CAP: ("同一手机号码一分钟之内发送频率不能超过{n}条", CodeClass.NUMBER),
    Code.NUMBER_HOUR_CAP: ("同一手机号码一小时之内发送频率不能超过{n}条", CodeClass.NUMBER),
    Code.NUMBER_DAY_CAP: ("超出同一手机号一天之内{n}条限制", CodeClass.NUMBER),
    Code.RATE_LIMITED: ("提交过于频繁,请稍后再试", CodeClass.TRANSIENT),
    Code.VOICEID_UNKNOWN: ("语音流水号不存在", CodeClass.REQUEST),
    # English glosses in docs/verify.md.
    Code.LENGTH_INVALID: ("验证码长度必须为4-6位", CodeClass.REQUEST),
    Code.TTL_INVALID: ("验证码有效期必须为60-3600秒", CodeClass.REQUEST),
    Code.CODE_EMPTY: ("验证码不能为空", CodeClass.REQUEST),
    Code.CODE_WRONG: ("验证码不正确", CodeClass.REQUEST),
    Code.CODE_EXPIRED: ("验证码已过期,请重新获取", CodeClass.REQUEST),
    Code.ATTEMPTS_USED_UP: ("验证码错误次数过多,请重新获取", CodeClass.REQUEST),
    Code.NO_PENDING_CODE: ("没有待验证的验证码", CodeClass.REQUEST),
    Code.CHECK_THROTTLED: ("验证过于频繁,请稍后再试", CodeClass.TRANSIENT),
    Code.PREFIX_THROTTLED: ("该号段验证转化率过低,已暂停呼叫", CodeClass.NUMBER),
    Code.TEMPLATE_NONE: ("没有提交备案模板", CodeClass.REQUEST),
    Code.TEMPLATE_MISMATCH: ("提交的语音内容必须与报备过的模板格式相匹配", CodeClass.REQUEST),
    Code.VARIABLE_TOO_LONG: ("变量内容超过指定的长度【{n}】", CodeClass.REQUEST),
    Code.NOTICE_TOO_LONG: ("语音内容不能超过180个字", CodeClass.REQUEST),
}
_CLASSES: dict[Code, CodeClass] = {code: cls for code, (_, cls) in _TABLE.items()}
_QUERY_OK = "查询成功"
_CHECK_OK = "验证成功"
_CHECK_ONLY = frozenset(
    {
        Code.CODE_EMPTY,
        Code.CODE_WRONG,
        Code.CODE_EXPIRED,
        Code.ATTEMPTS_USED_UP,
        Code.NO_PENDING_CODE,
        Code.CHECK_THROTTLED,
    }
)
# The codes only a voice notification's Submit answers (docs/notices.md).
_NOTICE_ONLY = frozenset(
    {Code.TEMPLATE_NONE, Code.TEMPLATE_MISMATCH, Code.VARIABLE_TOO_LONG, Code.NOTICE_TOO_LONG}
)
_NOT_SUBMIT = (
    _CHECK_ONLY | _NOTICE_ONLY | {Code.VOICEID_UNKNOWN, Code.LENGTH_INVALID, Code.TTL_INVALID}
)

# Codes each method can answer (for docs, SOAP and tests); order is the table's order.
SUBMIT_CODES: tuple[Code, ...] = tuple(c for c in _TABLE if c not in _NOT_SUBMIT)
# Verify answers Submit's codes but those of the content (404, 407, 4070), plus its own.
_CONTENT_CODES = {Code.CONTENT_EMPTY, Code.CONTENT_SENSITIVE, Code.CONTENT_INVALID}
VERIFY_CODES: tuple[Code, ...] = tuple(
    c
    for c in _TABLE
    if c not in _CHECK_ONLY | _CONTENT_CODES | _NOTICE_ONLY | {Code.VOICEID_UNKNOWN}
)
# A notice's Submit: Submit's codes, but 4070 (its content is text), plus its own.
NOTICE_CODES: tuple[Code, ...] = tuple(
    c for c in _TABLE if c in _NOTICE_ONLY or (c in SUBMIT_CODES and c != Code.CONTENT_INVALID)
)
CHECK_CODES: tuple[Code, ...] = (
    Code.FAILED,
    Code.OK,
    Code.IP_DENIED,
    Code.ACCOUNT_EMPTY,
    Code.PASSWORD_EMPTY,
    Code.MOBILE_EMPTY,
    Code.AUTH_FAILED,
    Code.PASSWORD_EXPIRED,
    Code.ACCOUNT_FROZEN,
    Code.IP_NOT_ALLOWED,
    Code.MOBILE_INVALID,
    Code.ABUSE_FROZEN,
    *(c for c in _TABLE if c in _CHECK_ONLY),
)
GETNUM_CODES: tuple[Code, ...] = (
    Code.OK,
    Code.IP_DENIED,
    Code.ACCOUNT_EMPTY,
    Code.PASSWORD_EMPTY,
    Code.AUTH_FAILED,
    Code.PASSWORD_EXPIRED,
    Code.ACCOUNT_FROZEN,
    Code.IP_NOT_ALLOWED,
    Code.ABUSE_FROZEN,
)
# Codes that stop a batch: nothing more can be sent by this account until a human acts.
ACCOUNT_CODES: frozenset[Code] = frozenset(
    c for c, cls in _CLASSES.items() if cls is CodeClass.ACCOUNT
)


def message_for(code: int, method: Method = Method.SUBMIT, *, n: int | None = None) -> str:
    """The exact message for ``code`` answered to ``method``.

    ``n`` fills the limit in the per-number cap messages (4081/4086/4082).
    Unknown codes get the generic failure message.
    """
    if code == Code.OK and method not in (Method.SUBMIT, Method.VERIFY):
        return _CHECK_OK if method is Method.CHECK else _QUERY_OK
    try:
        template = _TABLE[Code(code)][0]
    except ValueError:
        return _TABLE[Code.FAILED][0]
    return template.format(n=n if n is not None else 1) if "{n}" in template else template


def classify(code: int) -> CodeClass:
    """Class of any code; an unknown non-success code counts as a request error."""
    try:
        return _CLASSES[Code(code)]
    except ValueError:
        return CodeClass.REQUEST
