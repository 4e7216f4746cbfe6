from __future__ import annotations

import codecs
import io
from pathlib import Path

import pytest

from voiceotp.client.batch import (
    InputError,
    InputFormat,
    InputRow,
    Reject,
    open_source,
    read_rows,
)
from voiceotp.client.batch.items import validate_row


def rows(text: str, fmt: InputFormat = InputFormat.AUTO) -> list[InputRow | Reject]:
    return list(read_rows(io.StringIO(text), fmt))


def test_csv_with_english_header_finds_columns_in_any_order() -> None:
    got = rows("code,phone\n1234,13800138000\n5678,+86 139-0013-9000\n")
    assert got == [
        InputRow(1, "13800138000", "1234", "1234,13800138000"),
        InputRow(2, "+86 139-0013-9000", "5678", "5678,+86 139-0013-9000"),
    ]


def test_csv_with_chinese_header_and_bom() -> None:
    got = rows("\ufeff手机号,验证码\n13800138000,1234\n")
    assert got == [InputRow(1, "13800138000", "1234", "13800138000,1234")]


def test_csv_without_header_uses_first_two_columns() -> None:
    got = rows("13800138000,1234\n13900139000,\n")
    assert [(r.row, r.mobile, r.code) for r in got if isinstance(r, InputRow)] == [
        (1, "13800138000", "1234"),
        (2, "13900139000", ""),
    ]


def test_tab_separated_values() -> None:
    got = rows("mobile\tcontent\n13800138000\t4321\n")
    assert got == [InputRow(1, "13800138000", "4321", "13800138000\t4321")]


def test_csv_header_with_code_but_no_mobile_column_is_an_input_error() -> None:
    with pytest.raises(InputError):
        rows("name,code\nbob,1234\n")


def test_jsonl_rows_and_malformed_lines_become_rejects() -> None:
    text = '{"mobile": 13800138000, "code": "1234"}\n{broken\n[1,2]\n{"phone": "13900139000"}\n'
    got = rows(text)
    assert got[0] == InputRow(1, "13800138000", "1234", '{"mobile": 13800138000, "code": "1234"}')
    assert got[1] == Reject(2, "{broken", "malformed JSON")
    assert got[2] == Reject(3, "[1,2]", "JSON line is not an object")
    assert got[3] == InputRow(4, "13900139000", None, '{"phone": "13900139000"}')


def test_one_number_per_line_skips_blank_lines() -> None:
    got = rows("13800138000\n\n  13900139000  \n")
    assert [(r.row, r.mobile) for r in got if isinstance(r, InputRow)] == [
        (1, "13800138000"),
        (2, "13900139000"),
    ]


def test_empty_input_has_no_rows() -> None:
    assert rows("") == []
    assert rows("\n\n") == []


@pytest.mark.parametrize(
    ("mobile", "code", "reason"),
    [
        ("", "1234", "missing mobile"),
        ("12345", "1234", "invalid mobile"),
        ("13800138000", "12a4", "code must be ASCII digits"),
        ("13800138000", "１２３４", "code must be ASCII digits"),
        ("13800138000", "123", "code must be 4-6 digits"),
        ("13800138000", "1234567", "code must be 4-6 digits"),
    ],
)
def test_invalid_rows_are_rejected_with_a_reason(mobile: str, code: str, reason: str) -> None:
    got = validate_row(InputRow(7, mobile, code, "raw"), 6)
    assert got == Reject(7, "raw", reason)


@pytest.mark.parametrize("length", [4, 5, 6])
def test_missing_code_is_generated_at_the_chosen_length(length: int) -> None:
    got = validate_row(InputRow(1, "+86 138 0013 8000", None, "raw"), length)
    assert not isinstance(got, Reject)
    assert got.mobile == "13800138000"
    assert len(got.code) == length
    assert got.code.isdigit()


def test_code_length_outside_4_to_6_is_refused() -> None:
    with pytest.raises(ValueError, match="4-6"):
        validate_row(InputRow(1, "13800138000", None, "raw"), 7)


def test_semicolon_separated_values_from_a_european_locale_export() -> None:
    got = rows("mobile;code\n13800138000;1234\n")
    assert got == [InputRow(1, "13800138000", "1234", "13800138000;1234")]


@pytest.mark.parametrize("header", ["mobile", "手机号", "Phone"])
def test_one_number_per_line_with_a_header_line(header: str) -> None:
    got = rows(f"{header}\n13800138000\n13900139000\n")
    assert [(r.row, r.mobile) for r in got if isinstance(r, InputRow)] == [
        (1, "13800138000"),
        (2, "13900139000"),
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_read_whatever_the_encoding_given(
    encoding: str, tmp_path: Path
) -> None:
    path = tmp_path / "unicode.txt"
    bom = {"utf-16": b"", "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}
    path.write_bytes(bom[encoding] + "手机号\t验证码\n13800138000\t1234\n".encode(encoding))
    with open_source(str(path)) as stream:
        got = list(read_rows(stream))
    assert got == [InputRow(1, "13800138000", "1234", "13800138000\t1234")]
