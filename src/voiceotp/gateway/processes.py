"""One API process per store unless Redis shares its state (store/apilock.py)."""

from __future__ import annotations

import logging

from voiceotp.errors import SettingsError
from voiceotp.gateway.settings import Settings
from voiceotp.store import Store
from voiceotp.store.apilock import ProcessLock

__all__ = ["claim_api_slot"]

log = logging.getLogger(__name__)


async def claim_api_slot(store: Store, settings: Settings) -> ProcessLock:
    """This process's API lock; raises :class:`SettingsError` when another API process on
    the store keeps caps that this one would not see (or would keep its own)."""
    lock = await store.api_process_lock(shared=bool(settings.redis_url))
    if lock.held:
        return lock
    why = (
        "another API process without Redis is running on this store"
        if settings.redis_url
        else "another API process is running on this store"
    )
    message = (
        f"{why}: per-number caps, the rate cap and the abuse detectors would be counted "
        "per process (a number could be called twice a minute). Give every API process the "
        "same redis_url (VOICEOTP_REDIS_URL), or stop the other one."
    )
    if not settings.allow_unshared_caps:
        raise SettingsError(message + " (allow_unshared_caps=true overrides this)")
    log.warning("%s allow_unshared_caps is set: going on with caps per process", message)
    return lock
