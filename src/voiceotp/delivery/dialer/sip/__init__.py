"""A focused RFC 3261 user agent client placing G.711 calls through one SIP trunk."""

from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.dialer import SipDialer

__all__ = ["SipDialer", "SipTrunk"]
