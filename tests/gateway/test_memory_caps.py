"""MemoryNumberCaps: windows, release, and forgetting numbers a day after their last use."""

from __future__ import annotations

from voiceotp.gateway.settings import NumberCaps
from voiceotp.gateway.submit.limits import DAY_S, CapRefusal, MemoryNumberCaps, Reservation
from voiceotp.protocol import Code

CAPS = NumberCaps(per_minute=1, per_hour=2, per_24h=3)
NOW = 1_700_000_000.0


async def test_windows_refuse_in_order_and_release_gives_back() -> None:
    caps = MemoryNumberCaps()
    first = await caps.reserve(1, "13800138000", NOW, CAPS)
    assert isinstance(first, Reservation)
    assert await caps.reserve(1, "13800138000", NOW + 1, CAPS) == CapRefusal(
        Code.NUMBER_MINUTE_CAP, 1
    )
    await caps.release(first)
    assert isinstance(await caps.reserve(1, "13800138000", NOW + 2, CAPS), Reservation)
    assert isinstance(await caps.reserve(1, "13800138000", NOW + 100, CAPS), Reservation)
    refusal = await caps.reserve(1, "13800138000", NOW + 200, CAPS)
    assert refusal == CapRefusal(Code.NUMBER_HOUR_CAP, 2)


async def test_numbers_are_forgotten_a_day_after_their_last_use() -> None:
    caps = MemoryNumberCaps()
    caps.warm([(1, "13800000001", NOW - 10)])
    for i in range(100):
        await caps.reserve(1, f"139{i:08d}", NOW + i, CAPS)
    await caps.reserve(1, "13800000002", NOW + DAY_S + 50, CAPS)  # numbers 0..50 are stale
    remembered = {mobile for _, mobile in caps._times}
    assert "13800000001" not in remembered
    assert "13900000000" not in remembered
    assert "13900000050" not in remembered
    assert {"13900000051", "13900000099", "13800000002"} <= remembered
    # A number used again within the day is kept although its first use is old.
    again = MemoryNumberCaps()
    await again.reserve(1, "13800000003", NOW, CAPS)
    await again.reserve(1, "13800000003", NOW + DAY_S - 1, CAPS)
    await again.reserve(1, "13800000004", NOW + DAY_S + 1, CAPS)
    assert (1, "13800000003") in again._times
