"""Notice batches (语音通知): rows that are a callee and a notice, sent by the same engine.

A row is either a notice's full text (``NoticeBatch(template_id=None)``) or the values of
one approved template's variables (``NoticeBatch(template_id=3)``: ihuyi's 模板变量 mode,
sent as ``content`` = the values joined by ``|``). Either way the journal's ``code`` column
holds the ``content`` to send, so the journal, the engine, resume, replay, rates and the
output files are the code batch's; what differs is read here: the input's columns, the
row's checks, the duplicate rule (same callee *and* same content) and the sender, which
submits to the notification product (``AsyncClient.submit_notice``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from voiceotp.client.batch.engine import SendReportLike
from voiceotp.client.batch.inputs import (
    MOBILE_COLUMNS,
    InputError,
    InputFormat,
    chain_first,
    chain_rows,
    csv_records,
    delimiter_of,
    first_field,
    jsonl_objects,
    non_blank_lines,
    sniff_format,
)
from voiceotp.client.batch.items import InputRow, Item, Reject
from voiceotp.protocol.notice import MAX_CONTENT, MAX_VARIABLES, normalize_callee

CONTENT_COLUMNS = frozenset({"content", "text", "notice", "内容", "通知", "通知内容", "语音内容"})
VALUES_COLUMNS = frozenset({"vars", "variables", "values", "content", "变量", "内容"})
SEPARATOR = "|"  # between a template's values (ihuyi's 模板变量 mode)


@dataclass(frozen=True, slots=True)
class NoticeBatch:
    """What a notice batch's rows are: full texts, or values of template ``template_id``."""

    template_id: int | None = None

    def to_meta(self) -> dict[str, Any]:
        return {"template_id": self.template_id}

    @property
    def content_name(self) -> str:
        """The input and failed-file column that holds a row's content."""
        return "content" if self.template_id is None else "vars"


def notice_of(meta: dict[str, Any]) -> NoticeBatch | None:
    """The journal's notice batch (from its meta), or None for a code batch."""
    notice = meta.get("notice")
    if not isinstance(notice, dict):
        return None
    template_id = notice.get("template_id")
    return NoticeBatch(int(template_id) if template_id is not None else None)


# ---- reading -------------------------------------------------------------------------


def read_notice_rows(
    stream: TextIO, notice: NoticeBatch, fmt: InputFormat = InputFormat.AUTO
) -> Iterator[InputRow | Reject]:
    """Rows of ``stream`` as (callee, content) input rows; ``content`` is the text, or the
    values joined by ``|``. CSV or JSONL (a notice needs more than a number)."""
    lines = non_blank_lines(stream)
    first = next(lines, None)
    if first is None:
        return
    if fmt is InputFormat.AUTO:
        fmt = sniff_format(first)
    rest = chain_first(first, lines)
    if fmt is InputFormat.JSONL:
        yield from _read_jsonl(rest, notice)
    elif fmt is InputFormat.CSV:
        yield from _read_csv(rest, delimiter_of(first), notice)
    else:
        what = "its values" if notice.template_id is not None else "its text"
        raise InputError(f"a notice batch needs CSV or JSONL input: each row a number and {what}")


def _read_csv(
    lines: Iterable[str], delimiter: str, notice: NoticeBatch
) -> Iterator[InputRow | Reject]:
    reader = csv_records(lines, delimiter)
    header = next(reader, None)
    if header is None:
        return
    names: list[str] | None = [cell.strip().lower() for cell in header]
    mobile_at = next((i for i, name in enumerate(names or ()) if name in MOBILE_COLUMNS), None)
    data: Iterable[list[str]] = reader
    if mobile_at is None:  # no header: the number, then the content (or the values)
        data, names, mobile_at = chain_rows(header, reader), None, 0
    for row, cells in enumerate(data, 1):
        yield _csv_row(row, delimiter.join(cells), cells, mobile_at, names, notice, delimiter)


def _csv_row(
    row: int,
    raw: str,
    cells: list[str],
    mobile_at: int,
    names: list[str] | None,
    notice: NoticeBatch,
    delimiter: str,
) -> InputRow | Reject:
    if mobile_at >= len(cells):
        return Reject(row, raw, "missing mobile")
    if names is not None and len(cells) > len(names):
        return Reject(row, raw, "more cells than the header has columns (quote the content)")
    mobile = cells[mobile_at].strip()
    others = [(i, cell) for i, cell in enumerate(cells) if i != mobile_at]
    if notice.template_id is None:
        return InputRow(row, mobile, _content_cell(others, names, delimiter), raw)
    if names is not None:
        joined = [cell for i, cell in others if names[i] in VALUES_COLUMNS]
        if joined:
            return InputRow(row, mobile, joined[0], raw)
        if len(cells) < len(names):  # the header has a column per variable
            missing = ", ".join(header for header in names[len(cells) :])
            return Reject(row, raw, f"missing value: no cell for column {missing}")
    return _values_row(row, mobile, [cell for _, cell in others], raw)


def _content_cell(others: list[tuple[int, str]], names: list[str] | None, delimiter: str) -> str:
    if names is None:  # no header: the rest of the row, however many commas it holds
        return delimiter.join(cell for _, cell in others)
    return next((cell for i, cell in others if names[i] in CONTENT_COLUMNS), "")


def _values_row(row: int, mobile: str, values: list[Any], raw: str) -> InputRow | Reject:
    for number, value in enumerate(values, 1):
        if _json_text(value) is None:
            return Reject(row, raw, f"value {number} is {json.dumps(value)}, not text or a number")
    texts = [str(value).strip() for value in values]
    for number, text in enumerate(texts, 1):
        if SEPARATOR in text:
            return Reject(row, raw, f"value {number} holds '|', which separates the values")
    return InputRow(row, mobile, SEPARATOR.join(texts), raw)


def _read_jsonl(lines: Iterable[str], notice: NoticeBatch) -> Iterator[InputRow | Reject]:
    for found in jsonl_objects(lines):
        if isinstance(found, Reject):
            yield found
            continue
        row, raw, doc = found
        mobile = first_field(doc, MOBILE_COLUMNS) or ""
        if notice.template_id is None:
            content = next(
                (v for k, v in doc.items() if k.strip().lower() in CONTENT_COLUMNS), None
            )
            if content is not None and _json_text(content) is None:
                yield Reject(row, raw, f"content is {json.dumps(content)}, not text")
            else:
                yield InputRow(row, mobile, _json_text(content), raw)
            continue
        values = next((v for k, v in doc.items() if k.strip().lower() in VALUES_COLUMNS), None)
        if isinstance(values, list):
            yield _values_row(row, mobile, values, raw)
        elif (text := _json_text(values)) is not None:
            yield InputRow(row, mobile, text, raw)
        else:
            yield Reject(row, raw, 'no values: give "vars": ["…", "…"] (or "a|b")')


def _json_text(value: object) -> str | None:
    """A JSON string or number as text; None for anything else (null, true/false, a list,
    an object), which Python would spell as "None", "True" or "['…']"."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


# ---- checking --------------------------------------------------------------------------


def validate_notice(row: InputRow, notice: NoticeBatch) -> Item | Reject:
    """Normalise the callee (a mobile or a landline) and check the content, as far as the
    client can: the template itself is the gateway's to match (4071/4072/40722)."""
    if not row.mobile.strip():
        return Reject(row.row, row.raw, "missing mobile")
    callee = normalize_callee(row.mobile)
    if callee is None:
        return Reject(row.row, row.raw, "invalid mobile or landline")
    content = (row.code or "").strip()
    if notice.template_id is None:
        if not content:
            return Reject(row.row, row.raw, "missing content")
        if len(content) > MAX_CONTENT:
            return Reject(row.row, row.raw, f"content over {MAX_CONTENT} characters (4073)")
        return Item(row.row, callee, content)
    values = content.split(SEPARATOR)
    if not content or any(not value.strip() for value in values):
        return Reject(row.row, row.raw, "a template value is empty")
    if len(values) > MAX_VARIABLES:
        return Reject(row.row, row.raw, f"more than {MAX_VARIABLES} values")
    return Item(row.row, callee, content)


# ---- sending ---------------------------------------------------------------------------


class NoticeClient(Protocol):
    """Anything that submits one notice (``voiceotp.client.AsyncClient`` fits)."""

    async def submit_notice(
        self,
        mobile: str,
        content: str,
        *,
        template_id: int | str | None = None,
        time: int | None = None,
    ) -> SendReportLike: ...


class NoticeSender:
    """The engine's :class:`~voiceotp.client.batch.engine.Sender` for notices: a row's
    ``code`` is its content, submitted to the notification product."""

    def __init__(self, client: NoticeClient, notice: NoticeBatch) -> None:
        self.client = client
        self.template_id = notice.template_id

    async def submit(self, mobile: str, code: str, *, time: int | None = None) -> SendReportLike:
        return await self.client.submit_notice(
            mobile, code, template_id=self.template_id, time=time
        )
