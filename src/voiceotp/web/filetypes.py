"""What an uploaded file really is, decided from its bytes (never its name or the
client's Content-Type): JPEG, PNG or PDF, parsed to the end so that no second format hides
behind the first (a polyglot), with no web markup anywhere and, in a PDF, nothing that
runs (scripts, actions, embedded files).

Pure functions over bytes; :func:`sniff_document` raises :class:`WebInputError` with a
message for the customer.
"""

from __future__ import annotations

import re
import zlib

from voiceotp.errors import WebInputError

__all__ = [
    "ACTIVE_PDF",
    "DAMAGED",
    "EXTENSIONS",
    "JPEG",
    "MARKUP",
    "MESSAGES",
    "NOT_A_DOCUMENT",
    "PDF",
    "PNG",
    "TOO_DEEP",
    "sniff_document",
]

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
EXTENSIONS = {JPEG: "jpg", PNG: "png", PDF: "pdf"}

NOT_A_DOCUMENT = "The file must be a JPEG or PNG image or a PDF (decided by its content)."
DAMAGED = "The file is damaged or has data appended. Save it again as a plain JPEG, PNG or PDF."
MARKUP = "The file contains web markup or script and cannot be accepted."
ACTIVE_PDF = (
    "The PDF contains scripts, actions or embedded files. Print it to a plain PDF and try again."
)
TOO_DEEP = "The PDF is too large once decompressed to be checked."
MESSAGES = (NOT_A_DOCUMENT, DAMAGED, MARKUP, ACTIVE_PDF, TOO_DEEP)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MARKUP = re.compile(rb"<(?:script|html|\?php|svg)", re.IGNORECASE)
# A PDF name: "/" then regular characters (delimiters and white space end it); "#xx" escapes.
_NAME = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]*)")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_ACTIVE_NAMES = frozenset(
    {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"OpenAction", b"AA",
     b"RichMedia", b"XFA"}
)  # fmt: skip
_STREAM = re.compile(rb"stream\r?\n")  # (a lookbehind for "end" would cost a full scan)
_INFLATED_CAP = 256 * 1024 * 1024  # the most a PDF's streams may inflate to, all together
_CHUNK = 1024 * 1024


def sniff_document(data: bytes) -> str:
    """The MIME type of ``data`` (JPEG, PNG or PDF) once it checks out to its last byte."""
    if data.startswith(PNG_SIGNATURE):
        kind = _check_png(data)
    elif data.startswith(b"\xff\xd8\xff"):
        kind = _check_jpeg(data)
    elif re.match(rb"%PDF-\d", data):
        kind = _check_pdf(data)
    else:
        raise WebInputError(NOT_A_DOCUMENT)
    if _MARKUP.search(data):
        raise WebInputError(MARKUP)
    return kind


def _check_png(data: bytes) -> str:
    """Chunks (length, type, data, CRC) from IHDR through IEND, and nothing after."""
    pos, first = len(PNG_SIGNATURE), True
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind, end = data[pos + 4 : pos + 8], pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data) or not kind.isalpha():
            break
        if (first and kind != b"IHDR") or zlib.crc32(data[pos + 4 : end - 4]) != int.from_bytes(
            data[end - 4 : end], "big"
        ):
            break
        pos, first = end, False
        if kind == b"IEND":
            if length == 0 and pos == len(data):
                return PNG
            break
    raise WebInputError(DAMAGED)


def _check_jpeg(data: bytes) -> str:
    """Marker segments from SOI, entropy-coded data after each SOS, EOI as the last bytes."""
    pos, size = 2, len(data)
    while pos < size and data[pos] == 0xFF:
        while pos < size and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            break
        marker, pos = data[pos], pos + 1
        if marker == 0xD9:  # EOI
            if pos == size:
                return JPEG
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            continue
        if marker in (0x00, 0xD8) or pos + 2 > size:
            break
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > size:
            break
        pos += length
        if marker == 0xDA:  # SOS: the scan runs to the next marker that is not RSTn
            pos = _end_of_scan(data, pos)
    raise WebInputError(DAMAGED)


def _end_of_scan(data: bytes, pos: int) -> int:
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return len(data)
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:  # a stuffed 0xFF, a restart
            pos += 2
            continue
        return pos


def _check_pdf(data: bytes) -> str:
    """%PDF- … %%EOF (white space after it at most), no active names, raw or inflated."""
    if not data.rstrip(b"\x00\t\n\x0c\r ").endswith(b"%%EOF"):
        raise WebInputError(DAMAGED)
    if _has_active_name(data):
        raise WebInputError(ACTIVE_PDF)
    budget = _INFLATED_CAP
    for match in _STREAM.finditer(data):
        if data[match.start() - 3 : match.start()] != b"end":
            budget = _check_stream(data, match.end(), budget)
    return PDF


def _has_active_name(text: bytes) -> bool:
    for match in _NAME.finditer(text):
        name = match.group(1)
        if b"#" in name:
            name = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), name)
        if name in _ACTIVE_NAMES:
            return True
    return False


def _check_stream(data: bytes, start: int, budget: int) -> int:
    """Inflate a stream when it is deflated (object streams can hide names) and look at
    what comes out, a chunk at a time (with an overlap for names across chunks); the
    budget left."""
    end = data.find(b"endstream", start)
    inflater = zlib.decompressobj()
    pending: bytes | memoryview = memoryview(data)[start : end if end >= 0 else len(data)]
    tail = b""
    while pending:
        try:
            chunk = inflater.decompress(pending, _CHUNK)
        except zlib.error:
            return budget  # not deflated (or not only): its raw bytes were checked
        pending, budget = inflater.unconsumed_tail, budget - len(chunk)
        if budget < 0:
            raise WebInputError(TOO_DEEP)
        window = tail + chunk
        if _MARKUP.search(window):
            raise WebInputError(MARKUP)
        if _has_active_name(window):
            raise WebInputError(ACTIVE_PDF)
        tail = window[-64:]
        if inflater.eof or not chunk:
            break
    return budget
