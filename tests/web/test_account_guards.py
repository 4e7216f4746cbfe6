"""The account's abuse allowance and the Verify fraud guard in the console (in-process,
both stores): set and cleared through the forms, audited, refused to support; the
throttled number ranges on the dashboard and the account page."""

from __future__ import annotations

import contextlib
import json

from tests.web.conftest import Console
from voiceotp.store.rows import Tx
from voiceotp.store.web import list_audit

NAME = "V10000001"
PUMPED = "1710000"


def _form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, **fields}


async def _last_change(console: Console, action: str) -> tuple[dict[str, object], ...]:
    rows = [r for r in await list_audit(console.gateway.store, target=NAME) if r.action == action]
    assert rows, action
    return json.loads(rows[0].before or "{}"), json.loads(rows[0].after)


async def _override(console: Console) -> tuple[object, ...] | None:
    account = await console.gateway.admin.account(NAME)
    rows = await console.gateway.store.read(
        "SELECT min_conversion, min_codes, allow_prefixes FROM fraud_overrides "
        "WHERE account_id = $1",
        account.id,
    )
    return tuple(rows[0]) if rows else None


async def test_abuse_allowance_is_set_and_cleared_back_to_the_default(console: Console) -> None:
    client, csrf = await console.signed_in("alice")
    async with contextlib.aclosing(client):
        page = await client.get(f"/console/accounts/{NAME}")
        assert 'name="abuse_prefix_burst" type="number" min="0" placeholder="500"' in page.text
        assert 'name="abuse_distinct_numbers" type="number" min="0" placeholder="5000"' in page.text
        saved = await client.post(
            f"/console/accounts/{NAME}/settings",
            data=_form(csrf, abuse_prefix_burst="5000", abuse_distinct_numbers="0"),
        )
        assert saved.status_code == 303, saved.text
        account = await console.gateway.admin.account(NAME)
        assert (account.abuse_prefix_burst, account.abuse_distinct_numbers) == (5000, 0)
        before, after = await _last_change(console, "account.settings")
        assert before["abuse_prefix_burst"] is None
        assert (after["abuse_prefix_burst"], after["abuse_distinct_numbers"]) == (5000, 0)
        page = await client.get(f"/console/accounts/{NAME}")
        assert 'placeholder="500" value="5000"' in page.text

        cleared = await client.post(
            f"/console/accounts/{NAME}/settings",
            data=_form(csrf, abuse_prefix_burst="", abuse_distinct_numbers=""),
        )
        assert cleared.status_code == 303
        account = await console.gateway.admin.account(NAME)
        assert (account.abuse_prefix_burst, account.abuse_distinct_numbers) == (None, None)
        before, after = await _last_change(console, "account.settings")
        assert before["abuse_prefix_burst"] == 5000
        assert after["abuse_prefix_burst"] is None

        bad = await client.post(
            f"/console/accounts/{NAME}/settings", data=_form(csrf, abuse_prefix_burst="-1")
        )
        assert bad.status_code == 400
        assert "abuse_prefix_burst must be between 0 and" in bad.text


async def test_fraud_override_form_stores_and_clears_the_overrides(console: Console) -> None:
    client, csrf = await console.signed_in("alice")
    async with contextlib.aclosing(client):
        page = await client.get(f"/console/accounts/{NAME}")
        assert 'name="min_conversion"' in page.text
        assert 'placeholder="0.1"' in page.text
        assert 'placeholder="30"' in page.text
        saved = await client.post(
            f"/console/accounts/{NAME}/fraud",
            data=_form(
                csrf, min_conversion="0.3", min_codes="12", allow_prefixes="1710000, 1880000"
            ),
        )
        assert saved.status_code == 303, saved.text
        assert await _override(console) == (0.3, 12, "1710000,1880000")
        before, after = await _last_change(console, "account.fraud")
        assert before == {"min_conversion": None, "min_codes": None, "allow_prefixes": []}
        assert after == {
            "min_conversion": 0.3,
            "min_codes": 12,
            "allow_prefixes": ["1710000", "1880000"],
        }
        page = await client.get(f"/console/accounts/{NAME}")
        assert 'value="0.3"' in page.text
        assert 'value="1710000 1880000"' in page.text

        for bad in ({"min_conversion": "2"}, {"min_codes": "x"}, {"allow_prefixes": "17a"}):
            refused = await client.post(f"/console/accounts/{NAME}/fraud", data=_form(csrf, **bad))
            assert refused.status_code == 400, bad
            assert 'class="error"' in refused.text
        assert await _override(console) == (0.3, 12, "1710000,1880000")

        cleared = await client.post(f"/console/accounts/{NAME}/fraud", data=_form(csrf))
        assert cleared.status_code == 303
        assert await _override(console) == (None, None, "")


async def test_support_may_not_change_the_allowance_or_the_fraud_guard(console: Console) -> None:
    client, csrf = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        page = await client.get(f"/console/accounts/{NAME}")
        assert page.status_code == 200
        assert f'action="/console/accounts/{NAME}/fraud" class="stack">' in page.text
        assert page.text.count("<fieldset disabled>") == 2
        refused = await client.post(
            f"/console/accounts/{NAME}/settings", data=_form(csrf, abuse_prefix_burst="9")
        )
        assert refused.status_code == 403
        refused = await client.post(
            f"/console/accounts/{NAME}/fraud", data=_form(csrf, min_codes="1")
        )
        assert refused.status_code == 403
    account = await console.gateway.admin.account(NAME)
    assert account.abuse_prefix_burst is None
    assert await _override(console) is None
    assert not [r for r in await list_audit(console.gateway.store) if r.action.startswith("acc")]


async def pump(console: Console) -> None:
    """Codes nobody checks to one range (and one checked elsewhere: the account uses
    Check), old enough to be judged; then the guard's judgement, as its next refresh."""
    gateway = console.gateway
    account = await gateway.admin.account(NAME)
    now = gateway.clock()
    rows = [(f"{PUMPED}{i:04d}", "pending") for i in range(40)] + [("13600000000", "verified")]

    async def work(tx: Tx) -> None:
        for voiceid, (mobile, state) in enumerate(rows, start=1):
            await tx.execute(
                "INSERT INTO verifications (voiceid, account_id, mobile, salt, code_mac, "
                "state, attempts, max_attempts, created_at, expires_at) "
                "VALUES ($1, $2, $3, 's', 'm', $4, 0, 5, $5, $6)",
                voiceid, account.id, mobile, state, now - 900, now - 600,
            )  # fmt: skip

    await gateway.store.transact(work)
    await gateway.fraud.refresh(now)
    assert (account.id, PUMPED) in gateway.fraud.throttled


async def test_throttled_ranges_on_the_dashboard_and_the_account_page(console: Console) -> None:
    client, _ = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        assert PUMPED not in (await client.get("/console/")).text
        await pump(console)
        for path in ("/console/", "/console/?window=week", f"/console/accounts/{NAME}"):
            page = await client.get(path)
            throttled = page.text.split('data-testid="throttled">', 1)[1].split("</ul>", 1)[0]
            assert PUMPED in throttled, path
            assert "0/40 codes verified" in throttled
        fragment = await client.get("/console/", headers={"hx-request": "true"})
        assert f'/console/accounts/{NAME}">{NAME}</a> {PUMPED}' in fragment.text
        other = await console.gateway.admin.create_account(name="V10000009", balance=1)
        page = await client.get(f"/console/accounts/{other.account}")
        assert PUMPED not in page.text
