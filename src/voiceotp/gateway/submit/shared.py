"""What every API process of a deployment must count together, and where: in Redis when
``redis_url`` is set, else in the process (then a second API process on the store is
refused, see ``gateway/processes.py``)."""

from __future__ import annotations

from typing import Any, NamedTuple

from voiceotp.gateway.settings import Settings
from voiceotp.gateway.submit.abuse import AbuseCounts
from voiceotp.gateway.submit.abuseredis import RedisAbuseCounts, RedisWrongCodes
from voiceotp.gateway.submit.limits import NumberCapCounter, RateCap, RedisNumberCaps, RedisRateCap
from voiceotp.gateway.submit.replay import KeyClaims, RedisKeyClaims
from voiceotp.gateway.submit.verify import WrongCodes


class SharedLimits(NamedTuple):
    """What every API process of a deployment must count together (None: this process
    counts alone), and the Redis client to close."""

    caps: NumberCapCounter | None = None
    claims: KeyClaims | None = None
    rate_cap: RateCap | None = None
    abuse_counts: AbuseCounts | None = None
    wrong_codes: WrongCodes | None = None
    client: Any = None


def make_shared_limits(settings: Settings) -> SharedLimits:
    """Per-number caps, idempotency-key claims, the account rate cap, the abuse
    detectors' counts and Check's wrong codes per account in Redis when ``redis_url`` is
    set (shared by every API process), else in-process."""
    if not settings.redis_url:
        return SharedLimits()
    from voiceotp.delivery.queue.redis import connect  # a pool that waits when all are busy

    client = connect(settings.redis_url)
    prefix = settings.redis_prefix
    return SharedLimits(
        RedisNumberCaps(client, prefix),
        RedisKeyClaims(client, prefix),
        RedisRateCap(client, prefix),
        RedisAbuseCounts(client, prefix),
        RedisWrongCodes(client, prefix),
        client,
    )
