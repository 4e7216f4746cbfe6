"""Retention: what the store and the data directory keep about calls, and for how long.

A call's code leaves the store when the call ends (:meth:`SqlFence.finish`). What stays is
pruned by :class:`RetentionSweep`, run by the delivery runtime next to the delivery sweep:

- the SQLite WAL is truncated after codes were erased (``scrub_every_s``), so no page image
  with an erased code lingers in it (``secure_delete`` zeroes the database's free space);
- full mobile numbers of calls older than ``keep_numbers_days`` are masked (138****8000) in
  ``calls``, ``verifications`` and the status reports of the ``outbox``, and those of the
  user center's ``signups`` (their IP cleared);
- call audio (``<record dir>/<voiceid>.wav``) older than ``keep_audio_days`` is deleted.

Accounts may override both numbers of days (``accounts.keep_numbers_days`` /
``keep_audio_days``; NULL: the server's). The ledger and the audit logs are kept: they hold
no codes, and numbers in the audit are masked when written. docs/privacy.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from voiceotp.store.base import Store
from voiceotp.store.keys import ERASED_MARK, KeyBox
from voiceotp.store.privacy import (
    REPORTS_TO_MASK,
    mask_calls_in,
    mask_reports_in,
    mask_signups_in,
)
from voiceotp.store.rows import Tx

__all__ = [
    "RetentionSettings",
    "RetentionSweep",
    "SweepCounts",
    "audio_path",
    "coerce_retention",
    "unlink_existing",
    "wav_files",
]

log = logging.getLogger(__name__)
DAY_S = 86_400.0
MASKED = "%****%"  # LIKE pattern of a masked number (138****8000; store.privacy)


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """Server defaults (``[gateway.retention]`` or ``VOICEOTP_RETENTION`` as JSON)."""

    keep_numbers_days: int = 180  # full mobile numbers in call records, then 138****8000
    keep_audio_days: int = 7  # what the callee heard (WAV), then deleted
    # A Submit's code is the customer's: how long it may still be valid is not known to us.
    # Its call's audio is not played to anyone before created_at + this (Verify: its ttl).
    submit_code_valid_s: int = 1800
    scrub_every_s: float = 60.0  # SQLite: truncate the WAL this often after codes were erased
    sweep_every_s: float = 3600.0  # how often numbers and audio are pruned
    batch: int = 500  # rows per transaction

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> RetentionSettings:
        known = {f.name: f for f in fields(cls)}
        unknown = set(raw) - set(known)
        if unknown:
            raise ValueError(f"unknown retention setting(s): {', '.join(sorted(unknown))}")
        values = {k: type(getattr(cls(), k))(v) for k, v in raw.items()}
        return cls(**values).checked()

    def checked(self) -> RetentionSettings:
        if min(self.keep_numbers_days, self.keep_audio_days, self.submit_code_valid_s) < 0:
            raise ValueError("retention days and submit_code_valid_s must be >= 0")
        if min(self.scrub_every_s, self.sweep_every_s) < 0 or self.batch < 1:
            raise ValueError("retention intervals must be >= 0 and batch >= 1")
        return self


def coerce_retention(raw: Any) -> RetentionSettings:
    """``Settings.retention`` from a RetentionSettings, a mapping, or JSON (environment)."""
    if isinstance(raw, RetentionSettings):
        return raw.checked()
    return RetentionSettings.from_mapping(json.loads(raw) if isinstance(raw, str) else raw)


def audio_path(record_dir: Path, voiceid: str) -> Path:
    """Where the simulated carrier leaves what the callee heard (voiceids are digits)."""
    return record_dir / f"{int(voiceid)}.wav"


@dataclass(frozen=True, slots=True)
class SweepCounts:
    """What one retention sweep removed."""

    numbers_masked: int = 0  # call rows whose number was masked
    reports_masked: int = 0  # status reports (outbox) whose number was masked
    audio_deleted: int = 0  # WAV files deleted
    journal_scrubbed: bool = False
    signups_masked: int = 0  # user-center sign-ups whose number was masked (and IP cleared)
    codes_erased: int = 0  # codes of calls that had ended before the fence erased codes


_ACCOUNT_DAYS = "SELECT id, keep_numbers_days, keep_audio_days FROM accounts"


class RetentionSweep:
    """Masks old numbers, deletes old audio and scrubs the journal (module docstring)."""

    def __init__(
        self,
        store: Store,
        settings: RetentionSettings,
        *,
        record_dir: Path | None,
        codes_erased: Callable[[], int] = lambda: 0,
        stale_dirs: tuple[Path, ...] = (),
        keybox: KeyBox | None = None,
    ) -> None:
        """``codes_erased`` counts the codes the fence erased so far (the journal is
        scrubbed when it moved); ``record_dir``: where call audio lies (None: nowhere);
        every WAV in ``stale_dirs`` goes at each sweep (per-call prompts the console of
        earlier versions rendered from the code: ``<data dir>/console-prompts``);
        ``keybox`` makes the fingerprints of codes that ended calls still hold in clear
        (calls ended before this version: erased by the first sweep)."""
        self.store, self.settings, self.record_dir = store, settings, record_dir
        self.stale_dirs = stale_dirs
        self._keybox = keybox
        self._leftovers_checked = False  # the fence erases every new code: one pass suffices
        self._fence_erased = codes_erased
        self._swept_codes = 0
        self._scrubbed_at = 0  # codes_erased() at the last scrub
        self._next_scrub = 0.0
        self.totals: dict[str, int] = {
            "numbers": 0,
            "reports": 0,
            "audio": 0,
            "signups": 0,
            "codes": 0,
            "scrubs": 0,
        }

    def _codes_erased(self) -> int:
        return self._fence_erased() + self._swept_codes

    async def scrub(self, now: float) -> bool:
        """Truncate the journal when codes were erased since the last time and it is due."""
        erased = self._codes_erased()
        if erased == self._scrubbed_at or now < self._next_scrub:
            return False
        self._next_scrub = now + self.settings.scrub_every_s
        if not await self.store.scrub_journal():
            return False
        self._scrubbed_at = erased
        self.totals["scrubs"] += 1
        return True

    async def sweep(self, now: float) -> SweepCounts:
        """One round: mask numbers, mask reports, delete audio, scrub the journal."""
        codes = 0 if self._leftovers_checked else await self._erase_leftover_codes()
        self._leftovers_checked = True
        days = await self._days_per_account()
        numbers = reports = 0
        for account_id, (keep_numbers, _) in days.items():
            numbers += await self._mask_calls(account_id, now - keep_numbers * DAY_S)
            reports += await self._mask_reports(account_id, now - keep_numbers * DAY_S)
        signups = await self._mask_signups(days, now)
        audio = await self._delete_audio(days, now)
        for folder in self.stale_dirs:
            audio += await asyncio.to_thread(unlink_existing, list(folder.glob("*.wav")))
        self.totals["numbers"] += numbers
        self.totals["reports"] += reports
        self.totals["audio"] += audio
        self.totals["signups"] += signups
        self.totals["codes"] += codes
        if codes:
            log.info("retention: %d codes of calls ended before erasure existed erased", codes)
        if numbers or reports or audio or signups:
            log.info(
                "retention: %d numbers, %d reports, %d sign-ups masked; %d audio files deleted",
                numbers,
                reports,
                signups,
                audio,
            )
        scrubbed = await self.scrub(now)
        return SweepCounts(numbers, reports, audio, scrubbed, signups, codes)

    async def _erase_leftover_codes(self) -> int:
        """Erase the codes ended calls still hold in clear (a store from before erasure):
        their fingerprint when a key is at hand, else empty."""
        total, box = 0, self._keybox
        while True:
            rows = await self.store.read(
                "SELECT voiceid, mobile, content FROM calls WHERE state NOT IN "
                "('queued', 'dialing') AND content <> '' AND content NOT LIKE $1 LIMIT $2",
                ERASED_MARK + "%",
                self.settings.batch,
            )
            if not rows:
                self._swept_codes += total
                return total

            async def work(tx: Tx, rows: list[Any] = rows) -> None:
                for voiceid, mobile, content in rows:
                    kept = "" if box is None else box.fingerprint(str(mobile), str(content))
                    await tx.execute(
                        "UPDATE calls SET content = $2 WHERE voiceid = $1", voiceid, kept
                    )

            await self.store.transact(work)
            total += len(rows)

    async def _days_per_account(self) -> dict[int, tuple[int, int]]:
        """Each account's (keep_numbers_days, keep_audio_days), overrides applied."""
        s = self.settings
        return {
            int(i): (
                s.keep_numbers_days if n is None else int(n),
                s.keep_audio_days if a is None else int(a),
            )
            for i, n, a in await self.store.read(_ACCOUNT_DAYS)
        }

    async def _mask_calls(self, account_id: int, before: float) -> int:
        """Mask the numbers of the account's calls (and codes' rows) created before."""
        total = 0
        while True:
            rows = await self.store.read(
                "SELECT voiceid, mobile FROM calls WHERE account_id = $1 AND created_at < $2 "
                "AND state NOT IN ('queued', 'dialing') AND mobile NOT LIKE $3 LIMIT $4",
                account_id,
                before,
                MASKED,
                self.settings.batch,
            )
            if not rows:
                return total

            async def work(tx: Tx, rows: list[Any] = rows) -> None:
                await mask_calls_in(tx, rows)

            await self.store.transact(work)
            total += len(rows)

    async def _mask_signups(self, days: Mapping[int, tuple[int, int]], now: float) -> int:
        """Mask the number (and clear the IP) of user-center sign-ups past the retention of
        the account they made (the server's when they made none)."""
        default, total, after = self.settings.keep_numbers_days, 0, -1
        while True:
            rows = await self.store.read(
                "SELECT id, account_id, mobile, created_at FROM signups WHERE id > $1 "
                "AND mobile NOT LIKE $2 ORDER BY id LIMIT $3",
                after,
                MASKED,
                self.settings.batch,
            )
            if not rows:
                return total
            after = int(rows[-1][0])
            due = [
                (int(i), str(m))
                for i, a, m, t in rows
                if float(t) < now - _days_of(a, days, default) * DAY_S
            ]
            if due:

                async def work(tx: Tx, due: list[tuple[int, str]] = due) -> None:
                    await mask_signups_in(tx, due)

                await self.store.transact(work)
            total += len(due)

    async def _mask_reports(self, account_id: int, before: float) -> int:
        """Mask the number in the account's status reports created before (pushed or
        abandoned: a pending one still goes out as it was written)."""
        total = 0
        while True:
            rows = await self.store.read(
                REPORTS_TO_MASK + " AND o.created_at < $2 LIMIT $3",
                account_id,
                before,
                self.settings.batch,
            )
            if not rows:
                return total

            async def work(tx: Tx, rows: list[Any] = rows) -> None:
                await mask_reports_in(tx, rows)

            await self.store.transact(work)
            total += len(rows)

    async def _delete_audio(self, days: Mapping[int, tuple[int, int]], now: float) -> int:
        """Delete call audio older than its account's ``keep_audio_days`` (a file of no
        known call: older than the server's)."""
        if self.record_dir is None:
            return 0
        found = await asyncio.to_thread(wav_files, self.record_dir)
        default_before = now - self.settings.keep_audio_days * DAY_S
        doomed: list[Path] = []
        ids = sorted(found)
        for start in range(0, len(ids), self.settings.batch):
            chunk = ids[start : start + self.settings.batch]
            marks = ", ".join(f"${i + 1}" for i in range(len(chunk)))
            rows = await self.store.read(
                f"SELECT voiceid, account_id, created_at FROM calls WHERE voiceid IN ({marks})",  # noqa: S608 - placeholders only
                *chunk,
            )
            calls = {int(v): (int(a), float(t)) for v, a, t in rows}
            for voiceid in chunk:
                path, mtime = found[voiceid]
                account_id, created = calls.get(voiceid, (None, mtime))
                keep = days.get(account_id, (0, -1))[1] if account_id is not None else -1
                before = default_before if keep < 0 else now - keep * DAY_S
                if created < before:
                    doomed.append(path)
        return await asyncio.to_thread(unlink_existing, doomed)


def _days_of(account_id: Any, days: Mapping[int, tuple[int, int]], default: int) -> int:
    """The numbers' retention of ``account_id`` (None, or an account gone: ``default``)."""
    return default if account_id is None else days.get(int(account_id), (default, 0))[0]


def wav_files(record_dir: Path) -> dict[int, tuple[Path, float]]:
    """The call audio files in ``record_dir``: voiceid -> (path, modification time)."""
    if not record_dir.is_dir():
        return {}
    found = {}
    for path in record_dir.glob("*.wav"):
        if path.stem.isdigit():
            found[int(path.stem)] = (path, path.stat().st_mtime)
    return found


def unlink_existing(paths: list[Path]) -> int:
    """Delete ``paths``; how many existed."""
    deleted = 0
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        deleted += 1
    return deleted
