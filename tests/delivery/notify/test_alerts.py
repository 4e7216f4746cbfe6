"""The low-balance alert runs in the delivery sweep: one signed push per fall below the
threshold, through the push guard."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from tests.gateway.harness import fixture_settings
from tests.integration.helpers import Receiver, new_account, run_receiver
from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.runtime import DeliveryRuntime
from voiceotp.store import make_store

KEY = Fernet.generate_key().decode()  # outside development mode a real key is required


async def test_the_sweep_pushes_one_alert_per_fall(tmp_path: Path) -> None:
    delivery = DeliverySettings(push_allow_networks=("127.0.0.1/32",))
    settings = fixture_settings(tmp_path, delivery=delivery, dev_mode=False, secret_key=KEY)
    async with run_receiver(Receiver("", failures=0)) as hook:
        new = await new_account(settings, balance=3, callback=hook.url)
        hook.apikey = new.apikey
        store = make_store(settings)
        await store.open()
        try:
            runtime = DeliveryRuntime(settings, store, run_dialer=False, run_notifier=False)
            await runtime.sweep_once()  # no threshold: nothing
            await store.update_account(new.account, low_balance_alert=5)
            await runtime.sweep_once()
            await runtime.sweep_once()  # the same fall
        finally:
            await store.close()
    ((status, valid, body),) = hook.pushes
    assert (status, valid) == (204, True)
    assert body["type"] == "low_balance"  # type: ignore[call-overload]
    assert (body["account"], body["balance"], body["threshold"]) == (new.account, 3, 5)  # type: ignore[call-overload]


async def test_the_guard_of_the_alert_refuses_what_it_is_not_allowed(tmp_path: Path) -> None:
    settings = fixture_settings(tmp_path, dev_mode=False, secret_key=KEY)  # no 127.0.0.1
    async with run_receiver(Receiver("", failures=0)) as hook:
        new = await new_account(settings, balance=3, callback=hook.url)
        store = make_store(settings)
        await store.open()
        try:
            runtime = DeliveryRuntime(settings, store, run_dialer=False, run_notifier=False)
            await store.update_account(new.account, low_balance_alert=5)
            (result,) = (await runtime.alerts.check()).values()
        finally:
            await store.close()
    assert hook.pushes == []
    assert "is not allowed" in result.error
