"""Jinja2 for the web faces: autoescape always on, the shared layout, vendored assets."""

from __future__ import annotations

import re
import time
from pathlib import Path

import jinja2
from starlette.templating import Jinja2Templates

from voiceotp.protocol import mask_mobile

__all__ = ["HTMX", "STATIC_DIR", "make_templates"]

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
HTMX = "vendor/htmx-2.0.11/htmx.min.js"
# A mainland mobile number inside free text (not part of a longer digit run: voiceids).
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")


def make_templates(face_dir: Path) -> Jinja2Templates:
    """Templates of one face, falling back to the shared ones (``web/templates``)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([face_dir, HERE / "templates"]),
        autoescape=True,  # every template, whatever its file name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["HTMX"] = HTMX
    env.filters["mask"] = mask_mobile
    env.filters["mask_numbers"] = mask_numbers
    env.filters["datetime"] = format_time
    return Jinja2Templates(env=env)


def format_time(ts: float) -> str:
    """Seconds since the epoch as the server's local time, to the millisecond."""
    whole = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
    return f"{whole}.{int(ts * 1000) % 1000:03d}"


def mask_numbers(text: str) -> str:
    """Every mobile number in ``text`` masked (``138****8000``), e.g. an audit row's JSON."""
    return _MOBILE_IN_TEXT.sub(r"\1****\2", text)
