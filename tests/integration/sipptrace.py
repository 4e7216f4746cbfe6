"""What a sipp trunk saw, read from its ``-trace_msg`` file as it grows: each message with
sipp's timestamp, its Call-ID, the sender's Via port and the Request-URI user (the number
dialed). The fault suite counts INVITEs per number from it and waits for an answered call
of one dialer to kill; bench/invite.py times INVITEs' arrival against the Submits."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# Each message: "-----...----- 2026-12-08 01:20:51.287967\nUDP message received [270] bytes :"
_BLOCK = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n", re.MULTILINE)
_VIA_PORT = re.compile(r"^Via:[^\n]*?:(\d+)[;\s]", re.MULTILINE | re.IGNORECASE)
_CALL_ID = re.compile(r"^Call-ID:\s*(\S+)", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class Traced:
    at: float  # sipp's wall clock when it logged the message (Unix seconds)
    received: bool  # by sipp (else sent by sipp)
    first_line: str
    call_id: str
    via_port: int  # of the first Via: who sent the request
    user: str  # the Request-URI's user of a request ("" for a response)

    @property
    def method(self) -> str:
        """A request's method, or "" for a response."""
        return "" if self.first_line.startswith("SIP/2.0") else self.first_line.split(" ", 1)[0]


def _parse(stamp: str, block: str) -> Traced | None:
    head, _, message = block.partition("\n\n")
    message = message.lstrip("\n")
    first = message.split("\n", 1)[0].strip()
    call_id, via = _CALL_ID.search(message), _VIA_PORT.search(message)
    if not first or call_id is None:
        return None
    user = ""
    if not first.startswith("SIP/2.0"):
        uri = first.split(" ")[1] if " " in first else ""
        user = uri.removeprefix("sip:").split("@", 1)[0] if "@" in uri else ""
    return Traced(
        at=datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp(),  # sipp's local time
        received="received" in head,
        first_line=first,
        call_id=call_id.group(1),
        via_port=int(via.group(1)) if via else 0,
        user=user,
    )


class TraceReader:
    """Reads the messages appended to sipp's message file since the last :meth:`read`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._rest = ""
        self.messages: list[Traced] = []

    def read(self, *, final: bool = False) -> list[Traced]:
        """The new messages (also appended to :attr:`messages`). The last block may still
        be being written: it waits for the next separator unless ``final``."""
        if self.path.exists():
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
            self._offset += len(data)
            self._rest += data.decode("utf-8", errors="replace").replace("\r\n", "\n")
        parts = _BLOCK.split(self._rest)  # [before, stamp, block, stamp, block, ...]
        if len(parts) == 1 and not final:
            return []
        complete = len(parts) if final else len(parts) - 2
        new = [_parse(parts[i], parts[i + 1]) for i in range(1, complete, 2)]
        self._rest = "" if final else "".join(_unsplit(parts[max(complete, 1) :]))
        found = [m for m in new if m is not None]
        self.messages += found
        return found


def _unsplit(parts: list[str]) -> Iterable[str]:
    """Rebuild the unparsed tail: stamp/block pairs back into their text."""
    for i in range(0, len(parts) - 1, 2):
        yield f"{'-' * 47} {parts[i]}\n{parts[i + 1]}"


def invites(messages: Iterable[Traced]) -> dict[str, set[str]]:
    """Number dialed -> the Call-IDs of the INVITEs sipp received for it (a retransmission
    has its original's Call-ID)."""
    found: dict[str, set[str]] = {}
    for m in messages:
        if m.received and m.method == "INVITE":
            found.setdefault(m.user, set()).add(m.call_id)
    return found


def ended(messages: Iterable[Traced]) -> set[str]:
    """Call-IDs of the calls we hung up (BYE) or called off (CANCEL)."""
    return {m.call_id for m in messages if m.received and m.method in ("BYE", "CANCEL")}


def held(messages: list[Traced], via_port: int) -> set[str]:
    """Call-IDs of the calls from ``via_port`` that sipp answered (our ACK came) and that
    are still up (no BYE yet)."""
    acked = {m.call_id for m in messages if m.received and m.method == "ACK"}
    mine = {m.call_id for m in messages if m.received and m.via_port == via_port}
    return (acked & mine) - ended(messages)
