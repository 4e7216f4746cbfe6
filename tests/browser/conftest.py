"""Browser tests: the real ``voiceotp serve`` (SQLite, simulated carrier with short
timings) driven by Playwright on Debian's chromium (never a downloaded browser).

Without /usr/bin/chromium the tests skip, and fail under CI=true. Screenshots of every
page in both languages go to a folder printed at the end of the run
(``VOICEOTP_SCREENSHOTS`` to choose it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.integration.helpers import tone_clips
from voiceotp.gateway.admin import Admin, NewKey
from voiceotp.gateway.settings import Settings
from voiceotp.store import make_store
from voiceotp.store.keys import KeyBox
from voiceotp.store.migrate import upgrade_async
from voiceotp.store.web import create_web_user
from voiceotp.web.passwords import hash_password

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
SRC = Path(__file__).resolve().parents[2] / "src"
PASSWORD = "correct horse battery"
SHOTS: list[Path] = []


@dataclass
class Server:
    url: str  # the console: http://127.0.0.1:PORT/console
    endpoint: str  # the ihuyi endpoint
    data_dir: Path
    key: NewKey  # an account with a balance of 10

    @property
    def root(self) -> str:
        """http://127.0.0.1:PORT (the user center is at root + /user)."""
        return self.url.removesuffix("/console")

    @property
    def database(self) -> Path:
        return self.data_dir / "voiceotp.db"

    def sql(self, statement: str, *args: object) -> list[tuple[object, ...]]:
        """Run SQL on the server's SQLite database (to age sessions, check state)."""
        with sqlite3.connect(self.database, timeout=10) as conn:
            return list(conn.execute(statement, args).fetchall())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _prepare(data_dir: Path) -> NewKey:
    settings = Settings.from_mapping({"dev_mode": True, "data_dir": data_dir})
    await upgrade_async(settings.effective_database_url)
    store = make_store(settings)
    await store.open()
    try:
        encoded = hash_password(PASSWORD)
        for login, role in (("alice", "admin"), ("sam", "support")):
            await create_web_user(
                store, kind="operator", login=login, password_hash=encoded, role=role,
                now=time.time(),
            )  # fmt: skip
        return await Admin(store, KeyBox(settings.secret_key), time.time).create_account(
            name="V20000001", balance=10
        )
    finally:
        await store.close()


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (scripts/setup dev does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@contextlib.contextmanager
def start_server(data_dir: Path) -> Iterator[Server]:
    """``voiceotp serve`` on a free port until the caller is done."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # In a thread: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        key = thread.submit(asyncio.run, _prepare(data_dir)).result()
    delivery = {
        "prompt_dir": str(tone_clips(data_dir / "clips")),
        "prompt_cache_dir": str(data_dir / "cache"),
        "prompt_repeat": 1,
        "poll_s": 0.1,
        "simulation": {"ring_after_s": 0.2, "answer_after_s": 0.2},
    }
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "VOICEOTP_DEV_MODE": "1",
        "VOICEOTP_DATA_DIR": str(data_dir),
        "VOICEOTP_DELIVERY": json.dumps(delivery),
        # A Submit's audio is not played while its code may be valid (docs/privacy.md); the
        # pages under test play calls just placed (tests/web/test_call_audio.py: the wait).
        "VOICEOTP_RETENTION": json.dumps({"submit_code_valid_s": 0}),
    }
    port = _free_port()
    args = [sys.executable, "-m", "voiceotp", "serve", "--port", str(port), "--no-access-log"]
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, process, data_dir)
        base = f"http://127.0.0.1:{port}"
        yield Server(f"{base}/console", f"{base}/webservice/voice.php", data_dir, key)
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def _wait_listening(port: int, process: subprocess.Popen[bytes], data_dir: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail((data_dir / "serve.log").read_text())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail("voiceotp serve did not listen")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    """Per module: while Playwright's sync API runs, its event loop is this thread's, and
    the other folders' tests call asyncio.run (tests/browser runs before most of them)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    chosen = os.environ.get("VOICEOTP_SCREENSHOTS")
    # Outside pytest's numbered folders, which later runs delete.
    folder = Path(chosen) if chosen else Path(tempfile.gettempdir()) / "voiceotp-console-shots"
    folder.mkdir(parents=True, exist_ok=True)
    SHOTS.append(folder)
    return folder


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for folder in SHOTS:
        count = len(list(folder.glob("*.png")))
        terminalreporter.write_line(f"console screenshots ({count}): {folder}")


def sign_in(page: Page, server: Server, login: str, password: str = PASSWORD) -> None:
    """Sign in through the form (labels in Chinese, the default)."""
    page.goto(f"{server.url}/signin")
    page.get_by_label("用户名").fill(login)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
