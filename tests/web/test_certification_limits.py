"""The licence upload's size limit (``user_center.max_upload_bytes``, small here): a file
at the limit passes, one byte more is refused with the form's message, and a body beyond
the limit plus the form's allowance is refused (413) by its Content-Length before any of
it is read, or — sent without one — as soon as that many bytes came in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from tests.web.conftest import CUSTOMER_A, UserCenter
from tests.web.licences import png
from tests.web.test_certification import fields, send, stored
from voiceotp.gateway import Settings
from voiceotp.store import usercenter as uc_db
from voiceotp.web.face import UPLOAD_TOO_LARGE
from voiceotp.web.i18n import ZH
from voiceotp.web.usercenter import certification as cert_page

LIMIT = 2000
BOUND = LIMIT + cert_page.FORM_ALLOWANCE


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, user_center=replace(settings.user_center, max_upload_bytes=LIMIT))


def png_of_size(size: int) -> bytes:
    """A well-formed PNG of exactly ``size`` bytes (its tEXt chunk pads it)."""
    base = len(png(text=b"k\x00"))
    return png(text=b"k\x00" + b"a" * (size - base))


async def test_a_file_at_the_limit_passes_and_one_byte_more_does_not(
    user_center: UserCenter,
) -> None:
    customer, csrf = await user_center.customer(CUSTOMER_A)
    async with contextlib.aclosing(customer):
        over = await send(customer, csrf, png_of_size(LIMIT + 1))
        assert over.status_code == 400
        assert ZH[cert_page.TOO_LARGE] in over.text
        assert stored(user_center) == []
        assert (await send(customer, csrf, png_of_size(LIMIT))).status_code == 303
    (row,) = await uc_db.list_certifications(user_center.gateway.store)
    assert row.file_size == LIMIT


async def test_a_declared_body_over_the_bound_is_refused_unread(user_center: UserCenter) -> None:
    customer, csrf = await user_center.customer(CUSTOMER_A)
    cookie = "; ".join(f"{k}={v}" for k, v in customer.cookies.items())
    await customer.aclose()
    pulled = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send_(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/user/certification", "raw_path": b"/user/certification",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 40000),
        "server": ("gw", 80),
        "headers": [
            (b"host", b"gw"), (b"cookie", cookie.encode()),
            (b"content-type", b"multipart/form-data; boundary=B"),
            (b"content-length", str(10**9).encode()),
        ],
    }  # fmt: skip
    await user_center.app(scope, receive, send_)
    assert sent[0]["status"] == 413
    assert pulled == 0
    assert stored(user_center) == []
    assert csrf


async def test_an_undeclared_body_is_cut_off_at_the_bound(user_center: UserCenter) -> None:
    customer, csrf = await user_center.customer(CUSTOMER_A)
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        head = "".join(
            f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields(csrf).items()
        )
        yield (
            head + '--B\r\nContent-Disposition: form-data; name="licence"; filename="a.png"'
            "\r\nContent-Type: image/png\r\n\r\n"
        ).encode()
        for _ in range(BOUND // 1024 * 4):  # four times the bound, if it were all read
            pulled += 1
            yield b"a" * 1024

    async with contextlib.aclosing(customer):
        answer = await customer.post(
            "/user/certification", content=body(),
            headers={"content-type": "multipart/form-data; boundary=B"},
        )  # fmt: skip
        assert answer.status_code == 413
        assert ZH[UPLOAD_TOO_LARGE] in answer.text
    assert pulled <= BOUND // 1024 + 1
    assert stored(user_center) == []
    assert await uc_db.list_certifications(user_center.gateway.store) == []
