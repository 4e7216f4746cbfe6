"""Check's per-account guess limit (4505) holds for guesses sent at once: each Check
takes its slot before its code is compared. Before, every concurrent Check read the count
first (all below the limit), then compared its code, then counted it: a guesser with N
Checks in flight got N guesses past the limit, on one process as across two."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.gateway.test_abuse import NOW, wrong_codes
from tests.gateway.test_redis_shared_limits import make_pair, prefix
from tests.gateway.verifykit import check, spoken, verify, wrong
from voiceotp.gateway.submit.verify import WrongCodes
from voiceotp.gateway.submit.verifyconf import VerifySettings
from voiceotp.protocol import Code

__all__ = ["make_pair", "prefix", "wrong_codes"]
pytestmark = pytest.mark.timeout(60)


async def test_take_counts_up_to_the_limit_and_give_back_uncounts(
    wrong_codes: WrongCodes,
) -> None:
    taken = [await wrong_codes.take(1, NOW, 60, 3) for _ in range(4)]
    assert [t is not None for t in taken] == [True, True, True, False]
    assert await wrong_codes.take(2, NOW, 60, 3) is not None  # another account
    first = taken[0]
    assert first is not None
    await wrong_codes.give_back(1, first)
    assert await wrong_codes.count(1, NOW, 60) == 2
    assert await wrong_codes.take(1, NOW + 1, 60, 3) is not None
    assert await wrong_codes.take(1, NOW + 61, 60, 3) is not None  # the window moved on


@pytest.mark.redis
@pytest.mark.postgres
async def test_concurrent_wrong_guesses_stop_at_the_account_limit(make_pair: Any) -> None:
    async with make_pair(verify=VerifySettings(wrong_per_account=3)) as (one, other):
        mobiles = [f"138000000{i:02d}" for i in range(12)]
        codes = {}
        for mobile in mobiles:
            codes[mobile] = await spoken(one, (await verify(one, mobile)).voiceid)
        guesses = [
            check(one if i % 2 else other, wrong(codes[m]), m) for i, m in enumerate(mobiles)
        ]
        answers = [a.code for a in await asyncio.gather(*guesses)]
        assert answers.count(Code.CODE_WRONG) == 3, answers
        assert answers.count(Code.CHECK_THROTTLED) == 9, answers
