"""A CSV whose quoting is broken is refused with where, before anything is sent: a quote
never closed used to swallow every later row into one row's content (a notice spoke the
next rows' numbers to the first callee, and those callees got nothing), and a field over
csv's size limit ended ``voiceotp batch`` with a traceback."""

from __future__ import annotations

import io

import pytest

from voiceotp.client.batch import InputError, NoticeBatch, read_notice_rows, read_rows

UNCLOSED = 'mobile,content\n13800138000,"parcel at the gate\n13900139000,hello\n'
HUGE = 'mobile,content\n13800138000,hello\n13900139000,"' + "x" * 200_000 + '"\n'


@pytest.mark.parametrize("text", [UNCLOSED, HUGE], ids=["unclosed-quote", "huge-field"])
def test_a_notice_csv_with_broken_quoting_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="CSV record"):
        list(read_notice_rows(io.StringIO(text), NoticeBatch()))


@pytest.mark.parametrize("text", [UNCLOSED, HUGE], ids=["unclosed-quote", "huge-field"])
def test_a_code_csv_with_broken_quoting_is_refused(text: str) -> None:
    code_csv = text.replace("content", "code")
    with pytest.raises(InputError, match="CSV record"):
        list(read_rows(io.StringIO(code_csv)))


def test_quoted_commas_and_line_breaks_still_read() -> None:
    text = 'mobile,content\n13800138000,"a, b\nc"\n13900139000,"say ""hi"""\n'
    got = list(read_notice_rows(io.StringIO(text), NoticeBatch()))
    assert [(r.mobile, r.code) for r in got] == [  # type: ignore[union-attr]
        ("13800138000", "a, b\nc"),
        ("13900139000", 'say "hi"'),
    ]
