"""The user center's pages, in-process: APIKEY reveal and rotation with a grace period,
the filled-in examples, 发送记录 (own calls, filters, CSV, detail), settings (audited),
the test push and the low-balance alert against a real local receiver, own password."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import re

from tests.integration.helpers import Receiver, run_receiver
from tests.web.conftest import CUSTOMER_A, CUSTOMER_B, PASSWORD, UserCenter
from voiceotp.delivery.notify.alerts import LowBalanceAlerts
from voiceotp.delivery.notify.direct import push_guard
from voiceotp.store.web import list_audit

KEY = re.compile(r'data-testid="apikey">([0-9a-f]{32})<')


async def test_the_apikey_is_shown_after_the_password_only(user_center: UserCenter) -> None:
    client, csrf = await user_center.customer(CUSTOMER_A)
    async with contextlib.aclosing(client):
        overview = await client.get("/user/")
        assert CUSTOMER_A.apikey not in overview.text
        assert "&lt;APIKEY&gt;" in overview.text  # the examples' placeholder
        wrong = await client.post(
            "/user/apikey", data={"csrf_token": csrf, "password": "wrong one!!", "op": "reveal"}
        )
        assert wrong.status_code == 403
        assert CUSTOMER_A.apikey not in wrong.text
        shown = await client.post(
            "/user/apikey", data={"csrf_token": csrf, "password": PASSWORD, "op": "reveal"}
        )
        assert shown.status_code == 200
        assert KEY.findall(shown.text) == [CUSTOMER_A.apikey]
        # the examples are filled in with this account, its endpoint and key
        for sample in ("curl", "python", "php"):
            block = shown.text.split(f'data-testid="example-{sample}">')[1].split("</pre>")[0]
            assert CUSTOMER_A.account in block, sample
            assert CUSTOMER_A.apikey in block, sample
            assert "136xxxxxxxx" in block, sample
            assert "/webservice/voice.php" in block, sample
        assert "$gets =  xml_to_array(Post($post_data, $target));" in shown.text
        assert "CURLOPT_NOBODY" not in shown.text
        assert CUSTOMER_A.login not in shown.text  # numbers are shown masked
        again = await client.get("/user/")
        assert CUSTOMER_A.apikey not in again.text  # shown on that answer only
    actions = [e.action for e in await list_audit(user_center.gateway.store)]
    assert "customer.apikey_refused" in actions
    assert "customer.apikey_reveal" in actions


async def test_the_reveal_is_throttled_like_sign_in(user_center: UserCenter) -> None:
    client, csrf = await user_center.customer(CUSTOMER_A)
    async with contextlib.aclosing(client):
        for _ in range(5):
            answer = await client.post(
                "/user/apikey", data={"csrf_token": csrf, "password": "guess guess", "op": "x"}
            )
            assert answer.status_code == 403
        locked = await client.post(
            "/user/apikey", data={"csrf_token": csrf, "password": PASSWORD, "op": "reveal"}
        )
        assert locked.status_code == 403  # the right password, but the login is locked
        assert CUSTOMER_A.apikey not in locked.text


async def test_a_rotated_key_keeps_the_old_one_for_the_grace_only(
    user_center: UserCenter,
) -> None:
    a = CUSTOMER_A
    client, csrf = await user_center.customer(a)
    async with contextlib.aclosing(client):
        too_long = await client.post(
            "/user/apikey",
            data={"csrf_token": csrf, "password": PASSWORD, "op": "rotate", "grace_h": "1000"},
        )
        assert too_long.status_code == 400
        assert (await user_center.submit(a.account, a.apikey, a.login))["code"] == 2
        rotated = await client.post(
            "/user/apikey",
            data={"csrf_token": csrf, "password": PASSWORD, "op": "rotate", "grace_h": "1"},
        )
        assert rotated.status_code == 200
        (new,) = KEY.findall(rotated.text)
        assert new != a.apikey
    assert (await user_center.submit(a.account, new, a.login))["code"] == 2
    user_center.clock.advance(3600 - 1)
    assert (await user_center.submit(a.account, a.apikey, a.login))["code"] == 2  # in grace
    user_center.clock.advance(2)
    assert (await user_center.submit(a.account, a.apikey, a.login))["code"] == 405
    assert (await user_center.submit(a.account, new, a.login))["code"] == 2


async def test_a_rotation_without_grace_stops_the_old_key_at_once(
    user_center: UserCenter,
) -> None:
    a = CUSTOMER_A
    client, csrf = await user_center.customer(a)
    async with contextlib.aclosing(client):
        rotated = await client.post(
            "/user/apikey", data={"csrf_token": csrf, "password": PASSWORD, "op": "rotate"}
        )
        (new,) = KEY.findall(rotated.text)
    assert (await user_center.submit(a.account, a.apikey, a.login))["code"] == 405
    assert (await user_center.submit(a.account, new, a.login))["code"] == 2
    entry = next(
        e for e in await list_audit(user_center.gateway.store) if e.action.endswith("rotate")
    )
    assert (entry.actor, entry.target) == (a.login, a.account)


async def test_records_are_the_accounts_own_with_filters_and_csv(user_center: UserCenter) -> None:
    a, b = CUSTOMER_A, CUSTOMER_B
    mine = [str((await user_center.submit(a.account, a.apikey, a.login))["voiceid"])]
    mine.append(str((await user_center.submit(a.account, a.apikey, a.login))["voiceid"]))
    theirs = str((await user_center.submit(b.account, b.apikey, b.login))["voiceid"])
    client, _ = await user_center.customer(a)
    async with contextlib.aclosing(client):
        page = await client.get("/user/records")
        assert all(f"/user/records/{v}" in page.text for v in mine)
        assert theirs not in page.text
        assert "138****0001" in page.text
        by_state = await client.get("/user/records", params={"state": "queued"})
        assert all(v in by_state.text for v in mine)
        assert mine[0] not in (await client.get("/user/records?state=ANSWERED")).text
        other = await client.get("/user/records", params={"mobile": b.login})
        assert theirs not in other.text  # a filter narrows within the account only
        bad = await client.get("/user/records", params={"mobile": "123"})
        assert bad.status_code == 200
        assert mine[0] not in bad.text
        future = await client.get("/user/records", params={"since": "2999-01-01"})
        assert mine[0] not in future.text
        exported = await client.get("/user/records.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.text)))
        assert sorted(r[0] for r in rows[1:]) == sorted(mine)
        assert {r[1] for r in rows[1:]} == {"138****0001"}
        detail = await client.get(f"/user/records/{mine[0]}")
        assert detail.status_code == 200
        assert 'data-testid="call-state">queued<' in detail.text
        assert (await client.get(f"/user/records/{theirs}")).status_code == 404
        assert (await client.get("/user/records/99999999999")).status_code == 404
        assert (await client.get("/user/records/abc")).status_code == 404


async def test_records_page_by_keyset(user_center: UserCenter) -> None:
    from voiceotp.web.usercenter import records

    a = CUSTOMER_A
    await user_center.gateway.admin.top_up(a.account, 100)
    ids = [
        str((await user_center.submit(a.account, a.apikey, a.login))["voiceid"])
        for _ in range(records.PAGE_SIZE + 3)
    ]
    client, _ = await user_center.customer(a)
    async with contextlib.aclosing(client):
        first = await client.get("/user/records")
        link = re.search(r'href="(/user/records\?after=\d+)" rel="next"', first.text)
        assert link is not None
        second = await client.get(link.group(1))
        seen = set(re.findall(r"/user/records/(\d+)", first.text + second.text))
        assert seen == set(ids)
        assert 'rel="next"' not in second.text


async def test_settings_are_saved_checked_and_audited(user_center: UserCenter) -> None:
    a = CUSTOMER_A
    client, csrf = await user_center.customer(a)
    async with contextlib.aclosing(client):
        page = await client.get("/user/settings")
        assert 'data-testid="your-ip">127.0.0.1<' in page.text
        form = {
            "csrf_token": csrf, "allow_ips": "127.0.0.1\n10.0.0.0/8",
            "callback_url": "https://example.com/hook", "low_balance_alert": "5",
            "require_dynamic": "on",
        }  # fmt: skip
        assert (await client.post("/user/settings", data=form)).status_code == 303
        bad = await client.post("/user/settings", data={**form, "allow_ips": "not-an-ip"})
        assert bad.status_code == 400
        bad = await client.post("/user/settings", data={**form, "callback_url": "ftp://x"})
        assert bad.status_code == 400
        for threshold in ("-1", "0", "2147483648", "1e3"):
            bad = await client.post("/user/settings", data={**form, "low_balance_alert": threshold})
            assert bad.status_code == 400, threshold
        overview = await client.get("/user/")
        assert 'data-testid="low-balance-alert">&lt; 5<' in overview.text
    record = await user_center.gateway.admin.describe(a.account)
    assert record["allow_ips"] == ["127.0.0.1", "10.0.0.0/8"]
    assert record["callback_url"] == "https://example.com/hook"
    assert record["low_balance_alert"] == 5
    assert record["require_dynamic"] is True
    assert (await user_center.gateway.admin.describe(CUSTOMER_B.account))["allow_ips"] == []
    (entry,) = [
        e for e in await list_audit(user_center.gateway.store) if e.action == "customer.settings"
    ]
    assert (entry.actor, entry.target, entry.ip) == (a.login, a.account, "127.0.0.1")
    assert '"require_dynamic": false' in entry.before
    assert '"require_dynamic": true' in entry.after


async def test_a_test_push_reaches_the_callback_signed(user_center: UserCenter) -> None:
    a = CUSTOMER_A
    client, csrf = await user_center.customer(a)
    async with contextlib.aclosing(client), run_receiver(Receiver(a.apikey, failures=0)) as hook:
        none = await client.post("/user/settings/test-push", data={"csrf_token": csrf})
        assert none.status_code == 400  # no callback URL yet
        await user_center.gateway.admin.configure(a.account, callback_url=hook.url)
        answer = await client.post("/user/settings/test-push", data={"csrf_token": csrf})
        assert answer.status_code == 200
        assert re.search(r'data-testid="push-result">[^<]*HTTP 204', answer.text)
        ((status, valid, body),) = hook.pushes
        assert (status, valid) == (204, True)
        assert body == {"type": "test", "account": a.account, "time": body["time"]}  # type: ignore[index,call-overload]
        # the push guard: loopback beyond the allowed 127.0.0.1/32 is refused unsent
        await user_center.gateway.admin.configure(a.account, callback_url="http://[::1]:9/x")
        refused = await client.post("/user/settings/test-push", data={"csrf_token": csrf})
        assert "is not allowed" in refused.text
        assert "HTTP" not in refused.text.split('data-testid="push-result">')[1].split("<")[0]
    entries = await list_audit(user_center.gateway.store)
    assert [e.action for e in entries if "test_push" in e.action] == [
        "customer.test_push_result", "customer.test_push",  # the refused address
        "customer.test_push_result", "customer.test_push",  # counted before it is sent
    ]  # fmt: skip


async def test_the_low_balance_alert_is_pushed_once_per_fall(user_center: UserCenter) -> None:
    a, gateway = CUSTOMER_A, user_center.gateway
    settings = gateway.settings

    async def keys(name: str) -> str | None:
        return a.apikey if name == a.account else None

    alerts = LowBalanceAlerts(
        gateway.store, keys, push_guard(settings.delivery, dev_mode=False), clock=user_center.clock
    )
    async with run_receiver(Receiver(a.apikey, failures=0)) as hook:
        await gateway.admin.configure(a.account, callback_url=hook.url, low_balance_alert=9)
        assert await alerts.check() == {}  # 10 units: not below 9
        await user_center.submit(a.account, a.apikey, a.login)  # holds one: 9
        assert await alerts.check() == {}
        await user_center.submit(a.account, a.apikey, a.login)  # 8: below
        (result,) = (await alerts.check()).values()
        assert result.ok
        await user_center.submit(a.account, a.apikey, a.login)  # 7: still the same fall
        assert await alerts.check() == {}
        await gateway.admin.top_up(a.account, 1)  # 8: still below, not re-armed
        assert await alerts.check() == {}
        await gateway.admin.top_up(a.account, 2)  # 10: above, re-armed
        assert await alerts.check() == {}
        await gateway.admin.top_up(a.account, -3)  # 7: a new fall
        assert len(await alerts.check()) == 1
        await gateway.admin.configure(a.account, low_balance_alert=8)  # a new threshold
        assert len(await alerts.check()) == 1  # armed afresh: 7 is below 8
        bodies = [body for _, valid, body in hook.pushes if valid]
    assert len(hook.pushes) == 3
    assert [(b["type"], b["balance"], b["threshold"]) for b in bodies] == [  # type: ignore[index,call-overload]
        ("low_balance", 8, 9),
        ("low_balance", 7, 9),
        ("low_balance", 7, 8),
    ]


async def test_a_new_password_ends_every_session(user_center: UserCenter) -> None:
    a = CUSTOMER_A
    client, csrf = await user_center.customer(a)
    other, _ = await user_center.customer(a)
    async with contextlib.aclosing(client), contextlib.aclosing(other):
        new = "a brand new secret"
        wrong = await client.post(
            "/user/me/password",
            data={"csrf_token": csrf, "current_password": "nope nope nope",
                  "new_password": new, "new_password2": new},
        )  # fmt: skip
        assert wrong.status_code == 403
        short = await client.post(
            "/user/me/password",
            data={"csrf_token": csrf, "current_password": PASSWORD,
                  "new_password": "short", "new_password2": "short"},
        )  # fmt: skip
        assert short.status_code == 400
        done = await client.post(
            "/user/me/password",
            data={"csrf_token": csrf, "current_password": PASSWORD,
                  "new_password": new, "new_password2": new},
        )  # fmt: skip
        assert done.status_code == 303
        assert done.headers["location"] == "/user/signin"
        assert (await client.get("/user/")).status_code == 303
        assert (await other.get("/user/")).status_code == 303  # the other session ended too
        fresh = user_center.client()
        form = await fresh.get("/user/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        signed = await fresh.post(
            "/user/signin", data={"csrf_token": token.group(1), "login": a.login, "password": new}
        )
        assert signed.status_code == 303
        await fresh.aclose()


async def test_test_pushes_are_limited_per_account(user_center: UserCenter) -> None:
    from voiceotp.web.usercenter.account_settings import TEST_PUSHES_PER_MINUTE

    a = CUSTOMER_A
    client, csrf = await user_center.customer(a)
    async with contextlib.aclosing(client), run_receiver(Receiver(a.apikey, failures=0)) as hook:
        await user_center.gateway.admin.configure(a.account, callback_url=hook.url)
        for _ in range(TEST_PUSHES_PER_MINUTE):
            answer = await client.post("/user/settings/test-push", data={"csrf_token": csrf})
            assert answer.status_code == 200
        answer = await client.post("/user/settings/test-push", data={"csrf_token": csrf})
        assert answer.status_code == 429
    assert len(hook.pushes) == TEST_PUSHES_PER_MINUTE


async def test_other_audited_actions_do_not_hide_the_test_pushes(user_center: UserCenter) -> None:
    """The limit counts the account's test pushes of the last minute, however many other
    audited actions (a CSV export is one per request) came after them."""
    from voiceotp.web.usercenter.account_settings import TEST_PUSHES_PER_MINUTE

    a = CUSTOMER_A
    client, csrf = await user_center.customer(a)
    async with contextlib.aclosing(client), run_receiver(Receiver(a.apikey, failures=0)) as hook:
        await user_center.gateway.admin.configure(a.account, callback_url=hook.url)
        for _ in range(TEST_PUSHES_PER_MINUTE):
            answer = await client.post("/user/settings/test-push", data={"csrf_token": csrf})
            assert answer.status_code == 200
        for _ in range(60):
            assert (await client.get("/user/records.csv")).status_code == 200
        answer = await client.post("/user/settings/test-push", data={"csrf_token": csrf})
        assert answer.status_code == 429
    assert len(hook.pushes) == TEST_PUSHES_PER_MINUTE


async def test_concurrent_test_pushes_cannot_all_pass_the_limit(user_center: UserCenter) -> None:
    """Each push is counted before it is sent (a slow receiver held every count at 0)."""
    from voiceotp.web.usercenter.account_settings import TEST_PUSHES_PER_MINUTE

    a = CUSTOMER_A
    client, csrf = await user_center.customer(a)
    async with contextlib.aclosing(client), run_receiver(Receiver(a.apikey, failures=0)) as hook:
        await user_center.gateway.admin.configure(a.account, callback_url=hook.url)
        answers = await asyncio.gather(
            *(
                client.post("/user/settings/test-push", data={"csrf_token": csrf})
                for _ in range(3 * TEST_PUSHES_PER_MINUTE)
            )
        )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * TEST_PUSHES_PER_MINUTE + [429] * (2 * TEST_PUSHES_PER_MINUTE)
    assert len(hook.pushes) == TEST_PUSHES_PER_MINUTE


async def test_the_console_shows_customers_in_the_audit_masked(user_center: UserCenter) -> None:
    """A customer's login is their mobile number: as the actor (or the target) of an audit
    row it is masked in the console like every other number."""
    a = CUSTOMER_A
    client, csrf = await user_center.customer(a)
    async with contextlib.aclosing(client):
        saved = await client.post(
            "/user/settings", data={"csrf_token": csrf, "allow_ips": "1.2.3.4"}
        )
        assert saved.status_code == 303
        wrong = {"csrf_token": csrf, "current_password": "not the password"}
        assert (await client.post("/user/me/password", data=wrong)).status_code == 403
        new = "another long secret"
        changed = {"csrf_token": csrf, "current_password": PASSWORD, "new_password": new,
                   "new_password2": new}  # fmt: skip
        assert (await client.post("/user/me/password", data=changed)).status_code == 303
    operator, _ = await user_center.signed_in("olga")
    async with contextlib.aclosing(operator):
        for path in ("/console/audit", f"/console/accounts/{a.account}"):
            page = await operator.get(path)
            assert page.status_code == 200
            assert a.login not in page.text, path
            assert "138****0001" in page.text, path


async def test_a_second_rotation_with_grace_cannot_cut_the_first_grace_short(
    user_center: UserCenter,
) -> None:
    """A double-click on "rotate with a grace" (or a second rotation within the grace)
    stopped the key still in use at once: the second is refused; the first rotation's key
    stays the current one and the old key keeps its grace. Without a grace it is allowed
    (stop every old key now)."""
    a = CUSTOMER_A
    client, csrf = await user_center.customer(a)
    rotate = {"csrf_token": csrf, "password": PASSWORD, "op": "rotate", "grace_h": "1"}
    async with contextlib.aclosing(client):
        first = await client.post("/user/apikey", data=rotate)
        assert first.status_code == 200
        (new,) = KEY.findall(first.text)
        again = await client.post("/user/apikey", data=rotate)
        assert again.status_code == 409
        assert "宽限期" in again.text
        assert KEY.findall(again.text) == []
        assert (await user_center.submit(a.account, a.apikey, a.login))["code"] == 2  # in grace
        assert (await user_center.submit(a.account, new, a.login))["code"] == 2
        now = await client.post("/user/apikey", data={**rotate, "grace_h": "0"})
        assert now.status_code == 200
        (newest,) = KEY.findall(now.text)
    assert (await user_center.submit(a.account, a.apikey, a.login))["code"] == 405
    assert (await user_center.submit(a.account, new, a.login))["code"] == 405
    assert (await user_center.submit(a.account, newest, a.login))["code"] == 2
