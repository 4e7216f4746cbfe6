"""Status reports: what a customer's callback receives (protocol README §7).

The body is a JSON array of reports. Times are integer Unix seconds and, like the Query
extension's fields, ``0`` means "did not happen" (a busy call has no answer time).
``report_id`` is stable per call and attempt count, so a report written twice is still
one report, and receivers can drop duplicates of an at-least-once delivery.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from voiceotp.delivery.dialer.base import CallOutcome

__all__ = ["StatusReport", "encode_reports", "report_id_for"]


def report_id_for(voiceid: str, attempts: int) -> str:
    """The id of the final report of call ``voiceid`` after ``attempts`` dial attempts."""
    return f"{voiceid}-{attempts}"


@dataclass(frozen=True)
class StatusReport:
    """One call's final status, as pushed to the customer."""

    report_id: str
    voiceid: str
    mobile: str
    status: str
    sip_code: int
    submit_time: int
    ring_time: int
    answer_time: int
    end_time: int
    duration: int
    attempts: int
    # Calls placed by Verify only (omitted from the body otherwise): the code's status
    # (pending | verified | expired | exhausted | superseded) and when Check succeeded.
    verify_status: str = ""
    verify_time: int = 0

    @classmethod
    def from_outcome(
        cls,
        *,
        voiceid: str,
        mobile: str,
        outcome: CallOutcome,
        submit_time: float,
        attempts: int,
        verify: tuple[str, float] = ("", 0.0),
    ) -> StatusReport:
        """The report of a call that ended with ``outcome`` after ``attempts`` attempts;
        ``verify``: the status of a Verify's code and when it was verified."""
        return cls(
            report_id=report_id_for(voiceid, attempts),
            voiceid=voiceid,
            mobile=mobile,
            status=outcome.status.value,
            sip_code=outcome.sip_code or 0,
            submit_time=int(submit_time),
            ring_time=int(outcome.ring_at or 0),
            answer_time=int(outcome.answer_at or 0),
            end_time=int(outcome.end_at or 0),
            duration=round(outcome.duration_s),
            attempts=attempts,
            verify_status=verify[0],
            verify_time=int(verify[1]),
        )

    def to_doc(self) -> dict[str, object]:
        """The report as pushed: the verify fields only for a call placed by Verify."""
        doc = asdict(self)
        if not self.verify_status:
            del doc["verify_status"], doc["verify_time"]
        return doc


def encode_reports(reports: Sequence[StatusReport]) -> bytes:
    """The POST body: a compact JSON array, keys in field order, UTF-8."""
    return json.dumps([r.to_doc() for r in reports], separators=(",", ":")).encode()
