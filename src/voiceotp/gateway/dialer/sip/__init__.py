"""A focused RFC 3261 user agent client placing G.711 calls through one SIP trunk."""

from voiceotp.gateway.dialer.sip.config import SipTrunk
from voiceotp.gateway.dialer.sip.dialer import SipDialer

__all__ = ["SipDialer", "SipTrunk"]
