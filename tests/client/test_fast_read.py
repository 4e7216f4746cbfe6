"""The client's fast reading of canonical SubmitResult XML agrees with parse_result."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceotp.client.base import read_canonical_submit
from voiceotp.protocol import SUBMIT_CODES, SubmitResult, message_for, parse_result, render_xml


@pytest.mark.parametrize("code", SUBMIT_CODES)
def test_every_submit_code_takes_the_fast_path(code: int) -> None:
    result = SubmitResult(code, message_for(code), "60495654" if code == 2 else "0")
    assert read_canonical_submit(render_xml(result)) == result


@given(
    code=st.integers(min_value=-5, max_value=10**12),
    msg=st.text(max_size=30),
    voiceid=st.one_of(st.from_regex(r"[0-9]{1,45}", fullmatch=True), st.text(max_size=10)),
)
def test_fast_path_agrees_with_parse_result(code: int, msg: str, voiceid: str) -> None:
    body = render_xml(SubmitResult(code, msg, voiceid))
    fast = read_canonical_submit(body)
    if fast is not None:
        assert fast == parse_result(body)


@pytest.mark.parametrize(
    "body",
    [
        render_xml(SubmitResult(2, "提交成功", "1"), namespace="http://106.ihuyi.com/"),
        render_xml(SubmitResult(2, "提交成功", "1")).replace(b"\n", b"\r\n"),
        render_xml(SubmitResult(2, "a &amp; b", "1")),
        b"",
    ],
)
def test_anything_else_is_left_to_parse_result(body: bytes) -> None:
    assert read_canonical_submit(body) is None
