"""SRTP keyed in the SDP (SDES, RFC 4568): our ``a=crypto`` offer, the answer's choice,
and the call's SRTP/SRTCP contexts (libsrtp through pylibsrtp, no crypto of our own).

Each side encrypts what it sends with the key of its own SDP: our offered key (of the
tag the answer accepted) protects our RTP and RTCP, the answer's key unprotects the
callee's. ``SipTrunk.srtp``: ``off`` (plain RTP/AVP), ``offer`` (RTP/AVP carrying
``a=crypto``, "best effort": SRTP when the answer accepts a suite, plain otherwise) or
``require`` (RTP/SAVP; an answer without a usable key gets no media at all — the call
is hung up before a single packet goes out in the clear).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass

__all__ = ["MODES", "SUITES", "CryptoLine", "SrtpContext", "SrtpOffer", "parse_crypto"]

#: Suites we offer, preferred first (RFC 4568 §6.2); libsrtp's _32 profile keeps the
#: 80-bit tag on SRTCP, as §6.2.2 requires.
SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")
KEY_SALT_BYTES = 30  # 128-bit master key + 112-bit master salt
MODES = ("off", "offer", "require")


@dataclass(frozen=True)
class CryptoLine:
    """One ``a=crypto:<tag> <suite> inline:<key||salt>`` with a single plain key."""

    tag: int
    suite: str
    key: bytes

    def render(self) -> str:
        return f"crypto:{self.tag} {self.suite} inline:{base64.b64encode(self.key).decode()}"


def parse_crypto(value: str) -> CryptoLine | None:
    """The value after ``a=``; ``None`` for a suite we lack, several keys, an MKI, a key of
    the wrong length or any session parameter (we honour none of them, so we accept none)."""
    if not value.startswith("crypto:"):
        return None
    fields = value[len("crypto:") :].split()
    if len(fields) != 3 or not fields[0].isdigit() or fields[1] not in SUITES:
        return None
    method, _, params = fields[2].partition(":")
    material, *rest = params.split("|")
    if method != "inline" or ";" in params or any(":" in part for part in rest):
        return None  # several keys (;) or an MKI (n:len): not supported
    try:
        key = base64.b64decode(material, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(key) != KEY_SALT_BYTES:
        return None
    return CryptoLine(int(fields[0]), fields[1], key)


class SrtpContext:
    """One call's SRTP: ours protects what we send, theirs unprotects what arrives.
    Unprotect returns ``None`` for a packet that fails authentication or replay checks;
    ``rejected`` counts them."""

    def __init__(self, suite: str, local_key: bytes, remote_key: bytes) -> None:
        from pylibsrtp import Error, Policy, Session  # the sip extra; only SRTP calls need it

        profile = {
            "AES_CM_128_HMAC_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
            "AES_CM_128_HMAC_SHA1_32": Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
        }[suite]
        self.suite = suite
        self._out = Session(Policy(local_key, Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
        self._in = Session(Policy(remote_key, Policy.SSRC_ANY_INBOUND, srtp_profile=profile))
        self.rejected = 0
        self._error: type[Exception] = Error  # imported once, not per packet

    def protect(self, rtp: bytes) -> bytes:
        return bytes(self._out.protect(rtp))

    def protect_rtcp(self, rtcp: bytes) -> bytes:
        return bytes(self._out.protect_rtcp(rtcp))

    def unprotect(self, data: bytes) -> bytes | None:
        try:
            return bytes(self._in.unprotect(data))
        except self._error:
            self.rejected += 1
            return None

    def unprotect_rtcp(self, data: bytes) -> bytes | None:
        try:
            return bytes(self._in.unprotect_rtcp(data))
        except self._error:
            self.rejected += 1
            return None


@dataclass
class SrtpOffer:
    """The keys of our offer for one call, and the choice the answer made."""

    mode: str
    lines: tuple[CryptoLine, ...] = ()

    @classmethod
    def create(cls, mode: str) -> SrtpOffer:
        if mode not in MODES:
            raise ValueError(f"srtp must be one of {', '.join(MODES)}, not {mode!r}")
        if mode == "off":
            return cls(mode)
        lines = (  # a fresh key per line and per call
            CryptoLine(tag, suite, secrets.token_bytes(KEY_SALT_BYTES))
            for tag, suite in enumerate(SUITES, 1)
        )
        return cls(mode, tuple(lines))

    @property
    def profile(self) -> str:
        """The m= line's transport: RTP/SAVP only when SRTP is required (an ``offer``
        stays RTP/AVP so a trunk without SRTP still accepts the call)."""
        return "RTP/SAVP" if self.mode == "require" else "RTP/AVP"

    def attributes(self) -> list[str]:
        return [line.render() for line in self.lines]

    def accept(self, answer_crypto: tuple[str, ...]) -> tuple[SrtpContext | None, str]:
        """(the context for the answer's ``a=crypto`` values or ``None`` for plain RTP,
        why the call must not go on: "" unless SRTP is required and the answer has no
        usable key)."""
        ours = {line.tag: line for line in self.lines}
        for value in answer_crypto:
            theirs = parse_crypto(value)
            mine = ours.get(theirs.tag) if theirs is not None else None
            if theirs is not None and mine is not None and mine.suite == theirs.suite:
                return SrtpContext(mine.suite, mine.key, theirs.key), ""
        if self.mode != "require":
            return None, ""
        if not answer_crypto:
            return None, "SRTP required, the answer has no crypto"
        return None, "SRTP required, the answer's crypto matches no suite of our offer"
