"""The fault suite's per-phase checks can fail: each invariant broken on purpose in
made-up attempts, calls and a sipp trace is named in its phase's row of the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.faultcheck import Attempt, broken, report
from tests.integration.sipptrace import TraceReader
from tests.integration.test_sipptrace import block, request


def attempt(phase: str, key: str, mobile: str, code: int | None, voiceid: str = "") -> Attempt:
    return Attempt(phase, key, mobile, sent=100.0, received=101.0, code=code, voiceid=voiceid)


def test_each_broken_invariant_is_named_in_its_phase(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = [
        {"voiceid": 1, "mobile": "13900000001", "idem_key": "h:a", "created_at": 100.5},
        {"voiceid": 2, "mobile": "13900000002", "idem_key": "h:b", "created_at": 100.5},
        {"voiceid": 3, "mobile": "13900000003", "idem_key": "h:c", "created_at": 102.0},
    ]
    attempts = [
        attempt("steady", "h:a", "13900000001", 2, "1"),  # fine
        attempt("kill", "h:x", "13900000009", 2, "9"),  # code 2, nothing stored
        attempt("kill", "h:b", "13900000002", 0),  # code 0, stored at 100.5 < 101
        attempt("redis", "h:c", "13900000003", 0),  # code 0, stored after: fine
        attempt("redis", "h:c", "13900000003", 2, "3"),
    ]
    trace = tmp_path / "messages.log"
    trace.write_text(
        block("2026-12-08 01:00:00.000000", "received", request("INVITE", "13900000001", "a", 1))
        + block("2026-12-08 01:00:01.000000", "received", request("INVITE", "13900000003", "c", 1))
        + block("2026-12-08 01:00:02.000000", "received", request("INVITE", "13900000003", "d", 2))
        + block("2026-12-08 01:00:03.000000", "received", request("INVITE", "13900000009", "e", 1))
    )
    reader = TraceReader(trace)
    reader.read(final=True)
    problems = broken(attempts, calls, reader.messages)
    assert [p.split(":")[0] for p in problems["steady"]] == []
    assert sorted(p.split(":")[0] for p in problems["kill"]) == [
        "INVITE for no call",
        "code 0 for a stored call",
        "lost accept",
    ]
    assert [p.split(":")[0] for p in problems["redis"]] == ["dialed twice"]
    table = report(attempts, problems).splitlines()
    assert table[1].endswith("  held")
    assert "1 lost accept" in table[2]
    assert "1 dialed twice" in table[3]
