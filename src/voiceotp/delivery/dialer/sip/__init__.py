"""A focused RFC 3261 user agent client placing G.711 calls through SIP trunks."""

from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.dialer import SipDialer
from voiceotp.delivery.dialer.sip.group import SipTrunkGroup

__all__ = ["SipDialer", "SipTrunk", "SipTrunkGroup"]
