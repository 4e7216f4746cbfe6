from __future__ import annotations

import pytest

from voiceotp.protocol import (
    Format,
    GetNumRequest,
    Method,
    SubmitRequest,
    body_kind,
    decode_request,
    is_valid_mobile,
    mask_mobile,
    normalize_mobile,
    parse_urlencoded,
)


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138-0013-8000",
        "8613800138000",
        "008613800138000",
        " 138 0013 8000 ",
        "(+86) 138.0013.8000",
        "１３８００１３８０００",
        "+86\u300013800138000",
    ],
)
def test_normalize_accepts_what_people_type(raw: str) -> None:
    assert normalize_mobile(raw) == "13800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1380013800",
        "138001380000",
        "23800138000",
        "12800138000",
        "1380013800a",
        "+1 13800138000",
        "86 1380013800",
        "+8612800138000",
        "13800138000x",
        "٣٨٠٠١٣٨٠٠٠١",
    ],
)
def test_normalize_refuses_the_rest(raw: str) -> None:
    assert normalize_mobile(raw) is None


def test_strict_rule_is_ascii_only() -> None:
    assert is_valid_mobile("13800138000")
    assert not is_valid_mobile("１３８００１３８０００")
    assert not is_valid_mobile(" 13800138000")


def test_mask() -> None:
    assert mask_mobile("13800138000") == "138****8000"
    assert mask_mobile("123") == "***"


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        ("Application/X-WWW-Form-Urlencoded; charset=GBK", "application/x-www-form-urlencoded"),
        ("multipart/form-data; boundary=x", "multipart/form-data"),
        ("application/x-www-form-urlencode", None),
        ("application/json", None),
        ("text/plain", None),
        ("", None),
        (None, None),
    ],
)
def test_body_kind(content_type: str | None, kind: str | None) -> None:
    assert body_kind(content_type) == kind


def test_body_wins_and_last_value_wins() -> None:
    request = decode_request(
        [("method", "submit"), ("account", "Q"), ("format", "JSON"), ("account", "Q2")],
        [("account", "B"), ("mobile", "1"), ("mobile", "2")],
    )
    assert request.method is Method.SUBMIT
    assert request.format is Format.JSON
    assert request.get("account") == "B"
    assert request.get("mobile") == "2"
    assert request.get("content") == ""


@pytest.mark.parametrize(
    ("value", "fmt"),
    [("json", Format.JSON), (" Json ", Format.JSON), ("yaml", Format.XML), (None, Format.XML)],
)
def test_format_selection(value: str | None, fmt: Format) -> None:
    query = [("format", value)] if value is not None else []
    assert decode_request(query).format is fmt


def test_unknown_method() -> None:
    assert decode_request([("method", "Delete")]).method is None
    assert decode_request([]).method is None


def test_parse_urlencoded_bad_bytes_and_plus() -> None:
    pairs = parse_urlencoded(b"account=V1&content=%FF%FE&msg=a+b&empty=&raw=\xe4\xbd\xa0")
    assert pairs == [
        ("account", "V1"),
        ("content", "\ufffd\ufffd"),
        ("msg", "a b"),
        ("empty", ""),
        ("raw", "你"),
    ]


def test_request_encoding() -> None:
    submit = SubmitRequest("V1", "pw", "13800138000", "1125", time="1700000000", format=Format.JSON)
    assert submit.to_form() == {
        "account": "V1",
        "password": "pw",
        "mobile": "13800138000",
        "content": "1125",
        "time": "1700000000",
        "format": "json",
    }
    assert GetNumRequest("V1", "pw").to_form() == {"account": "V1", "password": "pw"}
    assert submit.method is Method.SUBMIT
