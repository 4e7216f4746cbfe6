"""Replays across API processes (issue 16, item 2): the same signed Submit sent to two
gateways at once is one call, and both answer code 2 with its voiceid; before, the second
process found nothing committed yet, ran into the cap slot the first had reserved, and
answered 4081 for a call that was placed."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.gateway.harness import FIXTURE, Harness, fixture_settings, running
from tests.gateway.test_redis_caps import prefix
from tests.stores import reset_postgres
from voiceotp.gateway.settings import Settings
from voiceotp.protocol import Code, Method, SubmitResult, dynamic_password, parse_result
from voiceotp.store import Acceptance, AcceptOutcome, Store, make_store

__all__ = ["prefix"]
pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]
NOW = float(FIXTURE["now"])
ACCOUNT, APIKEY = "V10000001", "0123456789abcdef0123456789abcdef"
MOBILE, CONTENT = "13800138000", "1125"
Accept = Callable[[Acceptance], Awaitable[AcceptOutcome]]


@dataclasses.dataclass
class Held:
    """A store whose accepts wait for ``go`` (the first process, mid-Submit)."""

    entered: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    go: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    fail: bool = False

    def hold(self, store: Store) -> None:
        accept: Accept = store.accept

        async def held(item: Acceptance) -> AcceptOutcome:
            self.entered.set()
            await self.go.wait()
            if self.fail:
                raise ConnectionError("the store went away")
            return await accept(item)

        store.accept = held  # type: ignore[method-assign]


@pytest.fixture
async def two(
    pg_url: str, tmp_path: Path, prefix: str
) -> AsyncIterator[tuple[Harness, Harness, Held]]:
    """Two gateways (own stores: pools, writers, replay guards) on one PostgreSQL and Redis."""
    await reset_postgres(pg_url)
    settings: Settings = fixture_settings(
        tmp_path, database_url=pg_url, redis_url="redis://127.0.0.1:6379/0", redis_prefix=prefix
    )
    first, second = make_store(settings), make_store(settings)
    held = Held()
    held.hold(first)
    async with (
        running(first, settings, now=NOW) as one,
        running(second, settings, now=NOW, seed=False) as other,
    ):
        yield one, other, held


def signed(how: str) -> tuple[dict[str, str], dict[str, str]]:
    """The form and headers of a Submit that can be replayed: dynamic password or key."""
    form = {"account": ACCOUNT, "mobile": MOBILE, "content": CONTENT}
    if how == "dynamic":
        time = str(int(NOW))
        password = dynamic_password(ACCOUNT, APIKEY, time, mobile=MOBILE, content=CONTENT)
        return {**form, "password": password, "time": time}, {}
    return {**form, "password": APIKEY}, {"Idempotency-Key": "order-7"}


async def submit(harness: Harness, form: dict[str, str], headers: dict[str, str]) -> SubmitResult:
    response = await harness.client().post(
        "/webservice/voice.php", params={"method": "Submit"}, data=form, headers=headers
    )
    result = parse_result(response.content, Method.SUBMIT)
    assert isinstance(result, SubmitResult)
    return result


async def until_waiting(harness: Harness, task: asyncio.Task[SubmitResult]) -> None:
    """Until ``task`` waits for the other process's claim, or has answered."""
    while not task.done() and harness.gateway.replays.waiting == 0:
        await asyncio.sleep(0.001)


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["dynamic", "idempotency-key"])
async def test_a_replay_sent_to_two_processes_at_once_answers_2_on_both(
    two: tuple[Harness, Harness, Held], how: str
) -> None:
    one, other, held = two
    form, headers = signed(how)
    first = asyncio.create_task(submit(one, form, headers))
    await held.entered.wait()  # the first process holds its cap slot, not yet committed
    second = asyncio.create_task(submit(other, form, headers))
    await until_waiting(other, second)
    assert not second.done(), f"answered {second.result().code} while the first was accepting"
    held.go.set()
    answers = await asyncio.gather(first, second)
    assert [a.code for a in answers] == [Code.OK, Code.OK]
    assert answers[0].voiceid == answers[1].voiceid != "0"
    assert await other.store.count_calls() == 1
    assert await other.store.get_balance(1) == 99


@pytest.mark.postgres
async def test_when_the_first_process_fails_the_waiting_one_places_the_call(
    two: tuple[Harness, Harness, Held],
) -> None:
    one, other, held = two
    held.fail = True
    form, headers = signed("dynamic")
    first = asyncio.create_task(submit(one, form, headers))
    await held.entered.wait()
    second = asyncio.create_task(submit(other, form, headers))
    await until_waiting(other, second)
    held.go.set()
    refused, accepted = await asyncio.gather(first, second)
    # The first gave back its cap slot before its claim, so the second is not refused 4081.
    assert (refused.code, accepted.code) == (Code.FAILED, Code.OK)
    assert await other.store.count_calls() == 1


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_a_stored_replay_answers_2_while_redis_is_unreachable(
    store: Store, settings: Settings
) -> None:
    """The fault suite's finding: with Redis down, a replay of a call stored before was
    answered code 0 ("nothing accepted"); the store alone says it is a replay."""
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    cut_off = dataclasses.replace(settings, redis_url=dead, redis_prefix="unreachable:")
    form, headers = signed("idempotency-key")
    async with running(store, cut_off, now=NOW) as harness:
        stored = await store.accept(
            Acceptance(1, MOBILE, CONTENT, NOW, NOW + 300, idem_key="h:order-7")
        )
        replay = await submit(harness, form, headers)
        fresh = await submit(harness, {**form, "mobile": "13800138001"}, {"Idempotency-Key": "new"})
    assert (replay.code, replay.voiceid) == (Code.OK, stored.voiceid)
    assert fresh.code == Code.FAILED  # nothing new is accepted without Redis's caps
