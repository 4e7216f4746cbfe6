"""The account page shows what a change answers: a revealed or rotated APIKEY (once)
and the reason a change was refused."""

from __future__ import annotations

import contextlib

from tests.web.conftest import PASSWORD, Console

NAME = "V10000001"


async def test_revealed_and_rotated_apikey_and_a_refusal_are_shown(console: Console) -> None:
    client, csrf = await console.signed_in("alice")
    account = await console.gateway.admin.account(NAME)
    key = console.gateway.keybox.open(account.apikey_enc)
    async with contextlib.aclosing(client):
        shown = await client.post(
            f"/console/accounts/{NAME}/apikey",
            data={"csrf_token": csrf, "password": PASSWORD, "op": "reveal"},
        )
        assert shown.status_code == 200
        assert f'aria-label="APIKEY">{key}</span>' in shown.text
        rotated = await client.post(
            f"/console/accounts/{NAME}/apikey",
            data={"csrf_token": csrf, "password": PASSWORD, "op": "rotate"},
        )
        new = console.gateway.keybox.open((await console.gateway.admin.account(NAME)).apikey_enc)
        assert new != key
        assert f'aria-label="APIKEY">{new}</span>' in rotated.text
        refused = await client.post(
            f"/console/accounts/{NAME}/balance",
            data={"csrf_token": csrf, "units": "0", "reason": "x", "op": "topup"},
        )
        assert refused.status_code == 400
        assert "units must be a positive integer" in refused.text
