"""Dialers: turn a call request into a phone call and report how it ended.

``base`` holds the interface and the one outcome table; ``simulated`` the embedded
default carrier; ``sip`` our RFC 3261 client for real trunks.
"""

from voiceotp.delivery.dialer.base import (
    CODECS,
    OUTCOME_TABLE,
    CallOutcome,
    CallRequest,
    CallStatus,
    Dialer,
    OutcomeRow,
    canonical_row,
    outcome_for_sip,
)
from voiceotp.delivery.dialer.simulated import SimulatedCarrier, SimulationProfile

__all__ = [
    "CODECS",
    "OUTCOME_TABLE",
    "CallOutcome",
    "CallRequest",
    "CallStatus",
    "Dialer",
    "OutcomeRow",
    "SimulatedCarrier",
    "SimulationProfile",
    "canonical_row",
    "outcome_for_sip",
]
