"""Push signatures: HMAC-SHA256 over timestamp + "." + body, checked in constant time."""

from __future__ import annotations

import pytest

from voiceotp.delivery.notify import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_body,
    signature_headers,
    verify_signature,
)

KEY = "0123456789abcdef0123456789abcdef"
BODY = b'[{"a":1}]'
TS = 1_700_000_000


def test_signature_matches_an_independent_computation() -> None:
    # printf '1700000000.[{"a":1}]' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
    expected = "489072320817f2407988fcdebd2257d3f4f266e04c21562e57361f2ecf7d2d5a"
    assert sign_body(BODY, TS, KEY) == expected
    assert signature_headers(BODY, TS, KEY) == {
        TIMESTAMP_HEADER: "1700000000",
        SIGNATURE_HEADER: f"sha256={expected}",
    }


def test_a_fresh_signature_verifies() -> None:
    headers = signature_headers(BODY, TS, KEY)
    assert verify_signature(
        BODY, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], KEY, now=TS + 299
    )


@pytest.mark.parametrize(
    ("body", "timestamp", "key", "now"),
    [
        (b'[{"a":2}]', str(TS), KEY, TS),  # tampered body
        (BODY, str(TS + 1), KEY, TS),  # timestamp changed after signing
        (BODY, str(TS), "f" * 32, TS),  # another account's key
        (BODY, str(TS), KEY, TS + 301),  # too old: a replay
        (BODY, str(TS), KEY, TS - 301),  # too far in the future
    ],
)
def test_anything_changed_does_not_verify(body: bytes, timestamp: str, key: str, now: int) -> None:
    signature = signature_headers(BODY, TS, KEY)[SIGNATURE_HEADER]
    assert not verify_signature(body, timestamp, signature, key, now=now)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        (None, "sha256=00"),
        (str(TS), None),
        ("", "sha256=00"),
        ("17e8", "sha256=00"),
        ("-1700000000", "sha256=00"),
        (str(TS), sign_body(BODY, TS, KEY)),  # no "sha256=" prefix
        (str(TS), "sha1=" + sign_body(BODY, TS, KEY)),
        (str(TS), "sha256=zz"),
    ],
)
def test_malformed_headers_are_refused(timestamp: str | None, signature: str | None) -> None:
    assert not verify_signature(BODY, timestamp, signature, KEY, now=TS)


def test_uppercase_hex_is_accepted() -> None:
    signature = "sha256=" + sign_body(BODY, TS, KEY).upper()
    assert verify_signature(BODY, str(TS), signature, KEY, now=TS)
