"""The fraud guard: pumping one prefix (many Verify, none checked) gets that prefix
throttled for Verify and Submit, while converting traffic elsewhere is untouched."""

from __future__ import annotations

import dataclasses
import random

from tests.gateway.harness import FIXTURE, Harness, running
from tests.gateway.verifykit import check, spoken, verify
from voiceotp.gateway.settings import NumberCaps, Settings
from voiceotp.gateway.submit.verifyconf import VerifySettings
from voiceotp.protocol import Code, Method, parse_result
from voiceotp.store import Store
from voiceotp.store.keys import KeyBox

NOW = float(FIXTURE["now"])
APIKEY = "cd" * 16
APP = {"account": "V40000001", "password": APIKEY}  # uses Check
SILENT = {"account": "V40000002", "password": APIKEY}  # Verify, never Check
PUMPED = "1710000"
NORMAL = ("1350000", "1360000", "1870000")
GUARD = VerifySettings(windows_s=(3600.0,), min_codes=30, min_conversion=0.2, refresh_s=0.0)


def guarded(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        caps=NumberCaps(0, 0, 0),
        abuse_prefix_burst=0,
        abuse_distinct_numbers=0,
        verify=GUARD,
    )


async def accounts(harness: Harness) -> list[int]:
    sealed = KeyBox(harness.gateway.settings.secret_key).seal(APIKEY)
    ids = []
    for auth in (APP, SILENT):
        account = await harness.store.create_account(
            name=auth["account"], apikey_enc=sealed, now=NOW, balance=10_000
        )
        ids.append(account.id)
    return ids


async def submit(harness: Harness, mobile: str) -> int:
    response = await harness.submit(**APP, mobile=mobile, content="1125")
    return parse_result(response.content, Method.SUBMIT).code


async def test_pumped_prefix_is_throttled_normal_traffic_is_not(
    store: Store, settings: Settings
) -> None:
    rng = random.Random(7)
    async with running(store, guarded(settings), now=NOW) as harness:
        app_id, _ = await accounts(harness)
        for i in range(60):  # the pump: codes to one range that nobody types in
            assert (await verify(harness, f"{PUMPED}{i:04d}", auth=APP)).code == Code.OK
            assert (await verify(harness, f"{PUMPED}{i:04d}", auth=SILENT)).code == Code.OK
        for prefix in NORMAL:  # users: ~70 % type their code in
            for i in range(40):
                mobile = f"{prefix}{i:04d}"
                sent = await verify(harness, mobile, auth=APP)
                assert sent.code == Code.OK
                if rng.random() < 0.7:
                    code = await spoken(harness, sent.voiceid)
                    assert (await check(harness, code, mobile, auth=APP)).code == Code.OK
        harness.clock_value[0] += GUARD.grace_s + 1  # the pumped codes are now judged
        await harness.gateway.fraud.refresh(harness.clock_value[0])  # as the next one would

        assert (await verify(harness, f"{PUMPED}9999", auth=APP)).code == Code.PREFIX_THROTTLED
        assert await submit(harness, f"{PUMPED}9998") == Code.PREFIX_THROTTLED
        for prefix in NORMAL:
            assert (await verify(harness, f"{prefix}9999", auth=APP)).code == Code.OK
            assert await submit(harness, f"{prefix}9998") == Code.OK
        # An account that never uses Check is not judged by conversion.
        assert (await verify(harness, f"{PUMPED}9997", auth=SILENT)).code == Code.OK

        events = await store.audit_events(app_id)
        throttles = [e for e in events if e.kind == "fraud_throttle"]
        assert len(throttles) == 1
        assert f"prefix {PUMPED}: 0/60 codes verified" in throttles[0].detail
        metrics = harness.gateway.observer.render().decode()
        assert "voiceotp_fraud_throttled_prefixes 1.0" in metrics
        assert "voiceotp_fraud_refusals_total 2.0" in metrics

        admin = {"authorization": "Bearer dev-admin-token"}
        listed = await harness.client().get("/admin/api/fraud", headers=admin)
        assert [(t["account"], t["prefix"]) for t in listed.json()] == [("V40000001", PUMPED)]
        bad = {"min_conversion": 2}
        path = "/admin/api/accounts/V40000001/fraud"
        assert (await harness.client().put(path, json=bad, headers=admin)).status_code == 400
        allow = {"allow_prefixes": [PUMPED]}  # an operator vouches for the range
        assert (await harness.client().put(path, json=allow, headers=admin)).status_code == 200
        assert (await verify(harness, f"{PUMPED}9996", auth=APP)).code == Code.OK
