"""Certification requests on both stores: one open request per account even when two
arrive at once, pending first in the operators' list, approval ends the trial once."""

from __future__ import annotations

import asyncio
from typing import Any

from voiceotp.store import Store
from voiceotp.store import usercenter as uc


async def _trial(store: Store, name: str, mobile: str) -> int:
    return await uc.open_trial_account(
        store, name=name, apikey_enc="k", mobile=mobile, free_calls=1, login=mobile,
        password_hash="h", now=1.0,
    )  # fmt: skip


def _request(account_id: int, ref: str, now: float = 2.0) -> dict[str, Any]:
    return {
        "account_id": account_id, "company": "示例", "uscc": "91440300708461136T",
        "contact_name": "张三", "contact_phone": "0755-1234567", "file_name": "a.png",
        "file_type": "image/png", "file_size": 3, "file_ref": ref, "submitted_by": "x",
        "now": now,
    }  # fmt: skip


async def test_one_open_request_per_account(store: Store) -> None:
    await store.open()
    try:
        one = await _trial(store, "V20000001", "13800138000")
        two = await _trial(store, "V20000002", "13800138001")
        ids = await asyncio.gather(
            *(uc.submit_certification(store, **_request(one, f"r{i}")) for i in range(4))
        )
        assert sorted(i is None for i in ids) == [False, True, True, True]
        first = next(i for i in ids if i is not None)
        assert await uc.submit_certification(store, **_request(two, "s")) is not None
        assert await uc.certification_states(store) == {one: "pending", two: "pending"}

        rejected = await uc.decide_certification(
            store, cert_id=first, approve=False, reason="blurred", by="alice", now=3.0
        )
        assert rejected is not None
        assert (rejected.state, rejected.reason, rejected.decided_by) == (
            "rejected", "blurred", "alice",
        )  # fmt: skip
        again = await uc.submit_certification(store, **_request(one, "t", now=4.0))
        assert again is not None
        # pending first, then newest first
        listed = [(c.account_id, c.state) for c in await uc.list_certifications(store)]
        assert listed == [(one, "pending"), (two, "pending"), (one, "rejected")]
        assert [c.id for c in await uc.list_certifications(store, state="rejected")] == [first]

        approved = await uc.decide_certification(
            store, cert_id=again, approve=True, reason="", by="alice", now=5.0
        )
        assert approved is not None
        assert approved.state == "approved"
        assert await uc.decide_certification(
            store, cert_id=again, approve=False, reason="late", by="sam", now=6.0
        ) is None  # fmt: skip
        account = await store.get_account("V20000001")
        assert account is not None
        assert account.trial is False
        assert await uc.submit_certification(store, **_request(one, "u")) is None  # certified
        assert await uc.certification_states(store) == {one: "approved", two: "pending"}
        assert await uc.account_names(store, ids={one, two, 999}) == {
            one: "V20000001", two: "V20000002",
        }  # fmt: skip
        assert await uc.account_names(store, ids=set()) == {}
    finally:
        await store.close()
