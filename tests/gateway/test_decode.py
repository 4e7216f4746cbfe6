"""Form decoding as the gateway relies on it (protocol.parse_urlencoded, fixed here)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceotp.protocol import parse_urlencoded


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a=1&b=&c", [("a", "1"), ("b", ""), ("c", "")]),
        (b"m=%EF%BC%91%EF%BC%93", [("m", "１３")]),  # %-escaped UTF-8, ASCII body
        (b"m=\xef\xbc\x91", [("m", "１")]),  # raw UTF-8 bytes in the body
        (b"m=%FF&n=\xff", [("m", "\ufffd"), ("n", "\ufffd")]),  # bad UTF-8 either way
        (b"x=1+2&y=%2B", [("x", "1 2"), ("y", "+")]),
    ],
)
def test_parse_urlencoded(raw: bytes, expected: list[tuple[str, str]]) -> None:
    assert parse_urlencoded(raw) == expected


@given(st.text(alphabet=st.characters(max_codepoint=127, exclude_characters="%+"), max_size=60))
def test_plain_ascii_forms_split_like_parse_qsl(text: str) -> None:
    # The fast path (no %-escapes, no '+') must agree with parse_qsl exactly.
    assert parse_urlencoded(text.encode()) == parse_qsl(text, keep_blank_values=True)
