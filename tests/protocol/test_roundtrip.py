"""parse(render(x)) == x for every code, both formats, with or without a namespace."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from voiceotp.protocol import (
    Code,
    Format,
    GetNumResult,
    Method,
    QueryResult,
    SubmitResult,
    message_for,
    parse_result,
    render_result,
)

codes = st.sampled_from(list(Code)) | st.integers(min_value=0, max_value=99999)
formats = st.sampled_from(list(Format))
namespaces = st.none() | st.sampled_from(["http://106.ihuyi.com/", "urn:x&y<z>"])
# Messages are free text in the wild: include XML-special and non-BMP characters.
texts = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=40).map(str.strip)
voiceids = st.integers(min_value=0, max_value=2**63).map(str)


@given(code=codes, fmt=formats, ns=namespaces, voiceid=voiceids)
def test_submit_roundtrip_for_every_code(
    code: int, fmt: Format, ns: str | None, voiceid: str
) -> None:
    result = SubmitResult(int(code), message_for(code, Method.SUBMIT, n=3), voiceid)
    assert parse_result(render_result(result, fmt, namespace=ns)) == result


@given(code=codes, fmt=formats, ns=namespaces, num=st.integers(0, 2**31))
def test_getnum_roundtrip_for_every_code(code: int, fmt: Format, ns: str | None, num: int) -> None:
    result = GetNumResult(int(code), message_for(code, Method.GETNUM), num)
    assert parse_result(render_result(result, fmt, namespace=ns)) == result


@given(code=codes, fmt=formats, msg=texts, voiceid=voiceids, status=texts)
def test_query_and_free_text_roundtrip(
    code: int, fmt: Format, msg: str, voiceid: str, status: str
) -> None:
    result = QueryResult(int(code), msg, voiceid, status, 200, 1700000000, 1700000005, 9, 4, 1)
    assert parse_result(render_result(result, fmt)) == result
