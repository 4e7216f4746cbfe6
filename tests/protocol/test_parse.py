"""Tolerant, namespace-agnostic parsing; clear errors for what is not a document."""

from __future__ import annotations

import pytest

from voiceotp.protocol import GetNumResult, Method, ProtocolError, SubmitResult, parse_result

OK = SubmitResult(2, "提交成功", "60495654")


@pytest.mark.parametrize(
    "body",
    [
        # pretty-printed, CRLF, indentation, other namespace, prefix
        b'<?xml version="1.0" encoding="utf-8"?>\r\n<SubmitResult xmlns="urn:x">\r\n'
        b"  <code>2</code>\r\n  <msg>\xe6\x8f\x90\xe4\xba\xa4\xe6\x88\x90\xe5\x8a\x9f</msg>\r\n"
        b"  <voiceid> 60495654 </voiceid>\r\n</SubmitResult>\r\n",
        b'<ns:SubmitResult xmlns:ns="http://106.ihuyi.com/"><ns:code>2</ns:code>'
        b"<ns:msg>\xe6\x8f\x90\xe4\xba\xa4\xe6\x88\x90\xe5\x8a\x9f</ns:msg>"
        b"<ns:voiceid>60495654</ns:voiceid></ns:SubmitResult>",
        # GBK declaration and GBK bytes
        '<?xml version="1.0" encoding="gbk"?><SubmitResult><code>2</code><msg>提交成功</msg>'
        "<voiceid>60495654</voiceid></SubmitResult>".encode("gbk"),
        # BOM and surrounding whitespace, no declaration
        b"\xef\xbb\xbf  \n<SubmitResult><code>2</code><msg>\xe6\x8f\x90\xe4\xba\xa4\xe6\x88\x90"
        b"\xe5\x8a\x9f</msg><voiceid>60495654</voiceid></SubmitResult>\n\n",
        # JSON with numbers as strings, with an integer voiceid, with spaces
        '{"code": "2", "msg": "提交成功", "voiceid": 60495654}'.encode(),
        # The SMS service's id name
        "<SubmitResult><code>2</code><msg>提交成功</msg><smsid>60495654</smsid></SubmitResult>".encode(),
    ],
)
def test_tolerated_variants(body: bytes) -> None:
    assert parse_result(body) == OK


def test_unknown_code_is_kept() -> None:
    result = parse_result(b"<SubmitResult><code>77777</code><msg>x</msg></SubmitResult>")
    assert result == SubmitResult(77777, "x", "0")


def test_json_getnum_detected_by_keys() -> None:
    assert parse_result('{"code":2,"msg":"查询成功","num":5}'.encode()) == GetNumResult(
        2, "查询成功", 5
    )


def test_method_hint_for_bare_json() -> None:
    assert parse_result(b'{"code":405,"msg":"x"}', Method.GETNUM) == GetNumResult(405, "x", 0)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"   \n ", "empty"),
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "no code"),
        (b"<!DOCTYPE html><html><body>error</body></html>", "document type"),
        (b"Service Unavailable", "neither XML nor JSON"),
        (b"<SubmitResult><code>2</code>", "malformed XML"),
        (b"<SubmitResult><code>two</code></SubmitResult>", "code is not an integer"),
        (b'{"code": 2', "malformed JSON"),
        (b"[1, 2]", "neither XML nor JSON"),
        (b'<?xml version="1.0" encoding="nope-9"?><a/>', "unknown encoding"),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r><code>&a;</code></r>',
            "document type",
        ),
    ],
)
def test_not_a_document_raises_protocol_error_with_excerpt(body: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_result(body)
    assert reason in str(info.value)
    assert info.value.excerpt == body[:200].decode("utf-8", "replace")
