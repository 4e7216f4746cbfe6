"""A call's code leaves the store when the call ends: placed through the real gateway and
the simulated carrier, then looked for in the SQLite file, its WAL and free pages, and in
every PostgreSQL row (docs/privacy.md)."""

from __future__ import annotations

import asyncio
import secrets
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
            for _ in range(400):
                status = (await client.query(voiceid)).status
                if status not in ("QUEUED", "DIALING"):
                    break
                await asyncio.sleep(0.05)
            assert status == "ANSWERED"
            # The fence erased the code at the end; the sweep then truncates the WAL.
            for _ in range(400):
                stored = await stored_text(settings)
                if code.encode() not in stored:
                    break
                await asyncio.sleep(0.05)
    # The whole SQLite file (free pages included: secure_delete zeroes them) and its WAL,
    # or every PostgreSQL row.
    assert code.encode() not in stored
    assert MOBILE.encode() in stored  # the search does see what is stored in clear
