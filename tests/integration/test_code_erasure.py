"""A call's code (and a notice's text) leaves the store when the call ends: placed through
the real gateway and the simulated carrier, then looked for in the SQLite file, its WAL and
free pages, and in every PostgreSQL row (docs/privacy.md)."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.harness import VOICE, fixture_settings, serving
from tests.gateway.test_verify_secrecy import stored_text
from tests.integration.helpers import new_account, tone_clips
from tests.stores import postgres_database
from voiceotp.client import AsyncClient
from voiceotp.delivery.config import DeliverySettings, SimulationSettings
from voiceotp.delivery.retention import RetentionSettings
from voiceotp.delivery.runtime import DeliveryRuntime
from voiceotp.gateway import create_app
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.submit.notifyconf import NotifySettings
from voiceotp.gateway.templates import Templates
from voiceotp.store import make_store

pytestmark = pytest.mark.timeout(60)
MOBILE = "13800138000"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'voiceotp.db'}"
        return
    with postgres_database("voiceotp_erase") as url:
        yield url


def settings_for(tmp_path: Path, database_url: str) -> Settings:
    delivery = DeliverySettings(
        prompt_dir=tone_clips(tmp_path / "clips"),
        prompt_cache_dir=tmp_path / "cache",
        prompt_repeat=1,
        poll_s=0.05,
        sweep_every_s=0.05,
        simulation=SimulationSettings(ring_after_s=0.01, answer_after_s=0.01),
    )
    retention = RetentionSettings(scrub_every_s=0.0)
    return fixture_settings(
        tmp_path, database_url=database_url, delivery=delivery, retention=retention
    )


def distinctive_code(stored: bytes) -> str:
    """Six digits that are nowhere in the database yet (else finding them says nothing)."""
    while (code := f"{secrets.randbelow(900_000) + 100_000}").encode() in stored:
        pass
    return code


async def ended(client: AsyncClient, voiceid: str) -> str:
    """The call's final status (Query until it is no longer queued or dialing)."""
    for _ in range(400):
        status = (await client.query(voiceid)).status
        if status not in ("QUEUED", "DIALING"):
            break
        await asyncio.sleep(0.05)
    return status


async def stored_once_gone(settings: Settings, secret: bytes) -> bytes:
    """What the store holds once ``secret`` left it (the fence erased it at the call's
    end; the sweep then truncates the WAL), or after waiting long enough."""
    for _ in range(400):
        stored = await stored_text(settings)
        if secret not in stored:
            break
        await asyncio.sleep(0.05)
    return stored


async def test_the_code_is_nowhere_in_the_store_once_its_call_ended(
    tmp_path: Path, database_url: str
) -> None:
    settings = settings_for(tmp_path, database_url)
    key = await new_account(settings)
    code = distinctive_code(await stored_text(settings))
    with serving(create_app(settings, migrate=False, delivery=DeliveryRuntime)) as base:
        async with AsyncClient(key.account, key.apikey, base_url=base + VOICE) as client:
            voiceid = (await client.send(MOBILE, code)).voiceid  # a dynamic password
            assert voiceid is not None
            assert await ended(client, voiceid) == "ANSWERED"
            stored = await stored_once_gone(settings, code.encode())
    # The whole SQLite file (free pages included: secure_delete zeroes them) and its WAL,
    # or every PostgreSQL row.
    assert code.encode() not in stored
    assert MOBILE.encode() in stored  # the search does see what is stored in clear


PARCEL = "您的快递{no:12}已到达人民路站,请取件。"


async def approve_template(settings: Settings, account: str) -> None:
    store = make_store(settings)
    await store.open()
    try:
        found = await store.get_account(account)
        assert found is not None
        templates = Templates(store, time.time)
        filed = await templates.file(found.id, PARCEL, by="test")
        await templates.decide(filed.id, approve=True, by="test")
    finally:
        await store.close()


async def test_a_notice_text_is_nowhere_in_the_store_once_its_call_ended(
    tmp_path: Path, database_url: str
) -> None:
    settings = settings_for(tmp_path, database_url)
    settings = dataclasses.replace(settings, notify=NotifySettings(quiet_hours=""))
    key = await new_account(settings)
    await approve_template(settings, key.account)
    parcel = "SF" + distinctive_code(await stored_text(settings)) + "77"
    text = PARCEL.replace("{no:12}", parcel)
    sent_at = int(time.time())
    with serving(create_app(settings, migrate=False, delivery=DeliveryRuntime)) as base:
        async with AsyncClient(key.account, key.apikey, base_url=base + VOICE) as client:
            voiceid = (await client.notify(MOBILE, text, time=sent_at)).voiceid
            assert voiceid is not None
            assert await ended(client, voiceid) == "ANSWERED"
            stored = await stored_once_gone(settings, parcel.encode())
            # The same request again (same dynamic password: the same idempotency key)
            # is still recognised as a replay, by the text's fingerprint.
            again = await client.notify(MOBILE, text, time=sent_at)
            assert again.voiceid == voiceid
    assert parcel.encode() not in stored
    assert text.encode() not in stored
    assert PARCEL.encode() in stored  # the template itself is kept (the customer's)
    assert MOBILE.encode() in stored
