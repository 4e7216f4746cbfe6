"""``voiceotp serve --workers N``: N API processes on one listening socket.

The supervisor binds the port and prepares the store once, then forks the workers. Each
worker inherits the bound socket (the kernel hands each new connection to whichever
worker accepts first: a busy worker accepts less) and runs its own event loop, gateway
and group-commit writer. SIGTERM or SIGINT to the supervisor stops every worker
gracefully (each finishes its requests; the one with delivery gives calls in flight
``delivery.stop_grace_s``) and it exits 0 once all did. A worker that dies is started
again; five deaths within a minute stop them all (exit 1).

Workers are forked, not spawned: the socket, the settings and the imported code come
along for free. Nothing of the supervisor's runs in them (no loop, no thread is started
before the fork).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator

__all__ = ["RESTART_BURST", "STOP_SIGNALS", "supervise"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
RESTART_BURST = (5, 60.0)  # this many deaths within this many seconds stop everything
_PR_SET_PDEATHSIG = 1


def supervise(count: int, run_worker: Callable[[int], None], *, log: Callable[[str], None]) -> int:
    """Run ``run_worker(index)`` in ``count`` forked processes until SIGTERM/SIGINT;
    return the exit status (0 when every worker stopped cleanly)."""
    sup = _Supervisor(run_worker, log)
    with _signals_blocked():
        previous = {sig: signal.signal(sig, sup.stop) for sig in STOP_SIGNALS}
        for index in range(count):
            sup.spawn(index)
    try:
        return sup.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Supervisor:
    def __init__(self, run_worker: Callable[[int], None], log: Callable[[str], None]) -> None:
        self.run_worker = run_worker
        self.log = log
        self.children: dict[int, int] = {}  # pid -> worker index
        self.deaths: deque[float] = deque()
        self.stopping = False
        self.status = 0

    def spawn(self, index: int) -> None:
        """Fork worker ``index`` (call with the stop signals blocked: the child installs
        its handlers before it can receive one)."""
        parent = os.getpid()
        for stream in (sys.stdout, sys.stderr):  # else the child writes it out again
            stream.flush()
        pid = os.fork()
        if pid == 0:
            _worker_main(index, parent, self.run_worker)
        self.children[pid] = index

    def stop(self, signum: int, frame: object = None) -> None:
        """Forward a stop to every worker (once each: a second signal would be uvicorn's
        "force exit")."""
        if self.stopping:
            return
        self.stopping = True
        self.log(f"stopping {len(self.children)} workers ({signal.Signals(signum).name})")
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def wait(self) -> int:
        while self.children:
            pid, wait_status = os.wait()  # PEP 475: a handled signal does not end the wait
            index = self.children.pop(pid, None)
            if index is None:
                continue
            code = os.waitstatus_to_exitcode(wait_status)
            if self.stopping:
                self.status = self.status or (code if code > 0 else 0 if code == 0 else 1)
                continue
            self.log(f"worker {index} (pid {pid}) exited with status {code}")
            self._restart(index)
        return self.status

    def _restart(self, index: int) -> None:
        now = time.monotonic()
        burst, span = RESTART_BURST
        self.deaths.append(now)
        while self.deaths and now - self.deaths[0] > span:
            self.deaths.popleft()
        if len(self.deaths) >= burst:
            self.log(f"{burst} worker deaths within {span:.0f} s: stopping")
            self.status = 1
            self.stop(signal.SIGTERM)
            return
        with _signals_blocked():
            self.spawn(index)
        self.log(f"worker {index} started again")


def _worker_main(index: int, parent: int, run_worker: Callable[[int], None]) -> None:
    """The forked worker: never returns into the supervisor's code."""
    code = 1
    try:
        _die_with_parent(parent)
        # uvicorn installs its own handlers (and unblocks, see serving.AnnouncingServer);
        # after a graceful stop it raises the signal again under the handler found
        # before it: a no-op here, so the worker exits 0.
        for sig in STOP_SIGNALS:
            signal.signal(sig, _ignore)
        run_worker(index)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _ignore(signum: int, frame: object) -> None:
    return None


def _die_with_parent(parent: int) -> None:
    """SIGTERM this worker when the supervisor dies (kill -9 included), so no worker
    keeps the port alone (Linux prctl; elsewhere only the check below)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the prctl
        os._exit(1)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def unblock_stop_signals() -> None:
    """Let pending stop signals in (a worker, once its server's handlers are set)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
