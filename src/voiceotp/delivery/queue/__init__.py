"""The delivery queue: jobs, backends (in memory, Redis Streams), the call fence, the
middleware that decides expiry and redials, and the dialer worker. See docs/delivery.md."""

from voiceotp.delivery.queue.base import (
    CallFence,
    CallTicket,
    Claim,
    ClaimVerdict,
    Delivery,
    Job,
    Queue,
    decode_job,
    encode_job,
)
from voiceotp.delivery.queue.memory import CallRow, MemoryFence, MemoryQueue

__all__ = [
    "CallFence",
    "CallRow",
    "CallTicket",
    "Claim",
    "ClaimVerdict",
    "Delivery",
    "Job",
    "MemoryFence",
    "MemoryQueue",
    "Queue",
    "decode_job",
    "encode_job",
]
