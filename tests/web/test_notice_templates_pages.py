"""Notification templates in the browser faces: a customer files one in the user center
(their own account only), an operator approves or rejects it in the console (support
only looks), and the approved template lets the account's notices through."""

from __future__ import annotations

import contextlib
import re

import pytest

from tests.web.conftest import CUSTOMER_A, CUSTOMER_B, PASSWORD, UserCenter
from voiceotp.protocol.notice import TemplateSyntaxError, parse_template
from voiceotp.store.web import create_web_user, list_audit
from voiceotp.web.passwords import hash_password
from voiceotp.web.usercenter import notice_templates

TEXT = "您的快递【变量】已到达,请取件。"


async def test_file_in_the_user_center_decide_in_the_console(user_center: UserCenter) -> None:
    a, a_csrf = await user_center.customer(CUSTOMER_A)
    b, _ = await user_center.customer(CUSTOMER_B)
    olga, olga_csrf = await user_center.signed_in("olga")
    async with contextlib.aclosing(a), contextlib.aclosing(b), contextlib.aclosing(olga):
        bad = await a.post("/user/templates", data={"csrf_token": a_csrf, "text": "【变量】"})
        assert bad.status_code == 400
        assert "模板没有固定文字" in bad.text  # the page's language, not the service's English
        filed = await a.post(
            "/user/templates", data={"csrf_token": a_csrf, "text": TEXT, "var_max": "10"}
        )
        assert filed.status_code == 303
        own = await a.get("/user/templates")
        assert TEXT in own.text
        assert TEXT not in (await b.get("/user/templates")).text  # B sees only B's
        pending = await olga.get("/console/templates")
        assert TEXT in pending.text
        [template_id] = re.findall(r"/console/templates/(\d+)/decision", pending.text)
        url = f"/console/templates/{template_id}/decision"
        no_reason = await olga.post(url, data={"csrf_token": olga_csrf, "op": "reject"})
        assert no_reason.status_code == 400
        approved = await olga.post(url, data={"csrf_token": olga_csrf, "op": "approve"})
        assert approved.status_code == 303
        assert "已通过" in (await a.get("/user/templates")).text  # approved
        again = await olga.post(url, data={"csrf_token": olga_csrf, "op": "approve"})
        assert again.status_code == 400  # decided once
    actions = [e.action for e in await list_audit(user_center.gateway.store)]
    assert {"customer.template", "templates.approve"} <= set(actions)
    async with user_center.client() as client:
        sent = await client.post(
            "/vm/webservice/voice.php",
            params={"method": "Submit", "format": "json"},
            data={"account": CUSTOMER_A.account, "password": CUSTOMER_A.apikey,
                  "mobile": CUSTOMER_A.login, "content": "您的快递SF123已到达,请取件。"},
        )  # fmt: skip
    assert sent.json()["code"] == 2


async def test_support_sees_but_cannot_decide(user_center: UserCenter) -> None:
    await create_web_user(
        user_center.gateway.store, kind="operator", login="sam", role="support",
        password_hash=hash_password(PASSWORD), now=0.0,
    )  # fmt: skip
    account = await user_center.gateway.store.get_account(CUSTOMER_A.account)
    assert account is not None
    filed = await user_center.gateway.templates.file(account.id, TEXT, by="test")
    sam, sam_csrf = await user_center.signed_in("sam")
    async with contextlib.aclosing(sam):
        page = await sam.get("/console/templates")
        assert TEXT in page.text
        assert "/decision" not in page.text
        url = f"/console/templates/{filed.id}/decision"
        refused = await sam.post(url, data={"csrf_token": sam_csrf, "op": "approve"})
        assert refused.status_code == 403


@pytest.mark.parametrize(
    "text", ["{a}{b}你好", "{a}你好{a}", "你" + "【变量】好" * 21, "【变量】", "{x}"]
)
def test_each_syntax_refusal_has_a_chinese_text(text: str) -> None:
    with pytest.raises(TemplateSyntaxError) as refused:
        parse_template(text)
    assert f"template: {refused.value}" in notice_templates.REFUSALS
