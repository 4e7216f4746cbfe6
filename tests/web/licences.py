"""Real licence files for the upload tests, built here (PNG, PDF) or embedded (a 2×2
JPEG: IPython's test image ``IPython/core/tests/2x2.jpg``, BSD licence), and the
polyglots and impostors the upload must refuse."""

from __future__ import annotations

import base64
import struct
import zlib

__all__ = ["GIF", "HTML", "JPEG", "PNG", "jpeg_with_comment", "pdf", "png"]

JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0a"
    "HBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAACAAIBAREA/8QAHwAAAQUBAQEB"
    "AQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1Fh"
    "ByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZ"
    "WmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXG"
    "x8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/ACv/2Q=="
)
GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(*, text: bytes = b"", width: int = 4, height: int = 4) -> bytes:
    """An RGB PNG (``text``: a tEXt chunk's keyword-and-value)."""
    rows = b"".join(b"\x00" + b"\x33\x66\xcc" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    extra = _chunk(b"tEXt", text) if text else b""
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra
        + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b"")
    )  # fmt: skip


PNG = png()


def jpeg_with_comment(comment: bytes) -> bytes:
    """:data:`JPEG` with a COM segment after SOI (still a well-formed JPEG)."""
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return JPEG[:2] + segment + JPEG[2:]


def pdf(*, catalog_extra: bytes = b"", object_stream: bytes = b"", tail: bytes = b"") -> bytes:
    """A one-page PDF with a cross-reference table. ``catalog_extra`` goes into the
    catalog's dictionary; ``object_stream`` becomes a deflated stream object."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    if object_stream:
        packed = zlib.compress(object_stream)
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
            + packed + b"\nendstream"
        )  # fmt: skip
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref,
    )  # fmt: skip
    return bytes(out) + tail
