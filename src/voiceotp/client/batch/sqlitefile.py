"""The journal's SQLite file: an exclusive lock, the connection, a WAL grown up front."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path


def lock_journal(path: Path) -> int:
    """An fd holding an exclusive flock on ``path`` (BlockingIOError: another holds it).

    Held for a Journal's life: two runs of one journal would both send its pending rows.
    The kernel drops it when the process dies."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise
    return fd


def claim_file(path: Path) -> int:
    """An fd holding an exclusive flock on the file at ``path``, created (0600) if missing.

    BlockingIOError: another process holds it. The lock is taken on whatever file the
    name denotes *when the lock is granted*: if another process renamed or removed it
    meanwhile, try again on the new one (the usual lock-file pattern)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held, now = os.fstat(fd), os.stat(path)
        except FileNotFoundError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
            return fd
        os.close(fd)


def sidecars(path: Path) -> tuple[Path, Path]:
    """The ``-wal`` and ``-shm`` files SQLite keeps beside a WAL-mode database."""
    return Path(f"{path}-wal"), Path(f"{path}-shm")


def remove_database(path: Path, *, keep_main: bool = False) -> None:
    """Delete the database at ``path`` and its sidecars (only them with ``keep_main``)."""
    for leftover in sidecars(path) if keep_main else (path, *sidecars(path)):
        leftover.unlink(missing_ok=True)


# SQLite's default wal_autocheckpoint: the WAL is checkpointed, then rewritten from its
# start, once it holds this many frames (of page size + a 24-byte header each).
_WAL_FRAMES = 1000
WAL_BYTES = 32 + (_WAL_FRAMES + 100) * (4096 + 24)


def pregrow_wal(path: Path) -> None:
    """Give an empty ``<journal>-wal`` its working size up front (zeros, synced).

    With ``synchronous=FULL`` every commit ends in an fdatasync of the WAL. While the
    WAL grows, each one must also commit the file's new size and blocks to the
    filesystem journal (190 us here against 90 us for an overwrite: bench/batch.py,
    c=50: 0.80 -> 0.85 of raw aiohttp). A WAL that already has its size is only
    overwritten, as SQLite does anyway once it restarts the WAL after a checkpoint.

    Only an empty or missing WAL is touched: one that holds frames (a killed run) is
    SQLite's to recover. The zeros are never taken for frames: SQLite writes a fresh
    header (new salts) over them and reads frames only while their salts and running
    checksum match, exactly as it ignores the stale tail of a WAL it reuses.
    """
    wal, _ = sidecars(path)
    if wal.exists() and wal.stat().st_size > 0:
        return
    with os.fdopen(os.open(wal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(bytes(WAL_BYTES))
        out.flush()
        os.fsync(out.fileno())


def connect(path: Path, *, fsync: bool = True) -> sqlite3.Connection:
    # One thread at a time uses a Journal, but not necessarily the one that opened it
    # (e.g. a journal built in one thread and run in an event loop's thread).
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: every commit is fsynced (survives a power cut). NORMAL in WAL mode: a commit
    # is in the OS page cache when it returns, which a killed process cannot undo, but a
    # power cut or kernel crash can.
    conn.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
    return conn
