"""JSONL notice rows whose text or values are no text: a ``null``, ``true``, a list or an
object is refused for the row, instead of being sent as Python's spelling of it (the
callee heard "None", "True" or "['hi']" in the notice)."""

from __future__ import annotations

import io

import pytest

from voiceotp.client.batch import InputRow, NoticeBatch, Reject, read_notice_rows
from voiceotp.client.batch.notices import validate_notice


def checked(line: str, notice: NoticeBatch) -> object:
    (row,) = list(read_notice_rows(io.StringIO(line + "\n"), notice))
    return validate_notice(row, notice) if isinstance(row, InputRow) else row


@pytest.mark.parametrize(
    "values", ['["a", null]', '["a", true]', '["a", {"x": 1}]', '["a", ["b"]]', "true", "null"]
)
def test_template_values_that_are_no_text_are_refused(values: str) -> None:
    got = checked(f'{{"mobile": "13800138000", "vars": {values}}}', NoticeBatch(3))
    assert isinstance(got, Reject), got


@pytest.mark.parametrize("content", ['["hi"]', '{"a": 1}', "false"])
def test_a_notice_text_that_is_no_text_is_refused(content: str) -> None:
    got = checked(f'{{"mobile": "13800138000", "content": {content}}}', NoticeBatch())
    assert isinstance(got, Reject), got


def test_numbers_still_count_as_values_and_text() -> None:
    values = checked('{"mobile": "13800138000", "vars": ["A12", 3, 2.5]}', NoticeBatch(3))
    assert getattr(values, "code", None) == "A12|3|2.5"
    text = checked('{"mobile": "13800138000", "content": 42}', NoticeBatch())
    assert getattr(text, "code", None) == "42"
