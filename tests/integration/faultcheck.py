"""The fault suite's per-request record and per-phase checks (tests/integration/
test_faults.py): what each phase's requests broke, and the table it prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.integration.sipptrace import Traced, ended, invites


@dataclass
class Attempt:
    phase: str
    key: str  # the idempotency key as the gateway stores it
    mobile: str
    sent: float
    received: float
    code: int | None  # None: no answer (connection error, timeout, HAProxy's 503)
    voiceid: str = ""


def report(attempts: list[Attempt], problems: dict[str, list[str]]) -> str:
    head = f"{'fault':32} {'requests':>8} {'accepted':>8} {'code 0':>7} {'no answer':>9}"
    lines = [f"{head}  invariants"]
    for phase in dict.fromkeys(a.phase for a in attempts):
        mine = [a for a in attempts if a.phase == phase]
        ok = sum(1 for a in mine if a.code == 2)
        zero = sum(1 for a in mine if a.code == 0)
        none = sum(1 for a in mine if a.code is None)
        kinds = [p.split(":")[0] for p in problems.get(phase, [])]
        held = ", ".join(f"{n} {k}" for k, n in Counter(kinds).items()) or "held"
        lines.append(f"{phase:32} {len(mine):>8} {ok:>8} {zero:>7} {none:>9}  {held}")
    return "\n".join(lines)


def broken(
    attempts: list[Attempt], calls: Sequence[Mapping[str, Any]], trace: list[Traced]
) -> dict[str, list[str]]:
    """Per phase, the invariants a request broke: a lost accept, code 0 for a stored
    call, its number INVITEd under two Call-IDs or INVITEd with no stored call."""
    stored = {str(c["voiceid"]): c for c in calls}
    by_key = {c["idem_key"]: c for c in calls}
    found: dict[str, list[str]] = {a.phase: [] for a in attempts}
    for a in attempts:
        if a.code == 2:
            call = stored.get(a.voiceid)
            if call is None or call["mobile"] != a.mobile or by_key.get(a.key) is not call:
                found[a.phase].append(f"lost accept: {a}")
        if a.code == 0 and a.key in by_key:
            created = float(by_key[a.key]["created_at"])
            if created <= a.received:
                found[a.phase].append(f"code 0 for a stored call: {a}, stored at {created}")
    first: dict[str, str] = {}
    for a in attempts:
        first.setdefault(a.mobile, a.phase)
    numbers = {str(c["mobile"]) for c in calls}
    for mobile, ids in invites(trace).items():
        phase = first.get(mobile, "steady")
        if len(ids) > 1:
            found[phase].append(f"dialed twice: {mobile} under {sorted(ids)}")
        if mobile not in numbers:
            found[phase].append(f"INVITE for no call: {mobile}")
    return found


def trunk_report(trace: list[Traced], killed_mid_call: set[str]) -> str:
    """What the trunk got, and how many calls were up at sipp when dialer1 died."""
    dialed = invites(trace)
    calls = sum(len(ids) for ids in dialed.values())
    killed = len(killed_mid_call - ended(trace))
    return (
        f"sipp (the trunk): {calls} calls INVITEd for {len(dialed)} numbers;"
        f" {killed} answered calls up when dialer1 was killed"
    )
