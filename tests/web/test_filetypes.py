"""The certification form's pure checks: the unified social credit code (GB 32100-2015)
and what an uploaded licence really is (web/filetypes.py), and files at rest
(web/uploads.py)."""

from __future__ import annotations

import stat
import zlib
from pathlib import Path

import pytest

from tests.web.licences import GIF, HTML, JPEG, PNG, jpeg_with_comment, pdf, png
from voiceotp.errors import WebInputError
from voiceotp.web import filetypes as ft
from voiceotp.web.uploads import clean_file_name, read_upload, save_upload, upload_path
from voiceotp.web.usercenter.uscc import (
    USCC_ALPHABET,
    check_character,
    is_valid_uscc,
    normalise_uscc,
)

# Published codes (business licences shown on the companies' sites):
# 深圳市腾讯计算机系统有限公司, 华为技术有限公司, 小米科技有限责任公司,
# 北京百度网讯科技有限公司, 阿里巴巴（中国）有限公司.
PUBLISHED = (
    "91440300708461136T",
    "914403001922038216",
    "91110108551385082Q",
    "91110000802100433B",
    "91330100799655058B",
)


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert check_character(code[:17]) == code[17]


@pytest.mark.parametrize("code", PUBLISHED)
def test_every_single_character_corruption_is_caught(code: str) -> None:
    for position in range(18):
        for other in USCC_ALPHABET:
            if other != code[position]:
                corrupted = code[:position] + other + code[position + 1 :]
                assert not is_valid_uscc(corrupted), corrupted


def test_the_shape_of_a_code() -> None:
    code = PUBLISHED[0]
    assert not is_valid_uscc(code[:17])  # too short
    assert not is_valid_uscc(code + "0")  # too long
    assert not is_valid_uscc(code[:-1] + "t")  # lower case is not in the alphabet …
    assert normalise_uscc(" 9144 0300 7084 6113 6t ") == code  # … but the form capitalises
    for letter in "IOZSV":  # not in the alphabet (confusable with 1, 0, 2, 5, U)
        assert not is_valid_uscc(code[:5] + letter + code[6:])
    assert not is_valid_uscc("")
    with pytest.raises(ValueError):
        check_character("ABC")


def sniff(data: bytes) -> str:
    return ft.sniff_document(data)


def refusal(data: bytes) -> str:
    with pytest.raises(WebInputError) as caught:
        ft.sniff_document(data)
    return str(caught.value)


def test_the_three_types_are_known_by_their_content() -> None:
    assert sniff(JPEG) == ft.JPEG
    assert sniff(PNG) == ft.PNG
    assert sniff(pdf()) == ft.PDF
    assert sniff(jpeg_with_comment(b"scanned 2026")) == ft.JPEG
    assert sniff(pdf(catalog_extra=b"/PageLayout /SinglePage /JSON 1 ")) == ft.PDF  # not /JS


def test_other_types_are_refused_whatever_their_name() -> None:
    assert refusal(GIF) == ft.NOT_A_DOCUMENT
    assert refusal(HTML) == ft.NOT_A_DOCUMENT
    assert refusal(b"") == ft.NOT_A_DOCUMENT
    assert refusal(b"\xef\xbb\xbf%PDF-1.7\n%%EOF") == ft.NOT_A_DOCUMENT  # must start at byte 0
    assert refusal(HTML + pdf()) == ft.NOT_A_DOCUMENT


def test_a_file_must_end_where_its_format_ends() -> None:
    assert refusal(PNG + HTML) == ft.DAMAGED  # a PNG that is also a web page
    assert refusal(PNG + b"\x00") == ft.DAMAGED
    assert refusal(PNG[:-1]) == ft.DAMAGED
    assert refusal(JPEG + b"PK\x03\x04") == ft.DAMAGED  # a JPEG that is also a zip
    assert refusal(JPEG[:-2]) == ft.DAMAGED
    assert refusal(pdf(tail=HTML)) == ft.DAMAGED


def test_a_png_chunk_must_check_out() -> None:
    broken = bytearray(PNG)
    broken[45] ^= 0xFF  # inside IDAT's data: its CRC no longer matches
    assert refusal(bytes(broken)) == ft.DAMAGED
    no_header = PNG[:8] + PNG[33:]  # the first chunk is not IHDR
    assert refusal(no_header) == ft.DAMAGED


def test_markup_anywhere_is_refused() -> None:
    assert refusal(jpeg_with_comment(b"<script>alert(1)</script>")) == ft.MARKUP
    assert refusal(jpeg_with_comment(b"<SVG onload=alert(1)>")) == ft.MARKUP
    assert refusal(png(text=b"Comment\x00<?php system($_GET[c]); ?>")) == ft.MARKUP
    assert refusal(pdf(catalog_extra=b"/Title (<html>) ")) == ft.MARKUP


@pytest.mark.parametrize(
    "extra",
    [
        b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >> ",
        b"/Names << /JavaScript 4 0 R >> ",
        b"/OpenAction 3 0 R ",
        b"/AA << /O << /S /Launch /F (cmd.exe) >> >> ",
        b"/Names << /EmbeddedFiles 4 0 R >> ",
        b"/J#61vaScript 4 0 R ",  # a name with an escape is the same name
    ],
)
def test_a_pdf_that_runs_anything_is_refused(extra: bytes) -> None:
    assert refusal(pdf(catalog_extra=extra)) == ft.ACTIVE_PDF


def test_names_hidden_in_a_deflated_object_stream_are_found() -> None:
    hidden = b"5 0 << /S /JavaScript /JS (app.alert(1)) >>"
    assert refusal(pdf(object_stream=hidden)) == ft.ACTIVE_PDF
    assert refusal(pdf(object_stream=b"<script>x</script>")) == ft.MARKUP
    assert sniff(pdf(object_stream=b"5 0 << /Type /Font /Subtype /Type1 >>")) == ft.PDF


def test_a_pdf_that_inflates_beyond_the_budget_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ft, "_INFLATED_CAP", 10_000)
    assert refusal(pdf(object_stream=b"0" * 20_000)) == ft.TOO_DEEP
    assert len(zlib.compress(b"0" * 20_000)) < 100  # small on the wire, large inflated


def test_files_at_rest(tmp_path: Path) -> None:
    ref = save_upload(tmp_path, PNG)
    path = upload_path(tmp_path, ref)
    assert path is not None
    assert path.parent == tmp_path / "uploads"
    assert len(ref) == 32
    assert int(ref, 16) >= 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert read_upload(tmp_path, ref) == PNG
    assert save_upload(tmp_path, PNG) != ref
    for forged in ("../uploads/" + ref, ref.upper(), ref[:-1], "", "/etc/passwd"):
        assert upload_path(tmp_path, forged) is None
        assert read_upload(tmp_path, forged) is None


def test_file_names_are_cleaned() -> None:
    assert clean_file_name("营业执照 2026.pdf", "pdf") == "营业执照 2026.pdf"
    assert clean_file_name("C:\\Users\\me\\licence.png", "png") == "licence.png"
    assert clean_file_name("../../etc/passwd", "pdf") == "passwd"
    assert clean_file_name('a<b>"c|?*.jpg\x00\r\n', "jpg") == "abc.jpg"
    assert clean_file_name("...", "pdf") == "licence.pdf"
    assert clean_file_name("\u202egpj.exe", "jpg") == "gpj.exe"  # no bidi override
    assert len(clean_file_name("x" * 500, "pdf")) == 100
