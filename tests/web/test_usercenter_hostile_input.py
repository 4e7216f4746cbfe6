"""Hostile form input on every POST of the user center and the console's certification
pages, on both stores: each is answered with a page (4xx at worst), never a 500.

A NUL character is the case in point: PostgreSQL refuses it in text (SQLite stores it),
so a form value that reached a query with one was a 500 — on the public sign-in, before
any session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2

from tests.web.conftest import CSRF_META, CUSTOMER_A, UserCenter
from tests.web.licences import PNG
from tests.web.test_certification import USCC, signed_in
from tests.web.test_usercenter_access import public, routes
from voiceotp.web.face import FORM_BODY_LIMIT

NUL = "a\x00b"
FIELDS = (
    "login", "password", "otp", "mobile", "code", "password2", "company", "uscc",
    "contact_name", "contact_phone", "allow_ips", "callback_url", "low_balance_alert",
    "grace_h", "op", "current_password", "new_password", "new_password2", "language",
    "next", "reason",
)  # fmt: skip
PUBLIC_FIELDS = FIELDS[:6]  # the public forms take at most 20 fields


async def pre_token(client: httpx2.AsyncClient, path: str) -> str:
    form = await client.get(path)
    found = CSRF_META.search(form.text)
    return found.group(1) if found else ""


async def test_a_nul_in_any_field_of_any_post_is_no_500(user_center: UserCenter) -> None:
    customer, csrf = await user_center.customer(CUSTOMER_A)
    answers = {}
    for method, path, _ in routes():
        if method != "POST" or path.endswith("/signout"):
            continue
        if public(path):
            async with user_center.client() as anonymous:
                token = await pre_token(anonymous, path)
                data = {"csrf_token": token, **dict.fromkeys(PUBLIC_FIELDS, NUL)}
                answers[path] = (await anonymous.post(path, data=data)).status_code
            continue
        data = {"csrf_token": csrf, **dict.fromkeys(FIELDS, NUL)}
        files = {"licence": ("a\x00.png", PNG, "image/png")} if "certification" in path else None
        answers[path] = (await customer.post(path, data=data, files=files)).status_code
    assert {"/user/signin", "/user/signup", "/user/certification"} <= set(answers)
    assert all(status < 500 for status in answers.values()), answers


async def test_nul_in_the_sign_in_is_a_wrong_login(user_center: UserCenter) -> None:
    for face in ("user", "console"):
        async with user_center.client() as client:
            token = await pre_token(client, f"/{face}/signin")
            data = {"csrf_token": token, "login": "olga\x00", "password": "x\x00"}
            answer = await client.post(f"/{face}/signin", data=data)
            assert answer.status_code == 401, answer.text


async def test_nul_in_a_certification_and_its_rejection(user_center: UserCenter) -> None:
    customer, csrf = await user_center.customer(CUSTOMER_A)
    data = {"csrf_token": csrf, "company": "示例\x00公司", "uscc": USCC,
            "contact_name": "张\x00三", "contact_phone": "0755-86013388"}  # fmt: skip
    files = {"licence": ("营业执照.png", PNG, "image/png")}
    answer = await customer.post("/user/certification", data=data, files=files)
    assert answer.status_code == 303, answer.text
    operator, token = await signed_in(user_center, "olga")
    listed = await operator.get("/console/certifications")
    assert "示例\ufffd公司" in listed.text  # shown as the replacement character
    cert = listed.text.split("/console/certifications/")[1].split("/")[0]
    decision = {"csrf_token": token, "op": "reject", "reason": "不清\x00楚"}
    answer = await operator.post(f"/console/certifications/{cert}/decision", data=decision)
    assert answer.status_code == 303, answer.text


async def test_an_unknown_language_sets_no_cookie(user_center: UserCenter) -> None:
    """Only a language of ours is kept (a cookie of anything else was a 500 for text
    outside latin-1, and a cookie holding whatever the form said)."""
    for face in ("user", "console"):
        if face == "user":
            client, csrf = await user_center.customer(CUSTOMER_A)
        else:
            client, csrf = await signed_in(user_center, "olga")
        for wanted in ("语言", "x; Path=/"):
            data = {"csrf_token": csrf, "language": wanted, "next": f"/{face}/"}
            answer = await client.post(f"/{face}/language", data=data)
            assert answer.status_code == 303
            assert "voiceotp_lang" not in answer.headers.get("set-cookie", "")
        answer = await client.post(f"/{face}/language", data={"csrf_token": csrf, "language": "en"})
        assert "voiceotp_lang=en" in answer.headers["set-cookie"]


async def test_a_nul_in_the_console_searches_is_no_500(user_center: UserCenter) -> None:
    operator, _ = await signed_in(user_center, "olga")
    for path in ("/console/accounts?q=V%00", "/console/calls?account=V%00",
                 "/console/calls.csv?account=V%00"):  # fmt: skip
        answer = await operator.get(path)
        assert answer.status_code == 200, path


async def test_a_form_that_cannot_be_read_is_answered_with_a_page(user_center: UserCenter) -> None:
    """A multipart body without its boundary, too many fields, a file where none is taken:
    a 400 page of the face in its language (not the framework's plain-text line)."""
    customer, csrf = await user_center.customer(CUSTOMER_A)
    bodies = (
        {"content": b"x", "headers": {"content-type": "multipart/form-data"}},
        {"data": {f"f{i}": "1" for i in range(300)}},
        {"data": {"csrf_token": csrf}, "files": {"f": ("a", b"1"), "g": ("b", b"2")}},
    )
    for method, path, _ in routes():
        if method != "POST" or path.endswith(("/signout", "/signup/confirm")):
            continue  # (the confirm step without a sign-up under way: back to step 1)
        for body in bodies:
            if public(path):
                async with user_center.client() as anonymous:
                    await pre_token(anonymous, path)
                    answer = await anonymous.post(path, **body)  # type: ignore[arg-type]
            else:
                answer = await customer.post(path, **body)  # type: ignore[arg-type]
            assert answer.status_code == 400, (path, answer.status_code)
            assert answer.headers["content-type"].startswith("text/html"), path
            assert "表单无法读取" in answer.text, (path, answer.text[:200])


async def test_a_form_body_is_bounded_before_it_is_read(user_center: UserCenter) -> None:
    """The public forms (and every other form without a file) are refused past
    FORM_BODY_LIMIT: 413 at once when Content-Length says so, else as soon as that much
    came in — the rest is never read (the parser alone took 1 MB per field, 20 fields)."""
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"csrf_token=x&login=13800000001&password="
        for _ in range(1000):
            sent += 1
            yield b"x" * 1024

    limit_chunks = FORM_BODY_LIMIT // 1024
    async with user_center.client() as anonymous:
        await pre_token(anonymous, "/user/signin")
        form = {"content-type": "application/x-www-form-urlencoded"}
        streamed = await anonymous.post("/user/signin", content=chunks(), headers=form)
        assert streamed.status_code == 413
        assert "text/html" in streamed.headers["content-type"]
        assert sent <= limit_chunks + 2  # stopped reading at the limit, not at 1000 KiB
        declared = {**form, "content-length": str(FORM_BODY_LIMIT + 1)}
        big = b"login=" + b"x" * FORM_BODY_LIMIT
        assert (
            await anonymous.post("/user/signin", content=big, headers=declared)
        ).status_code == 413
    customer, csrf = await user_center.customer(CUSTOMER_A)
    ips = "\n".join(f"2001:db8:{i:x}::/48" for i in range(256))  # the most a form holds
    answer = await customer.post("/user/settings", data={"csrf_token": csrf, "allow_ips": ips})
    assert answer.status_code == 303
    big_settings = {"csrf_token": csrf, "allow_ips": "1" * FORM_BODY_LIMIT}
    assert (await customer.post("/user/settings", data=big_settings)).status_code == 413


async def test_a_form_sent_after_the_session_ended_is_answered_with_a_page(
    user_center: UserCenter,
) -> None:
    """A customer whose session ended while filling a form sees why and where to go on
    (htmx requests still get their redirect header)."""
    async with user_center.client() as signed_out:
        answer = await signed_out.post("/user/settings", data={"allow_ips": ""})
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("text/html")
        assert "会话已结束，请重新登录。" in answer.text
        assert 'href="/user/signin"' in answer.text
        htmx = await signed_out.post("/user/settings", headers={"hx-request": "true"})
        assert (htmx.status_code, htmx.headers["hx-redirect"]) == (401, "/user/signin")
