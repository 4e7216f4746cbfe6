"""The fault suite (issue 16): HAProxy (deploy/haproxy/haproxy.cfg) in front of 2 API
processes, 2 dialers, a Redis and a PostgreSQL instance of the suite's own, under a steady
mixed load (static-key clients with an Idempotency-Key, dynamic-password clients; both
replay after code 0 or no answer). Faults in turn: kill -9 an API process, kill -9 a
dialer mid-call, restart Redis, black-hole Redis (SIGSTOP), cut PostgreSQL's connections,
crash and restart PostgreSQL. Then, over everything:

- every code 2 names a stored call, for the number it was asked for (no lost accept);
- no code 0 for a call that was already stored when the answer went out;
- one call per idempotency key; no voiceid dialed twice: sipp, the trunk, received at most
  one INVITE (one Call-ID) per number, only for stored calls, one for every ANSWERED call;
- the dialer killed mid-call held an answered call at sipp when it died (the suite waits
  for one), and each such call ended CANCELED, never dialed again;
- every stored call reaches a final state; balances equal their ledgers, none below 0;
- every final call's status push is delivered (the receiver refuses the first two), each
  call's reports with one id and a valid signature.

The dialers call a real sipp (tests/delivery/dialer/scenarios/trunk.xml: rings 100 ms,
answers, holds the call until our BYE). The table (fault -> requests, accepted, code 0, no
answer, invariants a request of that phase broke) is printed (pytest -s); see
docs/deploy.md "Fault suite":

    .venv/bin/python -m pytest -q -s tests/integration/test_faults.py -p no:cacheprovider
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import shutil
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.delivery.dialer.sipp import Sipp, require_sipp
from tests.gateway.harness import fixture_settings
from tests.integration.faultcheck import Attempt, broken, report, trunk_report
from tests.integration.faultkit import (
    PG_BIN,
    Fleet,
    Postgres,
    Redis,
    free_port,
    voiceotp_env,
)
from tests.integration.helpers import NewKey, Receiver, new_account, run_receiver, tone_clips
from tests.integration.sipptrace import TraceReader, ended, held, invites

pytestmark = [pytest.mark.slow, pytest.mark.sipp, pytest.mark.timeout(600)]
PHASE_S = 2.0  # load before and after each fault
CLIENTS = 6


@dataclass
class World:
    pg: Postgres
    redis: Redis
    fleet: Fleet
    database: str
    key: NewKey
    receiver: Receiver
    trace: TraceReader  # what the trunk (sipp) received and sent
    killed_mid_call: set[str]  # Call-IDs sipp held for the dialer when it was killed

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.fleet.front}/webservice/voice.php"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    for tool in ("haproxy", "redis-server", str(PG_BIN / "initdb")):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            if os.environ.get("CI") == "true":
                pytest.fail(f"{tool} is required under CI=true (scripts/setup dev)")
            pytest.skip(f"{tool} is not installed")
    require_sipp()
    pg, redis = Postgres(), Redis()
    fleet: Fleet | None = None
    pushes = contextlib.AsyncExitStack()
    rtp_sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # our RTP goes here, unread
    rtp_sink.bind(("127.0.0.1", 0))
    trunk: Sipp | None = None
    try:
        receiver = await pushes.enter_async_context(run_receiver(Receiver("", failures=2)))
        rtp = str(rtp_sink.getsockname()[1])
        extra = ["-timeout", "0"]  # none: it serves calls until stopped
        trunk = Sipp("trunk", tmp_path, calls=10**6, variables={"rtp_port": rtp}, extra=extra)
        pg.init()
        pg.start()
        redis.start()
        conn = await asyncpg.connect(pg.admin_url)
        await conn.execute("CREATE DATABASE voiceotp")
        await conn.close()
        database_url = pg.url("voiceotp")
        tone_clips(tmp_path / "clips")
        key = await new_account(
            fixture_settings(tmp_path, database_url=database_url),
            balance=1_000_000,
            callback=receiver.url,
        )
        receiver.apikey = key.apikey
        env = voiceotp_env(tmp_path, database_url, redis.url, trunk.port)
        sip_ports = [free_port(socket.SOCK_DGRAM) for _ in range(2)]
        fleet = Fleet(tmp_path, env, [free_port(), free_port()], sip_ports)
        for index in (0, 1):
            fleet.start_api(index)
            fleet.start_dialer(index)
        fleet.start_haproxy()
        trace = TraceReader(tmp_path / "sipp-trunk-messages.log")
        yield World(pg, redis, fleet, database_url, key, receiver, trace, set())
    finally:
        if fleet is not None:
            fleet.stop_all()
        if trunk is not None:
            trunk.stop()
        rtp_sink.close()
        redis.destroy()
        pg.destroy()
        await pushes.aclose()


class Load:
    """CLIENTS clients sending Submits through HAProxy until stopped; each request is
    replayed (same key) after code 0 or no answer, as a careful client does."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.phase = "steady"
        self.attempts: list[Attempt] = []
        self._numbers = itertools.count(10_000_000)
        self._stop = asyncio.Event()

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await asyncio.gather(*(self._client(session, i) for i in range(CLIENTS)))

    def stop(self) -> None:
        self._stop.set()

    async def _client(self, session: aiohttp.ClientSession, index: int) -> None:
        while not self._stop.is_set():
            mobile = f"139{next(self._numbers):08d}"
            form, headers, key = self._request(mobile, dynamic=index % 2 == 1)
            for _ in range(40):  # bounded: gives up after ~40 tries
                code = await self._send(session, form, headers, key, mobile)
                if code is not None and code != 0:
                    break
                await asyncio.sleep(0.1)

    def _request(self, mobile: str, *, dynamic: bool) -> tuple[dict[str, str], dict[str, str], str]:
        account, apikey = self.world.key.account, self.world.key.apikey
        form = {"account": account, "mobile": mobile, "content": "1125"}
        if dynamic:
            at = str(int(time.time()))
            signed = hashlib.md5(f"{account}{apikey}{mobile}1125{at}".encode()).hexdigest()
            # The gateway's key for a dynamic password (rules.Ctx.idem_key): no code in it.
            return {**form, "password": signed, "time": at}, {}, f"d:{mobile}:{at}:{signed}"
        key = uuid.uuid4().hex
        return {**form, "password": apikey}, {"Idempotency-Key": key}, f"h:{key}"

    async def _send(
        self,
        session: aiohttp.ClientSession,
        form: dict[str, str],
        headers: dict[str, str],
        key: str,
        mobile: str,
    ) -> int | None:
        sent = time.time()
        code: int | None = None
        voiceid = ""
        try:
            params = {"method": "Submit", "format": "json"}
            async with session.post(self.world.url, params=params, data=form, headers=headers) as r:
                if r.status == 200:
                    body = await r.json(content_type=None)
                    code, voiceid = int(body["code"]), str(body.get("voiceid") or "")
        except (TimeoutError, aiohttp.ClientError, ValueError):
            code = None
        self.attempts.append(Attempt(self.phase, key, mobile, sent, time.time(), code, voiceid))
        return code


async def terminate_backends(world: World) -> None:
    conn = await asyncpg.connect(world.pg.admin_url)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = 'voiceotp' AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()


def faults(world: World) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
    fleet, loop = world.fleet, asyncio.get_running_loop()

    async def in_thread(work: Callable[[], None]) -> None:
        await loop.run_in_executor(None, work)

    async def kill_api() -> None:
        fleet.kill("api1")
        await asyncio.sleep(1.0)  # systemd's RestartSec
        await in_thread(lambda: fleet.start_api(0))

    async def kill_dialer() -> None:
        world.killed_mid_call = await answered_call_of(world, fleet.sip_ports[0])
        fleet.kill("dialer1")
        await asyncio.sleep(1.0)
        fleet.start_dialer(0)

    async def restart_redis() -> None:
        await in_thread(world.redis.restart)

    async def black_hole_redis() -> None:
        assert world.redis.process is not None
        world.redis.process.send_signal(signal.SIGSTOP)
        await asyncio.sleep(3.0)
        world.redis.process.send_signal(signal.SIGCONT)

    async def cut_pg() -> None:
        await terminate_backends(world)
        await asyncio.sleep(0.5)
        await terminate_backends(world)

    async def restart_pg() -> None:
        await in_thread(world.pg.crash)
        await asyncio.sleep(0.5)
        await in_thread(world.pg.start)

    return [
        ("kill -9 an API process", kill_api),
        ("kill -9 a dialer mid-call", kill_dialer),
        ("restart Redis", restart_redis),
        ("black-hole Redis 3 s", black_hole_redis),
        ("cut PostgreSQL connections", cut_pg),
        ("crash + restart PostgreSQL", restart_pg),
    ]


async def answered_call_of(world: World, via_port: int) -> set[str]:
    """Waits (bounded) until sipp holds an answered call of the dialer on ``via_port``."""
    for _ in range(500):
        world.trace.read()
        calls = held(world.trace.messages, via_port)
        if calls:
            return calls
        await asyncio.sleep(0.02)
    raise AssertionError("sipp never held an answered call of dialer1 to kill it during")


async def settle(world: World) -> list[asyncpg.Record]:
    """The calls once none is queued or dialing (bounded)."""
    conn = await asyncpg.connect(world.database)
    try:
        for _ in range(600):
            busy = await conn.fetchval(
                "SELECT count(*) FROM calls WHERE state IN ('queued', 'dialing')"
            )
            if busy == 0:
                break
            await asyncio.sleep(0.1)
        return list(
            await conn.fetch("SELECT voiceid, mobile, idem_key, state, created_at FROM calls")
        )
    finally:
        await conn.close()


async def test_faults_lose_no_accept_and_keep_balances_exact(world: World) -> None:
    load = Load(world)
    runner = asyncio.create_task(load.run())
    try:
        await asyncio.sleep(PHASE_S)
        for name, fault in faults(world):
            load.phase = name
            await fault()
            await asyncio.sleep(PHASE_S)
    finally:
        load.stop()
        await runner
    calls = await settle(world)
    world.trace.read(final=True)
    problems = broken(load.attempts, calls, world.trace.messages)
    summary = trunk_report(world.trace.messages, world.killed_mid_call)
    print("\n" + report(load.attempts, problems) + "\n" + summary)
    assert not any(problems.values()), problems
    check(load.attempts, calls, world)
    await pushed(world, calls)
    from voiceotp.store import make_store

    store = make_store(fixture_settings(world.fleet.root, database_url=world.database))
    await store.open()
    try:
        assert await store.consistency_problems() == []
    finally:
        await store.close()


async def pushed(world: World, calls: list[asyncpg.Record]) -> None:
    """Every call's final report reaches the receiver (bounded wait), one id per call."""
    wanted = {str(c["voiceid"]) for c in calls}
    for _ in range(600):
        if wanted <= {str(r["voiceid"]) for r in world.receiver.acknowledged}:
            break
        await asyncio.sleep(0.1)
    got = world.receiver.acknowledged
    missing = wanted - {str(r["voiceid"]) for r in got}
    assert not missing, f"{len(missing)} calls' reports never delivered"
    assert all(valid for _, valid, _ in world.receiver.pushes), "a push with a bad signature"
    ids: dict[str, set[str]] = {}
    for r in got:
        ids.setdefault(str(r["voiceid"]), set()).add(str(r["report_id"]))
    assert all(len(v) == 1 for v in ids.values()), "a call reported under two ids"


def check(attempts: list[Attempt], calls: list[asyncpg.Record], world: World) -> None:
    """The invariants over the whole run (what one request breaks: :func:`broken`)."""
    by_key = {c["idem_key"]: c for c in calls}
    assert len(by_key) == len(calls), "one call per idempotency key"
    assert any(a.code == 2 for a in attempts), "the load got nothing accepted"
    unfinished = [c["voiceid"] for c in calls if c["state"] in ("queued", "dialing")]
    assert unfinished == []
    at_trunk(calls, world)


def at_trunk(calls: list[asyncpg.Record], world: World) -> None:
    """What sipp received, beyond :func:`broken`: every ANSWERED call INVITEd; the calls
    the killed dialer held answered ended CANCELED."""
    dialed = invites(world.trace.messages)
    by_mobile = {str(c["mobile"]): c for c in calls}
    assert len(by_mobile) == len(calls), "the load asks one number once"
    answered = {m for m, c in by_mobile.items() if c["state"] == "ANSWERED"}
    assert answered, "no call was answered"
    assert answered <= set(dialed), "an ANSWERED call never reached the trunk"
    # Held when the trace was read just before the kill, and never hung up after it.
    killed = world.killed_mid_call - ended(world.trace.messages)
    assert killed, "the dialer was not killed mid-call (its held calls ended before)"
    mobiles = {m.call_id: m.user for m in world.trace.messages if m.method == "INVITE"}
    for call_id in killed:
        call = by_mobile[mobiles[call_id]]
        assert call["state"] == "CANCELED", f"{call['voiceid']} held at the kill: {call['state']}"
