"""Kill -9 and Ctrl-C against ``voiceotp batch`` in a subprocess, then resume.

The counting server is FakeIhuyi served over HTTP on a thread of this process (the batch
process is what gets killed), deduping exact dynamic-password replays like our gateway.
It counts every Submit it receives per number (``received``) and every call it places
(``submits``). After each kill the journal is read as the crash left it:

- rows still ``pending`` never reached the server;
- rows ``sent`` reached it exactly once and carry the server's voiceid;
- rows ``sending`` (in flight at the kill) number at most the concurrency.

Then a resume that replays those exactly finishes the run, and every number has been
called exactly once.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi, FakeServer

SRC = Path(__file__).resolve().parents[2] / "src"
ROWS = 200
CONCURRENCY = 8
TRIALS = 24
SEED = int(os.environ.get("VOICEOTP_CRASH_SEED", "20261128"))


@pytest.fixture(scope="module")
def fake() -> FakeIhuyi:
    return FakeIhuyi(balance=10**6, dedupe=True, latency=0.003)


@pytest.fixture(scope="module")
def server(fake: FakeIhuyi) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


def batch_process(server: FakeServer, cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "VOICEOTP_ACCOUNT": DEFAULT_ACCOUNT,
        "VOICEOTP_APIKEY": DEFAULT_APIKEY,
        "VOICEOTP_BASE_URL": server.url,
        "VOICEOTP_CONFIG": str(cwd / "absent.toml"),
    }
    command = [sys.executable, "-m", "voiceotp", "batch", "--no-progress", "--timeout", "5"]
    return subprocess.Popen(
        [*command, "-c", str(CONCURRENCY), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def journal_rows(journal: Path) -> dict[str, tuple[str, str | None]]:
    """mobile -> (state, voiceid), read without the batch's code."""
    with sqlite3.connect(journal) as conn:
        rows = conn.execute("SELECT mobile, state, voiceid FROM items").fetchall()
    return {mobile: (state, voiceid) for mobile, state, voiceid in rows}


def received(fake: FakeIhuyi, mobiles: list[str]) -> int:
    return sum(fake.received[m] for m in mobiles)


def kill_at_random(
    process: subprocess.Popen[bytes], fake: FakeIhuyi, mobiles: list[str], rng: random.Random
) -> None:
    """SIGKILL after a random number of this trial's Submits reached the server (or at a
    random early instant: start-up, import), plus a random sub-request delay."""
    target = rng.randrange(-ROWS // 5, ROWS)
    deadline = time.monotonic() + 20
    if target < 0:
        time.sleep(rng.uniform(0, 0.6))
    else:
        while received(fake, mobiles) < target and process.poll() is None:
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.0005)
        time.sleep(rng.uniform(0, 0.004))
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def check_crash_state(journal: Path, fake: FakeIhuyi) -> int:
    """The invariants of a journal as a kill -9 left it; returns rows in flight."""
    in_flight = 0
    for mobile, (state, voiceid) in journal_rows(journal).items():
        if state == "pending":
            assert fake.received[mobile] == 0, f"pending {mobile} reached the server"
        elif state == "sent":
            assert fake.received[mobile] == 1
            assert voiceid == fake_voiceid(fake, mobile)
        elif state in {"sending", "unknown"}:
            in_flight += state == "sending"
            assert fake.received[mobile] <= 1
        else:
            pytest.fail(f"unexpected state {state}")
    assert in_flight <= CONCURRENCY
    return in_flight


def fake_voiceid(fake: FakeIhuyi, mobile: str) -> str:
    (voiceid,) = [call.voiceid for call in fake.calls if call.mobile == mobile]
    return voiceid


def run_trial(
    trial: int, tmp: Path, server: FakeServer, fake: FakeIhuyi, rng: random.Random
) -> int:
    cwd = tmp / f"trial{trial}"
    cwd.mkdir()
    mobiles = [f"139{trial:02d}{i:06d}" for i in range(ROWS)]
    (cwd / "in.csv").write_text("mobile,code\n" + "".join(f"{m},4321\n" for m in mobiles))
    journal = cwd / "in.journal"
    kills = rng.choice([1, 1, 2])
    sync = rng.choice(["--fsync", "--no-fsync"])  # both must survive a killed process
    in_flight = 0
    for _ in range(kills):
        args = ("--resume", "in.journal") if journal.exists() else ("in.csv",)
        kill_at_random(batch_process(server, cwd, *args, sync), fake, mobiles, rng)
        if journal.exists():
            in_flight += check_crash_state(journal, fake)
    args = ("--resume", "in.journal") if journal.exists() else ("in.csv",)
    final = batch_process(server, cwd, *args, "--replay-unknown", "--dedupe")
    _, err = final.communicate(timeout=60)
    assert final.returncode == 0, err.decode()
    rows = journal_rows(journal)
    assert len(rows) == ROWS  # every row accounted for
    assert {state for state, _ in rows.values()} == {"sent"}
    for mobile in mobiles:
        assert fake.submits[mobile] == 1, f"{mobile} called {fake.submits[mobile]} times"
        assert rows[mobile][1] == fake_voiceid(fake, mobile)
    replays = sum(fake.received[m] - 1 for m in mobiles)
    assert replays <= in_flight  # only in-flight rows were sent again, as exact replays
    return in_flight


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_never_calls_twice(
    tmp_path: Path, server: FakeServer, fake: FakeIhuyi
) -> None:
    rng = random.Random(SEED)
    in_flight = [run_trial(trial, tmp_path, server, fake, rng) for trial in range(TRIALS)]
    print(f"seed {SEED}: rows in flight at each trial's kills: {in_flight}")
    assert len(in_flight) >= 20


def test_ctrl_c_finishes_in_flight_saves_and_prints_the_resume_command(
    tmp_path: Path, server: FakeServer, fake: FakeIhuyi
) -> None:
    mobiles = [f"13700{i:06d}" for i in range(ROWS)]
    (tmp_path / "in.csv").write_text("".join(f"{m}\n" for m in mobiles))
    process = batch_process(server, tmp_path, "in.csv", "--rate", "100")
    deadline = time.monotonic() + 20
    while received(fake, mobiles) < 20:
        assert time.monotonic() < deadline
        assert process.poll() is None
        time.sleep(0.001)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err.decode()
    assert "voiceotp batch --resume in.journal" in err.decode()
    assert re.search(r"^finishing \d+ requests? in flight \(Ctrl-C again", err.decode(), re.M)
    rows = journal_rows(tmp_path / "in.journal")
    states = [state for state, _ in rows.values()]
    assert "sending" not in states  # in-flight requests finished
    assert "unknown" not in states
    assert 0 < states.count("pending") < ROWS
    assert states.count("sent") == received(fake, mobiles)
    resumed = batch_process(server, tmp_path, "--resume", "in.journal")
    _, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err.decode()
    assert all(fake.submits[m] == 1 for m in mobiles)


def test_a_second_ctrl_c_abandons_in_flight_requests_safely(
    tmp_path: Path, server: FakeServer, fake: FakeIhuyi
) -> None:
    mobiles = [f"13600{i:06d}" for i in range(ROWS)]
    (tmp_path / "in.csv").write_text("".join(f"{m}\n" for m in mobiles))
    fake.latency = 3.0  # answers slow enough for a second Ctrl-C to land while waiting
    try:
        process = batch_process(server, tmp_path, "in.csv")
        deadline = time.monotonic() + 20
        while received(fake, mobiles) < CONCURRENCY:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        process.send_signal(signal.SIGINT)
        assert process.stderr is not None
        said = process.stderr.readline().decode()  # at once, not after the answers
        assert said == (
            f"finishing {CONCURRENCY} requests in flight (Ctrl-C again to abandon them;"
            " they will be 'unknown')\n"
        )
        assert process.poll() is None  # still waiting for the in-flight answers
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        fake.latency = 0.003
    assert process.returncode == 130, err.decode()
    assert "interrupted; resume with: voiceotp batch --resume in.journal" in err.decode()
    assert "Traceback" not in err.decode()
    assert check_crash_state(tmp_path / "in.journal", fake) == CONCURRENCY
    resume = ("--resume", "in.journal", "--replay-unknown", "--dedupe")
    resumed = batch_process(server, tmp_path, *resume)
    _, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err.decode()
    assert all(fake.submits[m] == 1 for m in mobiles)
