"""企业认证 end to end, in-process on both stores: a trial customer asks with a licence
file, an operator approves in the console and the account's Submit to another number
goes through (before: 4053); a rejection's reason reaches the customer; the file is served
to operators only, never inline; uploads that are not plain JPEG, PNG or PDF are refused
with nothing stored."""

from __future__ import annotations

import contextlib
import re
import stat
import time
from pathlib import Path

import httpx2
import pytest

from tests.web.conftest import CUSTOMER_A, CUSTOMER_B, PASSWORD, UserCenter
from tests.web.licences import GIF, HTML, JPEG, PNG, jpeg_with_comment, pdf
from voiceotp.store import usercenter as uc_db
from voiceotp.store.web import create_web_user, get_web_user, list_audit
from voiceotp.web import filetypes as ft
from voiceotp.web.console import certifications
from voiceotp.web.i18n import ZH
from voiceotp.web.passwords import hash_password
from voiceotp.web.usercenter import certification as cert_page

USCC = "91440300708461136T"
OTHER_MOBILE = "13900139000"
STATE = re.compile(r'data-testid="certification-state">([^<]+)<')


def fields(csrf: str, **changes: str) -> dict[str, str]:
    values = {
        "csrf_token": csrf, "company": "深圳市示例科技有限公司", "uscc": USCC,
        "contact_name": "张三", "contact_phone": "0755-86013388",
    }  # fmt: skip
    return {**values, **changes}


async def send(
    client: httpx2.AsyncClient, csrf: str, content: bytes, name: str = "营业执照.png",
    content_type: str = "image/png", **changes: str,
) -> httpx2.Response:  # fmt: skip
    files = {"licence": (name, content, content_type)}
    return await client.post("/user/certification", data=fields(csrf, **changes), files=files)


async def submit_code(center: UserCenter, mobile: str) -> int:
    """A Submit of customer A's trial account through the gateway's own ihuyi endpoint."""
    answer = await center.submit(CUSTOMER_A.account, CUSTOMER_A.apikey, mobile)
    return int(str(answer["code"]))


async def signed_in(center: UserCenter, login: str) -> tuple[httpx2.AsyncClient, str]:
    """An operator's client and CSRF token: olga (admin, the fixture's) or sam (support,
    made here on first use)."""
    store = center.gateway.store
    if login == "sam" and await get_web_user(store, kind="operator", login=login) is None:
        await create_web_user(
            store, kind="operator", login=login, password_hash=hash_password(PASSWORD),
            role="support", now=time.time(),
        )  # fmt: skip
    return await center.signed_in(login)


async def account_id(center: UserCenter, name: str) -> int:
    account = await center.gateway.store.get_account(name)
    assert account is not None
    return account.id


def stored(center: UserCenter) -> list[Path]:
    folder = center.gateway.settings.data_dir / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def state_shown(html: str) -> str:
    match = STATE.search(html)
    assert match is not None, html
    return match.group(1)


async def test_approval_lifts_the_trial(user_center: UserCenter) -> None:
    assert await submit_code(user_center, OTHER_MOBILE) == 4053
    assert await submit_code(user_center, CUSTOMER_A.login) == 2
    customer, csrf = await user_center.customer(CUSTOMER_A)
    async with contextlib.aclosing(customer):
        form = await customer.get("/user/certification")
        assert form.status_code == 200
        assert state_shown(form.text) == ZH["Not requested"]
        answer = await send(customer, csrf, PNG, name="../../营业执照.png")
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/user/certification?sent=1"
        (path,) = stored(user_center)
        assert path.read_bytes() == PNG
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        row = await uc_db.latest_certification(
            user_center.gateway.store, account_id=await account_id(user_center, CUSTOMER_A.account)
        )
        assert row is not None
        assert (row.company, row.uscc, row.state, row.file_ref) == (
            "深圳市示例科技有限公司", USCC, "pending", path.name,
        )  # fmt: skip
        assert (row.file_name, row.file_type, row.file_size) == ("营业执照.png", ft.PNG, len(PNG))
        page = await customer.get("/user/certification?sent=1")
        assert state_shown(page.text) == ZH["Pending review"]
        assert state_shown((await customer.get("/user/")).text) == ZH["Pending review"]
        again = await send(customer, csrf, JPEG, name="again.jpg", content_type="image/jpeg")
        assert again.status_code == 409
        assert ZH[cert_page.ALREADY_PENDING] in again.text
        assert len(stored(user_center)) == 1

        operator, op_csrf = await signed_in(user_center, "olga")
        async with contextlib.aclosing(operator):
            listing = await operator.get("/console/certifications")
            assert listing.status_code == 200
            for shown in ("深圳市示例科技有限公司", USCC, CUSTOMER_A.account, "营业执照.png"):
                assert shown in listing.text
            assert f'/console/certifications/{row.id}/file"' in listing.text
            accounts = await operator.get("/console/accounts")
            assert ZH["Pending review"] in accounts.text
            decided = await operator.post(
                f"/console/certifications/{row.id}/decision",
                data={"csrf_token": op_csrf, "op": "approve"},
            )
            assert decided.status_code == 303
            account = await operator.get(f"/console/accounts/{CUSTOMER_A.account}")
            assert ZH["Approved"] in account.text
            twice = await operator.post(
                f"/console/certifications/{row.id}/decision",
                data={"csrf_token": op_csrf, "op": "reject", "reason": "x"},
            )
            assert twice.status_code == 409

        assert await submit_code(user_center, OTHER_MOBILE) == 2
        assert state_shown((await customer.get("/user/certification")).text) == ZH["Approved"]
        overview = await customer.get("/user/")
        assert state_shown(overview.text) == ZH["Approved"]
        assert ZH["Full account"] in overview.text
        after = await send(customer, csrf, JPEG, name="again.jpg", content_type="image/jpeg")
        assert after.status_code == 409
        assert ZH[cert_page.ALREADY_APPROVED] in after.text
    actions = [(e.actor_kind, e.action) for e in await list_audit(user_center.gateway.store)]
    assert ("customer", "customer.certification_submit") in actions
    assert ("operator", "certification.approved") in actions


async def test_a_rejection_reaches_the_customer_who_may_ask_again(
    user_center: UserCenter,
) -> None:
    customer, csrf = await user_center.customer(CUSTOMER_A)
    operator, op_csrf = await signed_in(user_center, "olga")
    async with contextlib.aclosing(customer), contextlib.aclosing(operator):
        sent = await send(customer, csrf, pdf(), "licence.pdf", "application/pdf")
        assert sent.status_code == 303
        (row,) = await uc_db.list_certifications(user_center.gateway.store)
        url = f"/console/certifications/{row.id}/decision"
        odd = await operator.post(url, data={"csrf_token": op_csrf, "op": "maybe"})
        assert odd.status_code == 400
        assert ZH[certifications.BAD_OP] in odd.text
        bare = await operator.post(url, data={"csrf_token": op_csrf, "op": "reject"})
        assert bare.status_code == 400
        assert ZH[certifications.NO_REASON] in bare.text
        reason = "营业执照照片模糊，请<b>重新</b>上传"
        rejected = await operator.post(
            url, data={"csrf_token": op_csrf, "op": "reject", "reason": reason}
        )
        assert rejected.status_code == 303
        assert await submit_code(user_center, OTHER_MOBILE) == 4053  # still a trial
        for path in ("/user/certification", "/user/"):
            page = await customer.get(path)
            assert state_shown(page.text) == ZH["Declined"]
            assert "营业执照照片模糊，请&lt;b&gt;重新&lt;/b&gt;上传" in page.text  # as text
        assert 'name="licence"' in (await customer.get("/user/certification")).text
        assert (await send(customer, csrf, JPEG, "b.jpg", "image/jpeg")).status_code == 303
        rows = await uc_db.list_certifications(user_center.gateway.store)
        assert [r.state for r in rows] == ["pending", "rejected"]  # pending first


async def test_the_file_is_served_to_operators_only_and_never_inline(
    user_center: UserCenter,
) -> None:
    customer, csrf = await user_center.customer(CUSTOMER_A)
    async with contextlib.aclosing(customer):
        answer = await send(customer, csrf, pdf(), 'a"b.pdf', "text/html")
        assert answer.status_code == 303
        (row,) = await uc_db.list_certifications(user_center.gateway.store)
        file_url = f"/console/certifications/{row.id}/file"
        # the customer's session is not an operator's
        assert (await customer.get(file_url)).status_code == 303
        assert (await customer.get("/console/certifications")).status_code == 303
        denied = await customer.post(
            f"/console/certifications/{row.id}/decision", data={"csrf_token": csrf, "op": "approve"}
        )
        assert denied.status_code == 401
        # nothing under /user/ or a static folder reaches the stored file
        (path,) = stored(user_center)
        for probe in (
            f"/user/static/../uploads/{path.name}", f"/user/static/{path.name}",
            f"/console/static/{path.name}", f"/user/uploads/{path.name}", f"/uploads/{path.name}",
            f"/user/static/%2e%2e/%2e%2e/uploads/{path.name}", f"/static/{path.name}",
        ):  # fmt: skip
            probed = await customer.get(probe)
            assert probed.status_code in (303, 404), probe
            assert b"%PDF" not in probed.content, probe
    for login in ("sam", "olga"):
        operator, _ = await signed_in(user_center, login)
        async with contextlib.aclosing(operator):
            served = await operator.get(file_url)
            assert served.status_code == 200
            assert served.content == pdf()
            assert served.headers["content-type"] == "application/pdf"
            assert served.headers["content-disposition"].startswith("attachment;")
            assert served.headers["x-content-type-options"] == "nosniff"
            assert served.headers["content-security-policy"] == "sandbox"
            assert (await operator.get("/console/certifications/999/file")).status_code == 404
            assert (await operator.get("/console/certifications/x/file")).status_code == 404
    audit = await list_audit(user_center.gateway.store)
    reads = [e for e in audit if e.action == "certification.file"]
    assert [(e.actor, e.target) for e in reads] == [
        ("olga", CUSTOMER_A.account),
        ("sam", CUSTOMER_A.account),
    ]


async def test_support_reads_but_cannot_decide(user_center: UserCenter) -> None:
    customer, csrf = await user_center.customer(CUSTOMER_A)
    async with contextlib.aclosing(customer):
        assert (await send(customer, csrf, JPEG, "a.jpg", "image/jpeg")).status_code == 303
    (row,) = await uc_db.list_certifications(user_center.gateway.store)
    support, sup_csrf = await signed_in(user_center, "sam")
    async with contextlib.aclosing(support):
        listing = await support.get("/console/certifications")
        assert listing.status_code == 200
        assert USCC in listing.text
        assert "/decision" not in listing.text  # no buttons (a courtesy: the server decides)
        for op in ("approve", "reject"):
            answer = await support.post(
                f"/console/certifications/{row.id}/decision",
                data={"csrf_token": sup_csrf, "op": op, "reason": "no"},
            )
            assert answer.status_code == 403
    after = await uc_db.get_certification(user_center.gateway.store, cert_id=row.id)
    assert after is not None
    assert after.state == "pending"
    assert await submit_code(user_center, OTHER_MOBILE) == 4053


REFUSED = [
    pytest.param(GIF, "licence.png", "image/png", ft.NOT_A_DOCUMENT, id="gif-named-png"),
    pytest.param(HTML, "licence.pdf", "application/pdf", ft.NOT_A_DOCUMENT, id="html-named-pdf"),
    pytest.param(PNG + HTML, "licence.png", "image/png", ft.DAMAGED, id="png-then-html"),
    pytest.param(
        jpeg_with_comment(b"<script>alert(1)</script>"),
        "a.jpg",
        "image/jpeg",
        ft.MARKUP,
        id="jpeg-with-script",
    ),
    pytest.param(
        pdf(catalog_extra=b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >> "),
        "a.pdf",
        "application/pdf",
        ft.ACTIVE_PDF,
        id="pdf-with-javascript",
    ),
    pytest.param(b"", "empty.png", "image/png", cert_page.NO_FILE, id="empty"),
]


@pytest.mark.parametrize(("content", "name", "content_type", "message"), REFUSED)
async def test_the_upload_refuses_what_is_not_a_plain_licence(
    user_center: UserCenter, content: bytes, name: str, content_type: str, message: str
) -> None:
    customer, csrf = await user_center.customer(CUSTOMER_A)
    async with contextlib.aclosing(customer):
        answer = await send(customer, csrf, content, name, content_type)
        assert answer.status_code == 400
        assert ZH[message] in answer.text
        assert 'value="深圳市示例科技有限公司"' in answer.text  # what was typed stays
    assert stored(user_center) == []
    assert await uc_db.list_certifications(user_center.gateway.store) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"uscc": USCC[:-1] + "U"}, cert_page.BAD_USCC),
        ({"uscc": "9144030070846113"}, cert_page.BAD_USCC),
        ({"company": ""}, cert_page.NO_COMPANY),
        ({"contact_name": ""}, cert_page.NO_CONTACT),
        ({"contact_phone": "call me"}, cert_page.BAD_PHONE),
    ],
)
async def test_the_form_fields_are_checked(
    user_center: UserCenter, changes: dict[str, str], message: str
) -> None:
    customer, csrf = await user_center.customer(CUSTOMER_A)
    async with contextlib.aclosing(customer):
        answer = await send(customer, csrf, PNG, **changes)
        assert answer.status_code == 400
        assert ZH[message] in answer.text
        # lower case and spaces are the same code
        fine = await send(customer, csrf, PNG, uscc=" 9144 0300 7084 6113 6t")
        assert fine.status_code == 303
    assert [r.uscc for r in await uc_db.list_certifications(user_center.gateway.store)] == [USCC]
    assert len(stored(user_center)) == 1


async def test_the_form_needs_its_csrf_token(user_center: UserCenter) -> None:
    customer, _ = await user_center.customer(CUSTOMER_A)
    async with contextlib.aclosing(customer):
        answer = await send(customer, "forged", PNG)
        assert answer.status_code == 403
    assert stored(user_center) == []


async def test_operators_see_sign_ups_and_trial_state(user_center: UserCenter) -> None:
    store = user_center.gateway.store
    own = await account_id(user_center, CUSTOMER_A.account)
    for token, mobile, ip, now in (
        ("a" * 64, CUSTOMER_A.login, "203.0.113.7", 1.0),
        ("b" * 64, OTHER_MOBILE, "203.0.113.8", 3.0),
    ):
        refused = await uc_db.reserve_signup(
            store, token_hash=token, mobile=mobile, ip=ip, now=now, per_ip_hour=0,
            per_number_day=0, lock_account_id=own,
        )  # fmt: skip
        assert refused == ""
    await uc_db.set_signup_call(store, token_hash="a" * 64, voiceid="77")
    signup = await uc_db.get_signup(store, token_hash="a" * 64)
    assert signup is not None
    await uc_db.finish_signup(store, signup_id=signup.id, account_id=own, now=2.0)
    support, _ = await signed_in(user_center, "sam")
    async with contextlib.aclosing(support):
        page = await support.get("/console/signups")
        assert page.status_code == 200
        assert "138****0001" in page.text
        assert "139****9000" in page.text
        assert CUSTOMER_A.login not in page.text
        assert OTHER_MOBILE not in page.text
        assert "203.0.113.7" in page.text
        assert f'href="/console/accounts/{CUSTOMER_A.account}"' in page.text
        assert ZH["Code entered"] in page.text
        assert ZH["Called"] in page.text
        accounts = await support.get("/console/accounts")
        row = accounts.text.split(f">{CUSTOMER_A.account}</a>")[1].split("</tr>")[0]
        assert ZH["Trial"] in row
        account = await support.get(f"/console/accounts/{CUSTOMER_A.account}")
        assert "138****0001" in account.text
        assert ZH["Not requested"] in account.text
        nav = await support.get("/console/")
        assert 'href="/console/certifications"' in nav.text
        assert 'href="/console/signups"' in nav.text


async def test_a_customer_sees_only_their_own_request(user_center: UserCenter) -> None:
    first, csrf = await user_center.customer(CUSTOMER_A)
    async with contextlib.aclosing(first):
        assert (await send(first, csrf, PNG, company="甲公司")).status_code == 303
    second, csrf2 = await user_center.customer(CUSTOMER_B)
    async with contextlib.aclosing(second):
        for path in ("/user/certification", "/user/"):
            page = await second.get(path)
            assert "甲公司" not in page.text
            assert USCC not in page.text
            assert state_shown(page.text) == ZH["Not requested"]
        # its own request is its own, whatever the other account's state
        assert (
            await send(second, csrf2, JPEG, "b.jpg", "image/jpeg", company="乙公司")
        ).status_code == 303
    rows = await uc_db.list_certifications(user_center.gateway.store)
    names = await uc_db.account_names(user_center.gateway.store, ids={r.account_id for r in rows})
    assert sorted((names[r.account_id], r.company) for r in rows) == [
        (CUSTOMER_A.account, "甲公司"), (CUSTOMER_B.account, "乙公司"),
    ]  # fmt: skip
