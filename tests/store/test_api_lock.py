"""The API process lock of both stores: exclusive without Redis, shared with it."""

from __future__ import annotations

import pytest

from voiceotp.store import Store


@pytest.mark.parametrize(
    ("first", "second", "both"),
    [(False, False, False), (False, True, False), (True, False, False), (True, True, True)],
)
async def test_who_may_run_beside_whom(store: Store, first: bool, second: bool, both: bool) -> None:
    await store.open()
    try:
        one = await store.api_process_lock(shared=first)
        two = await store.api_process_lock(shared=second)
        assert one.held
        assert two.held is both
        await two.release()
        await one.release()
        again = await store.api_process_lock(shared=False)  # released: free again
        assert again.held
        await again.release()
    finally:
        await store.close()
