"""``serve``'s check, before it starts serving: may this process be an API process on
the store? (gateway/processes.py; the app takes the lock for real in its lifespan.)"""

from __future__ import annotations

from typing import Any

import click


async def check_api_slot(settings: Any) -> None:
    """A one-line error instead of a failed start-up with a traceback."""
    from voiceotp.errors import SettingsError
    from voiceotp.gateway.processes import claim_api_slot
    from voiceotp.store import make_store

    store = make_store(settings)
    await store.open()
    try:
        lock = await claim_api_slot(store, settings)
        await lock.release()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        await store.close()
