from __future__ import annotations

import pytest

from voiceotp.protocol import Verdict, dynamic_password, verify_password

ACCOUNT, KEY, MOBILE, CONTENT, NOW = (
    "V10000001",
    "0123456789abcdef0123456789abcdef",
    "13800138000",
    "1125",
    1_700_000_000,
)


def _submit(given: str, time: str | None, *, now: float = NOW, **kw: object) -> Verdict:
    return verify_password(
        given,
        account=ACCOUNT,
        apikey=KEY,
        time=time,
        now=now,
        mobile=MOBILE,
        content=CONTENT,
        **kw,  # type: ignore[arg-type]
    )


def _pw(time: int) -> str:
    return dynamic_password(ACCOUNT, KEY, str(time), mobile=MOBILE, content=CONTENT)


def test_static_key() -> None:
    assert _submit(KEY, None) is Verdict.STATIC
    assert _submit(KEY.upper(), None) is Verdict.STATIC
    assert _submit("f" * 32, None) is Verdict.WRONG
    assert _submit(KEY, None, allow_static=False) is Verdict.WRONG


@pytest.mark.parametrize(
    ("offset", "verdict"),
    [
        (0, Verdict.DYNAMIC),
        (300, Verdict.DYNAMIC),
        (-300, Verdict.DYNAMIC),
        (301, Verdict.EXPIRED),
        (-301, Verdict.EXPIRED),
    ],
)
def test_window(offset: int, verdict: Verdict) -> None:
    assert _submit(_pw(NOW + offset), str(NOW + offset)) is verdict


def test_wrong_dynamic_password_is_wrong_even_outside_the_window() -> None:
    assert _submit("0" * 32, str(NOW - 10_000)) is Verdict.WRONG


def test_upper_case_hex_and_configurable_window() -> None:
    assert _submit(_pw(NOW).upper(), str(NOW)) is Verdict.DYNAMIC
    assert _submit(_pw(NOW - 50), str(NOW - 50), window_s=30) is Verdict.EXPIRED


def test_password_over_other_content_is_wrong() -> None:
    other = dynamic_password(ACCOUNT, KEY, str(NOW), mobile=MOBILE, content="2222")
    assert _submit(other, str(NOW)) is Verdict.WRONG


@pytest.mark.parametrize("time", ["", "abc", "１７００００００００", "-1"])
def test_odd_time_values_fall_back_to_static(time: str) -> None:
    assert _submit(KEY, time) is Verdict.STATIC
    assert _submit(_pw(NOW), time) is Verdict.WRONG


def test_getnum_password() -> None:
    given = dynamic_password(ACCOUNT, KEY, str(NOW))
    verdict = verify_password(given, account=ACCOUNT, apikey=KEY, time=str(NOW), now=NOW)
    assert verdict is Verdict.DYNAMIC
