"""The code playing to an answered callee: RTP through the shared pacer, RTCP beside it,
and the keys the callee presses — the operator's repeat key (按1重听) plays it again."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from voiceotp.delivery.dialer.rtp import FRAME_S, RtpPacer
from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.dtmf import EVENT_PAYLOAD_TYPE, EventDecoder
from voiceotp.delivery.dialer.sip.media import MediaPorts, RtcpSender, media_summary
from voiceotp.delivery.dialer.sip.sdp import MediaAnswer
from voiceotp.delivery.dialer.sip.srtp import SrtpContext

__all__ = ["Playback"]


class Playback:
    """Starts playing ``payload`` at once; ``wake`` is called when it ends or a key comes."""

    def __init__(
        self,
        *,
        trunk: SipTrunk,
        pacer: RtpPacer,
        ports: MediaPorts,
        answer: MediaAnswer,
        payload: bytes,
        wake: Callable[[], None],
        srtp: SrtpContext | None = None,
    ) -> None:
        self.trunk, self.pacer, self.ports, self.answer = trunk, pacer, ports, answer
        self.srtp = srtp
        self._wake = wake
        if srtp is not None:
            ports.rtp_in.unprotect, ports.rtcp_in.unprotect = srtp.unprotect, srtp.unprotect_rtcp
        self.stream = pacer.start(
            ports.rtp_socket,
            (answer.host, answer.port),
            payload,
            answer.payload_type,
            protect=None if srtp is None else srtp.protect,
        )
        self.stream.on_done = wake
        self.rtcp = RtcpSender(
            ports,
            answer.rtcp_address,
            self.stream,
            secrets.token_hex(8),
            protect=None if srtp is None else srtp.protect_rtcp,
        )
        self.rtcp.start()
        self.heard = ""  # every key the callee pressed, in order
        self.replays = 0
        self._pending: list[str] = []
        if trunk.repeat_key:
            decoder = EventDecoder()
            types = {EVENT_PAYLOAD_TYPE}  # what we offered; some gateways use the answer's
            if answer.event_payload_type is not None:
                types.add(answer.event_payload_type)
            ports.rtp_in.event_payload_types = frozenset(types)
            ports.rtp_in.on_event = lambda data, ts: self.press(decoder.key(data, ts))

    @property
    def playing(self) -> bool:
        return not self.stream.done.is_set()

    @property
    def may_repeat(self) -> bool:
        """Whether a press of the repeat key would still play the code again."""
        return bool(self.trunk.repeat_key) and self.replays < self.trunk.max_repeats

    def press(self, key: str | None) -> None:
        """A key from RTP (RFC 4733) or SIP INFO; acted upon by :meth:`take_keys`."""
        if key is not None:
            self.heard += key
            self._pending.append(key)
            self._wake()

    def take_keys(self) -> bool:
        """Act on the keys pressed since the last call; ``True`` if the code plays again."""
        replayed = False
        for key in self._pending:
            if key == self.trunk.repeat_key and self.may_repeat:
                self.replays += 1
                self.pacer.replay(self.stream)
                replayed = True
        self._pending.clear()
        return replayed

    def stop(self) -> None:
        self.stream.stop()
        self.rtcp.close()
        self.ports.rtp_in.on_event = None

    def summary(self) -> str:
        """``played 4.20 s of PCMU`` and, when keys came, which and how often it replayed."""
        text = f"played {self.stream.sent * FRAME_S:.2f} s of {self.answer.codec}"
        if self.srtp is not None:
            text += f" over SRTP ({self.srtp.suite})"
            if self.srtp.rejected:
                text += f", {self.srtp.rejected} packets failed SRTP authentication"
        if self.heard:
            text += f"; callee pressed {self.heard[:20]}, replayed {self.replays}x"
        return text

    def media_summary(self) -> str:
        return media_summary(self.ports, self.stream.ssrc)
