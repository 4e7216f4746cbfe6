"""APIKEY rotation is one conditional UPDATE: the key kept for a grace is the one the
rotation replaced, and two rotations with a grace at once cannot cut a grace short."""

from __future__ import annotations

import asyncio

from voiceotp.store import Store

NOW = 1_800_000_000.0


async def test_concurrent_rotations_with_a_grace_keep_the_key_in_use(store: Store) -> None:
    await store.open()
    try:
        await store.create_account(name="V10000001", apikey_enc="key-0", now=NOW)
        done = await asyncio.gather(
            *(
                store.rotate_apikey(
                    "V10000001", apikey_enc=f"key-{i}", grace_until=NOW + 3600, now=NOW
                )
                for i in (1, 2, 3)
            )
        )
        assert sorted(done) == [False, False, True]
        account = await store.get_account("V10000001")
        assert account is not None
        assert account.old_apikey_enc == "key-0"  # the key callers still use
        assert account.old_apikey_until == NOW + 3600
        assert account.apikey_enc == f"key-{done.index(True) + 1}"
        # Without a grace: allowed in a grace, and every older key stops.
        assert await store.rotate_apikey("V10000001", apikey_enc="key-9", grace_until=0, now=NOW)
        account = await store.get_account("V10000001")
        assert account is not None
        assert (account.old_apikey_enc, account.old_apikey_until) == ("", 0.0)
        # Once the grace has passed, a rotation with a grace is allowed again.
        later = NOW + 7200
        assert await store.rotate_apikey(
            "V10000001", apikey_enc="key-10", grace_until=later + 60, now=later
        )
        account = await store.get_account("V10000001")
        assert account is not None
        assert account.old_apikey_enc == "key-9"
    finally:
        await store.close()
