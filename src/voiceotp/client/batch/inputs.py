"""Read batch input as a stream of rows: CSV, JSONL, or one number per line.

Nothing here holds more than one row at a time, so a file of any size streams. Rows are
numbered from 1 in input order, counting data rows only (a CSV header and blank lines are
not rows). CSV headers are recognised by their column names; without one, column 1 is the
number and column 2 (if any) the code.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO, cast

from voiceotp.client.batch.items import InputRow, Reject
from voiceotp.errors import InputError as InputError  # re-exported: defined in voiceotp.errors

MOBILE_COLUMNS = frozenset(
    {"mobile", "phone", "phone_number", "phonenumber", "tel", "msisdn", "number"}
    | {"手机号", "手机号码", "手机", "电话", "号码"}
)
CODE_COLUMNS = frozenset({"code", "content", "otp", "验证码", "内容"})


class InputFormat(StrEnum):
    AUTO = "auto"
    CSV = "csv"
    JSONL = "jsonl"
    LINES = "lines"


def open_source(source: str, encoding: str = "utf-8-sig") -> TextIO:
    """Open a path, or standard input for ``-``, as text. A UTF-16 byte-order mark (Excel's
    "Unicode text" export) overrides ``encoding``."""
    binary = _stdin() if source == "-" else Path(source).open("rb")  # noqa: SIM115
    if binary.peek(2)[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    return io.TextIOWrapper(binary, encoding=encoding, newline="")


def _stdin() -> io.BufferedReader:
    stdin = sys.stdin.buffer
    if isinstance(stdin, io.BufferedReader):
        return stdin
    return io.BufferedReader(cast(io.RawIOBase, stdin))  # e.g. a test runner's BytesIO


def read_rows(stream: TextIO, fmt: InputFormat = InputFormat.AUTO) -> Iterator[InputRow | Reject]:
    """Rows of ``stream`` in the given format (AUTO sniffs the first non-blank line)."""
    lines = non_blank_lines(stream)
    first = next(lines, None)
    if first is None:
        return
    if fmt is InputFormat.AUTO:
        fmt = sniff_format(first)
    rest = chain_first(first, lines)
    if fmt is InputFormat.JSONL:
        yield from _read_jsonl(rest)
    elif fmt is InputFormat.CSV:
        yield from _read_csv(rest, delimiter=delimiter_of(first))
    else:
        yield from _read_lines(rest)


def format_for_path(source: str) -> InputFormat:
    """The format a file name implies; AUTO when it implies none."""
    suffix = Path(source).suffix.lower()
    return {
        ".csv": InputFormat.CSV,
        ".tsv": InputFormat.CSV,
        ".jsonl": InputFormat.JSONL,
        ".ndjson": InputFormat.JSONL,
    }.get(suffix, InputFormat.AUTO)


def sniff_format(first_line: str) -> InputFormat:
    stripped = first_line.lstrip("\ufeff").strip()
    if stripped.startswith("{"):
        return InputFormat.JSONL
    if any(mark in stripped for mark in ",\t;"):
        return InputFormat.CSV
    return InputFormat.LINES


def non_blank_lines(stream: TextIO) -> Iterator[str]:
    return (line for line in stream if line.strip())


def chain_first(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first.lstrip("\ufeff")
    yield from rest


def delimiter_of(line: str) -> str:
    """Comma, unless the first line has none and has tabs (TSV) or semicolons (a CSV
    exported with a European locale)."""
    if "," in line:
        return ","
    return "\t" if "\t" in line else ";" if ";" in line else ","


def _read_lines(lines: Iterable[str]) -> Iterator[InputRow]:
    """One number per line; a first line that only names the column is a header."""
    rest = iter(lines)
    first = next(rest, None)
    if first is None:
        return
    if first.strip().lower() not in MOBILE_COLUMNS:
        rest = chain_first(first, rest)
    for row, line in enumerate(rest, 1):
        yield InputRow(row, line.strip(), None, line.rstrip("\r\n"))


def csv_records(lines: Iterable[str], delimiter: str) -> Iterator[list[str]]:
    """The records of a CSV, strictly quoted: broken quoting is an InputError naming the
    record (counting the header), never a guess. A quote never closed would otherwise
    swallow every later line into one field (rows lost, their text sent as another's)."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    record = 0
    while True:
        record += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(
                f"CSV record {record} (counting the header): {exc}; is a quote there"
                " never closed? Quote a field whole and double the quotes inside it"
            ) from exc
        yield cells


def _read_csv(lines: Iterable[str], delimiter: str) -> Iterator[InputRow | Reject]:
    reader = csv_records(lines, delimiter)
    header = next(reader, None)
    if header is None:
        return
    columns = _header_columns(header)
    mobile_at, code_at = columns or (0, 1)
    data = reader if columns is not None else chain_rows(header, reader)
    for row, cells in enumerate(data, 1):
        raw = delimiter.join(cells)
        if mobile_at >= len(cells):
            yield Reject(row, raw, "missing mobile")
            continue
        code = cells[code_at] if code_at is not None and code_at < len(cells) else None
        yield InputRow(row, cells[mobile_at].strip(), code, raw)


def chain_rows(first: list[str], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield first
    yield from rest


def _header_columns(cells: list[str]) -> tuple[int, int | None] | None:
    """(mobile column, code column) when ``cells`` is a header row, else None."""
    names = [cell.strip().lower() for cell in cells]
    mobile = next((i for i, name in enumerate(names) if name in MOBILE_COLUMNS), None)
    code = next((i for i, name in enumerate(names) if name in CODE_COLUMNS), None)
    if mobile is not None:
        return mobile, code
    if code is not None:
        raise InputError("the CSV header names a code column but no mobile column")
    return None


def jsonl_objects(lines: Iterable[str]) -> Iterator[tuple[int, str, dict[str, Any]] | Reject]:
    """Each JSONL line as (row, raw line, object), or a Reject when it is not an object
    (the code and the notice batches read their fields from it)."""
    for row, line in enumerate(lines, 1):
        raw = line.rstrip("\r\n")
        try:
            doc = json.loads(line)
        except ValueError:
            yield Reject(row, raw, "malformed JSON")
            continue
        if not isinstance(doc, dict):
            yield Reject(row, raw, "JSON line is not an object")
            continue
        yield row, raw, doc


def _read_jsonl(lines: Iterable[str]) -> Iterator[InputRow | Reject]:
    for found in jsonl_objects(lines):
        if isinstance(found, Reject):
            yield found
            continue
        row, raw, doc = found
        mobile = first_field(doc, MOBILE_COLUMNS)
        code = first_field(doc, CODE_COLUMNS)
        yield InputRow(row, mobile or "", code, raw)


def first_field(doc: dict[str, object], names: frozenset[str]) -> str | None:
    for key, value in doc.items():
        if key.strip().lower() in names and value is not None:
            return str(value)
    return None
