"""What checking a licence upload costs (web/filetypes.py): a 5 MiB PNG, JPEG and PDF
(the default ``user_center.max_upload_bytes``) checked to their last byte, and a small PDF
whose deflated stream inflates to 64 MiB (an upload is checked in a worker thread).

Reproduce:  .venv/bin/python bench/uploads.py
Figures are wall-clock on a shared machine: run once, read as orders of magnitude.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.web.licences

from tests.web.licences import JPEG, pdf, png

from voiceotp.web.filetypes import sniff_document

SIZE = 5 * 1024 * 1024
NOISE = random.Random(20261207).randbytes(SIZE)  # seeded: no markup by chance


def big_png() -> bytes:
    base = len(png(text=b"k\x00"))
    return png(text=b"k\x00" + b"a" * (SIZE - base))


def big_jpeg() -> bytes:
    """The 2×2 JPEG with its scan padded by noise (0xFF stuffed, as an encoder does)."""
    scan = NOISE.replace(b"\xff", b"\xff\x00")[: SIZE - len(JPEG)].rstrip(b"\xff")
    return JPEG[:-2] + scan + JPEG[-2:]


def big_pdf() -> bytes:
    """One 5 MiB stream that is not deflated (e.g. a DCT image): raw bytes, all checked."""
    body = NOISE.hex().encode()[: SIZE - 200]
    return b"%PDF-1.7\n1 0 obj\n<< /Length 1 >>\nstream\n" + body + b"\nendstream\nendobj\n%%EOF\n"


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    cases = {
        "PNG": big_png(),
        "JPEG (noise scan)": big_jpeg(),
        "PDF (one raw stream)": big_pdf(),
        "PDF (inflates to 64 MiB)": pdf(object_stream=b"0 " * (32 * 1024 * 1024)),
    }
    for name, data in cases.items():
        start = time.perf_counter()
        kind = sniff_document(data)
        elapsed = time.perf_counter() - start
        print(f"{name:26} {len(data) / 1048576:6.2f} MiB  {kind:16} {elapsed * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
