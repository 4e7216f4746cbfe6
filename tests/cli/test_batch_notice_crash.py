"""A 10,000-row notice batch through the real gateway survives ``kill -9`` and resumes
with nothing sent twice.

``voiceotp serve`` runs as a subprocess on SQLite (dev mode, API only: ``--no-delivery``,
so the check is what the gateway *accepted* — the dialing of accepted calls is the
delivery tests' — and 10,000 notices are not rendered by espeak-ng on a shared CI
machine). ``voiceotp batch --template-id`` runs as another subprocess and is killed with
SIGKILL twice, once a share of the rows reached the gateway (read from the gateway's
own store). After each kill, the journal is checked against the store:

- a ``pending`` row has no call in the store;
- a ``sent`` row has exactly one call, with the journal's voiceid;
- a ``sending`` row (in flight at the kill) or ``unknown`` one (in flight at an earlier
  kill) has at most one;
- at most ``CONCURRENCY`` rows are ``sending``.

A final ``--resume --replay-unknown --dedupe`` sends the rest (the in-flight rows as exact
replays, which the gateway answers with the original voiceid). Then every row is ``sent``
and the store holds exactly one notice per number, with that row's text, the voiceid
the journal holds, and no other call.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.test_serve_delivery import free_port, wait_listening
from tests.gateway.harness import fixture_settings
from voiceotp.gateway.admin import Admin
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.templates import Templates
from voiceotp.store import make_store
from voiceotp.store.keys import KeyBox
from voiceotp.store.migrate import upgrade_async

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
SRC = Path(__file__).resolve().parents[2] / "src"
ROWS = 10_000
CONCURRENCY = 16
TEMPLATE = "您的快递【变量】已到达{station:8},请凭取件码{code:6}取件。"
STATIONS = ("人民路站", "东站", "西湖驿站", "大学城")


def mobile(i: int) -> str:
    return f"1{3 + i % 7}{i:09d}"  # 10,000 numbers over several ranges


def values(i: int) -> tuple[str, str, str]:
    return f"SF{i:06d}", STATIONS[i % len(STATIONS)], f"{(i * 7919) % 1_000_000:06d}"


def text(i: int) -> str:
    number, station, code = values(i)
    return f"您的快递{number}已到达{station},请凭取件码{code}取件。"


@dataclass(frozen=True)
class Gateway:
    url: str
    account: str
    apikey: str
    template_id: int
    database: Path


async def prepare(settings: Settings) -> tuple[str, str, int]:
    """An account that may send a big batch (its abuse allowance off), and an approved
    template; (account, apikey, template id)."""
    await upgrade_async(settings.effective_database_url)
    store = make_store(settings)
    await store.open()
    try:
        admin = Admin(store, KeyBox(settings.secret_key), time.time)
        key = await admin.create_account(balance=ROWS * 2)
        await admin.configure(key.account, abuse_distinct_numbers=0, abuse_prefix_burst=0)
        account = await store.get_account(key.account)
        assert account is not None
        templates = Templates(store, time.time)
        filed = await templates.file(account.id, TEMPLATE, by="test")
        await templates.decide(filed.id, approve=True, by="test")
        return key.account, key.apikey, filed.id
    finally:
        await store.close()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    settings = fixture_settings(tmp_path)
    account, apikey, template_id = asyncio.run(prepare(settings))
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "VOICEOTP_DEV_MODE": "1",
        "VOICEOTP_DATA_DIR": str(tmp_path),
    }
    port = free_port()
    args = ["serve", "--port", str(port), "--no-access-log", "--no-delivery", "--no-console"]
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "voiceotp", *args], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        asyncio.run(wait_listening(port, server))
        database = Path(settings.effective_database_url.removeprefix("sqlite:///"))
        url = f"http://127.0.0.1:{port}/webservice/voice.php"
        yield Gateway(url, account, apikey, template_id, database)
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def batch(gw: Gateway, cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "VOICEOTP_ACCOUNT": gw.account,
        "VOICEOTP_APIKEY": gw.apikey,
        "VOICEOTP_BASE_URL": gw.url,  # the code product's: notices go beside it (/vm/…)
        "VOICEOTP_CONFIG": str(cwd / "absent.toml"),
    }
    command = [sys.executable, "-m", "voiceotp", "batch", "--no-progress", "--timeout", "10"]
    return subprocess.Popen(
        [*command, "-c", str(CONCURRENCY), "--dedupe", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def accepted(gw: Gateway) -> dict[str, list[tuple[str, str, str]]]:
    """mobile -> the store's calls to it: (voiceid, kind, notice text)."""
    with sqlite3.connect(f"file:{gw.database}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT voiceid, mobile, kind, notice_text FROM calls").fetchall()
    calls: dict[str, list[tuple[str, str, str]]] = {}
    for voiceid, number, kind, notice in rows:
        calls.setdefault(number, []).append((str(voiceid), kind, notice))
    return calls


def count_accepted(gw: Gateway) -> int:
    with sqlite3.connect(f"file:{gw.database}?mode=ro", uri=True) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM calls").fetchone()
    return int(count)


def journal_rows(journal: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(journal) as conn:
        rows = conn.execute("SELECT mobile, state, voiceid FROM items").fetchall()
    return {number: (state, voiceid) for number, state, voiceid in rows}


def kill_after(process: subprocess.Popen[bytes], gw: Gateway, calls: int) -> None:
    deadline = time.monotonic() + 240
    while count_accepted(gw) < calls:
        if process.poll() is not None:
            pytest.fail(f"the batch ended before the kill: {process.communicate()}")
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def check_against_the_store(journal: Path, gw: Gateway) -> int:
    """The journal as a kill -9 left it agrees with the gateway's store; rows in flight."""
    calls = accepted(gw)
    in_flight = 0
    for number, (state, voiceid) in journal_rows(journal).items():
        made = calls.get(number, [])
        if state == "pending":
            assert made == [], f"a pending row's notice was accepted: {number}"
        elif state == "sent":
            assert [call[0] for call in made] == [voiceid]
        else:  # in flight at this kill (sending) or at the one before (unknown by now)
            assert state in {"sending", "unknown"}, state
            in_flight += state == "sending"
            assert len(made) <= 1
    assert in_flight <= CONCURRENCY
    return in_flight


def test_kill_9_twice_then_resume_accepts_each_notice_exactly_once(
    tmp_path: Path, gateway: Gateway
) -> None:
    work = tmp_path / "batch"
    work.mkdir()
    lines = "".join(f"{mobile(i)},{','.join(values(i))}\n" for i in range(ROWS))
    (work / "parcels.csv").write_text("mobile,单号,站点,取件码\n" + lines, encoding="utf-8")
    journal = work / "parcels.journal"
    template = ("--template-id", str(gateway.template_id))

    started = time.monotonic()
    kill_after(batch(gateway, work, "parcels.csv", *template), gateway, ROWS // 4)
    in_flight = [check_against_the_store(journal, gateway)]
    kill_after(batch(gateway, work, "--resume", "parcels.journal"), gateway, ROWS * 2 // 3)
    states = {state for state, _ in journal_rows(journal).values()}
    assert "unknown" in states or in_flight[0] == 0  # the first kill's in-flight rows
    in_flight.append(check_against_the_store(journal, gateway))

    final = batch(gateway, work, "--resume", "parcels.journal", "--replay-unknown")
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    elapsed = time.monotonic() - started

    rows = journal_rows(journal)
    calls = accepted(gateway)
    assert len(rows) == ROWS
    assert {state for state, _ in rows.values()} == {"sent"}
    assert len(calls) == ROWS
    assert sum(len(made) for made in calls.values()) == ROWS  # no other call at all
    for i in range(ROWS):
        ((voiceid, kind, notice),) = calls[mobile(i)]  # accepted exactly once
        assert (kind, notice) == ("notice", text(i))
        assert rows[mobile(i)][1] == voiceid  # the journal and the gateway agree
    print(f"rows in flight at the kills: {in_flight}; whole run {elapsed:.1f} s")
