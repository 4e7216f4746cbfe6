"""Status push: signed JSON reports to each account's callback URL, from an outbox, with
a growing backoff for up to 24 h (protocol README §7, docs/delivery.md)."""

from voiceotp.delivery.notify.backoff import PushSchedule, compute_push_delay, next_push_at
from voiceotp.delivery.notify.guard import BlockedAddress, CallbackGuard
from voiceotp.delivery.notify.notifier import KeyLookup, Notifier
from voiceotp.delivery.notify.outbox import MemoryOutbox, Outbox, OutboxItem, PushAttempt
from voiceotp.delivery.notify.report import StatusReport, encode_reports, report_id_for
from voiceotp.delivery.notify.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_body,
    signature_headers,
    verify_signature,
)

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "BlockedAddress",
    "CallbackGuard",
    "KeyLookup",
    "MemoryOutbox",
    "Notifier",
    "Outbox",
    "OutboxItem",
    "PushAttempt",
    "PushSchedule",
    "StatusReport",
    "compute_push_delay",
    "encode_reports",
    "next_push_at",
    "report_id_for",
    "sign_body",
    "signature_headers",
    "verify_signature",
]
