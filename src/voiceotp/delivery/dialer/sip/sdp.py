"""SDP offer/answer for one G.711 audio stream (RFC 4566, RFC 3264), sans I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from voiceotp.delivery.dialer.base import CODECS

__all__ = ["MediaAnswer", "build_offer", "parse_answer"]


@dataclass(frozen=True)
class MediaAnswer:
    """Where to send RTP and in which codec, from the callee's SDP answer."""

    host: str
    port: int
    codec: str
    payload_type: int
    rtcp_port: int = 0  # 0: the RTP port + 1 (RFC 3550 §11); else from a=rtcp (RFC 3605)
    event_payload_type: int | None = None  # the answer's telephone-event (RFC 4733), if any
    crypto: tuple[str, ...] = ()  # the audio stream's a=crypto values (RFC 4568)

    @property
    def rtcp_address(self) -> tuple[str, int]:
        return self.host, self.rtcp_port or self.port + 1


def build_offer(
    *,
    session_id: int,
    host: str,
    port: int,
    codecs: Sequence[str],
    telephone_event: int | None = None,
    profile: str = "RTP/AVP",
    attributes: Sequence[str] = (),
) -> bytes:
    """An SDP offer of ``codecs`` (names from :data:`CODECS`, preferred first), and of
    RFC 4733 telephone-events 0-15 (keys) as payload type ``telephone_event`` when given;
    ``profile`` RTP/SAVP and ``attributes`` ``crypto:…`` for SRTP (RFC 4568)."""
    types = [CODECS[c] for c in codecs]
    events: list[str] = []
    if telephone_event is not None:
        types.append(telephone_event)
        events = [
            f"a=rtpmap:{telephone_event} telephone-event/8000",
            f"a=fmtp:{telephone_event} 0-15",
        ]
    lines = [
        "v=0",
        f"o=voiceotp {session_id} {session_id} IN IP4 {host}",
        "s=voiceotp",
        f"c=IN IP4 {host}",
        "t=0 0",
        f"m=audio {port} {profile} {' '.join(str(t) for t in types)}",
        *(f"a=rtpmap:{CODECS[c]} {c}/8000" for c in codecs),
        *events,
        *(f"a={attribute}" for attribute in attributes),
        "a=ptime:20",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def parse_answer(body: bytes, offered: Sequence[str]) -> MediaAnswer | None:
    """The first audio format of the answer we offered, or ``None`` if there is none."""
    host, media_host, port, rtcp_port = "", "", 0, 0
    formats: list[int] = []
    rtpmap: dict[int, str] = {}
    crypto: list[str] = []
    in_audio = False
    for raw in body.decode("utf-8", "replace").splitlines():
        kind, _, value = raw.strip().partition("=")
        if kind == "c":
            address = value.split()[-1].split("/")[0] if value.split() else ""
            if in_audio:
                media_host = address
            else:
                host = address
        elif kind == "m":
            fields = value.split()
            in_audio = len(fields) >= 4 and fields[0] == "audio" and not formats
            if in_audio:
                port, formats = _port(fields[1]), [int(f) for f in fields[3:] if f.isdigit()]
        elif kind == "a" and in_audio and value.startswith("rtpmap:"):
            number, _, encoding = value[len("rtpmap:") :].partition(" ")
            if number.isdigit():
                rtpmap[int(number)] = encoding.split("/")[0].upper()
        elif kind == "a" and in_audio and value.startswith("crypto:"):
            crypto.append(value)
        elif kind == "a" and in_audio and value.startswith("rtcp:"):
            rtcp_port = _port(value[len("rtcp:") :].split()[0] if value[5:].split() else "")
    answer = _choose(media_host or host, port, formats, rtpmap, offered)
    events = [pt for pt in formats if rtpmap.get(pt) == "TELEPHONE-EVENT"]
    if answer is None:
        return None
    event = events[0] if events else None
    return replace(answer, rtcp_port=rtcp_port, event_payload_type=event, crypto=tuple(crypto))


def _port(field: str) -> int:
    """``<port>`` or ``<port>/<number of ports>`` (RFC 4566 §5.14); 0 when unreadable."""
    port = field.split("/", 1)[0]
    return int(port) if port.isdigit() and int(port) < 65536 else 0


def _choose(
    host: str, port: int, formats: list[int], rtpmap: dict[int, str], offered: Sequence[str]
) -> MediaAnswer | None:
    if not host or port == 0:  # port 0: stream rejected
        return None
    static = {pt: name for name, pt in CODECS.items()}
    for payload_type in formats:
        codec = rtpmap.get(payload_type) or static.get(payload_type)
        if codec is not None and codec in offered:
            return MediaAnswer(host, port, codec, payload_type)
    return None
