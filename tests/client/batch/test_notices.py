"""Notice batches in the library: reading rows, checking them, duplicates by content, and
the engine sending them through NoticeSender (MemorySender, AsyncClient + FakeIhuyi)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from voiceotp.client import AsyncClient, Client
from voiceotp.client.batch import (
    BatchOptions,
    InputError,
    InputFormat,
    InputRow,
    Item,
    MemorySender,
    NoticeBatch,
    NoticeSender,
    Reject,
    State,
    UnknownPolicy,
    create_journal,
    notice_of,
    read_notice_rows,
    run_batch,
)
from voiceotp.client.batch.notices import validate_notice
from voiceotp.errors import UnknownOutcome
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

TEXTS = NoticeBatch()
VALUES = NoticeBatch(7)


def rows(text: str, notice: NoticeBatch, fmt: InputFormat = InputFormat.AUTO) -> list[object]:
    return list(read_notice_rows(io.StringIO(text), notice, fmt))


def contents(text: str, notice: NoticeBatch) -> list[str | None]:
    """The content of each row (an input row, not a reject)."""
    found = list(read_notice_rows(io.StringIO(text), notice))
    assert all(isinstance(row, InputRow) for row in found), found
    return [row.code for row in found if isinstance(row, InputRow)]


def test_csv_texts_with_and_without_a_header() -> None:
    assert rows('手机号,内容\n13800138000,"您好,快递到了"\n', TEXTS) == [
        InputRow(1, "13800138000", "您好,快递到了", "13800138000,您好,快递到了")
    ]
    # no header: the rest of the row is the text, unquoted commas included
    assert rows("13800138000,您好,快递到了\n", TEXTS)[0] == InputRow(
        1, "13800138000", "您好,快递到了", "13800138000,您好,快递到了"
    )
    (reject,) = rows("mobile,content\n13800138000,您好,到了\n", TEXTS)
    assert isinstance(reject, Reject)
    assert "quote the content" in reject.reason


def test_csv_values_as_columns_or_one_vars_column() -> None:
    assert rows("mobile,no,station\n13800138000,SF1,东站\n", VALUES)[0] == InputRow(
        1, "13800138000", "SF1|东站", "13800138000,SF1,东站"
    )
    assert contents("station,tel,no\n东站,13800138000,SF1\n", VALUES) == ["东站|SF1"]
    assert contents("mobile,vars\n13800138000,SF1|东站\n", VALUES) == ["SF1|东站"]
    assert contents("13800138000,SF1,东站\n", VALUES) == ["SF1|东站"]
    (reject,) = rows("13800138000,SF|1,东站\n", VALUES)
    assert isinstance(reject, Reject)
    assert reject.reason == "value 1 holds '|', which separates the values"


def test_jsonl_texts_and_values() -> None:
    assert contents('{"tel": "02151290000", "text": "停电通知"}\n', TEXTS) == ["停电通知"]
    lines = '{"mobile": "1", "vars": ["SF1", 12]}\n{"mobile": "2", "vars": "a|b"}\n'
    assert contents(lines, VALUES) == ["SF1|12", "a|b"]
    (reject,) = rows('{"mobile": "3"}\n', VALUES)
    assert isinstance(reject, Reject)


def test_a_list_of_numbers_is_no_notice_input() -> None:
    with pytest.raises(InputError, match="needs CSV or JSONL"):
        rows("13800138000\n13800138001\n", TEXTS)


@pytest.mark.parametrize(
    ("notice", "mobile", "content", "expected"),
    [
        (TEXTS, "+86 21 5129 0000", "停电通知", Item(1, "02151290000", "停电通知")),
        (TEXTS, "138 0013 8000", " 您好 ", Item(1, "13800138000", "您好")),
        (TEXTS, "", "您好", "missing mobile"),
        (TEXTS, "12345", "您好", "invalid mobile or landline"),
        (TEXTS, "13800138000", "  ", "missing content"),
        (TEXTS, "13800138000", "长" * 181, "content over 180 characters (4073)"),
        (VALUES, "13800138000", "SF1|东站", Item(1, "13800138000", "SF1|东站")),
        (VALUES, "13800138000", "SF1||东站", "a template value is empty"),
        (VALUES, "13800138000", "|".join("x" * 21), "more than 20 values"),
    ],
)
def test_validate_notice(notice: NoticeBatch, mobile: str, content: str, expected: object) -> None:
    found = validate_notice(InputRow(1, mobile, content, "raw"), notice)
    if isinstance(expected, str):
        assert found == Reject(1, "raw", expected)
    else:
        assert found == expected


def notice_rows(pairs: list[tuple[str, str]]) -> list[InputRow]:
    return [InputRow(i, m, c, f"{m},{c}") for i, (m, c) in enumerate(pairs, 1)]


async def test_duplicates_are_the_same_number_and_content(tmp_path: Path) -> None:
    pairs = [("13800138000", "a"), ("13800138000", "b"), ("13800138000", "a")]
    journal = create_journal(tmp_path / "n.journal", notice_rows(pairs), notice=VALUES)
    try:
        assert notice_of(journal.meta()) == VALUES
        sender = MemorySender()
        summary = await run_batch(journal, NoticeSender(sender, VALUES))
        assert summary.counts[State.SENT] == 2
        assert [r.reason for r in journal.records([State.SKIPPED])] == ["duplicate of row 1"]
    finally:
        journal.close()
    assert sender.submits == {"13800138000": 2}
    assert sender.template_ids == [7, 7]


async def test_an_unknown_notice_is_replayed_exactly_and_called_once(tmp_path: Path) -> None:
    sender = MemorySender({"13800138000": [UnknownOutcome("lost")]}, dedupes=True)
    journal = create_journal(
        tmp_path / "n.journal", notice_rows([("13800138000", "停电通知")]), notice=TEXTS
    )
    try:
        first = await run_batch(journal, NoticeSender(sender, TEXTS))
        assert first.counts[State.UNKNOWN] == 1
        options = BatchOptions(unknown=UnknownPolicy.REPLAY)
        again = await run_batch(journal, NoticeSender(sender, TEXTS), options)
        assert again.counts[State.SENT] == 1
    finally:
        journal.close()
    assert sender.submits == {"13800138000": 2}
    assert sender.accepted == {"13800138000": 1}  # the replay was answered, not placed


async def test_async_client_submit_notice_reports_instead_of_raising() -> None:
    fake = FakeIhuyi()
    template = fake.add_template("停电通知:{area}今晚停电")
    async with AsyncClient(
        DEFAULT_ACCOUNT, DEFAULT_APIKEY, transport=fake.async_transport()
    ) as client:
        ok = await client.submit_notice("02151290000", "东区", template_id=template)
        wrong = await client.submit_notice("13800138000", "您好")
        refused = await client.submit_notice("12345", "您好")
    assert ok.result is not None
    assert ok.result.code == 2
    assert fake.spoken_notice("02151290000") == "停电通知:东区今晚停电"
    assert wrong.result is not None
    assert wrong.result.code == 4072
    assert wrong.error is not None
    assert (refused.result, refused.attempts) == (None, 0)


def test_client_submit_notice_is_the_sync_twin() -> None:
    fake = FakeIhuyi()
    fake.add_template("停电通知:{area}今晚停电")
    with Client(DEFAULT_ACCOUNT, DEFAULT_APIKEY, transport=fake.transport()) as client:
        ok = client.submit_notice("021-5129 0000", "停电通知:西区今晚停电")
        refused = client.submit_notice("12345", "停电通知:西区今晚停电")
    assert ok.result is not None
    assert (ok.result.code, ok.mobile) == (2, "02151290000")
    assert fake.spoken_notice("02151290000") == "停电通知:西区今晚停电"
    assert (refused.result, refused.attempts) == (None, 0)


def test_a_row_short_of_the_headers_value_columns_is_rejected_before_sending() -> None:
    text = "mobile,单号,站点,取件码\n13800138000,SF1,人民路站,111111\n13800138001,SF3,人民路站\n"
    full, short = rows(text, VALUES)
    assert isinstance(full, InputRow)
    assert full.code == "SF1|人民路站|111111"
    assert isinstance(short, Reject)
    assert "missing value" in short.reason
