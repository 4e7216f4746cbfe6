"""The messages of one outbound call leg, sans I/O (RFC 3261 §8.1, §9.1, §12, §15, §17.1.1.3).

:class:`CallLeg` holds the dialog state (Call-ID, tags, CSeq, route set, remote target)
and builds every request the UAC sends; the async flow in ``call.py`` only decides when.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from voiceotp.delivery.dialer.sip.message import (
    SipMessage,
    header_params,
    new_branch,
    new_tag,
    uri_of,
)

__all__ = ["ALLOW", "CallLeg", "response_to", "stray_answer", "via_value"]

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
_CREDENTIALS = ("authorization", "proxy-authorization")


@dataclass
class CallLeg:
    """State of one call leg placed by us (the UAC)."""

    request_uri: str
    from_uri: str
    contact_uri: str
    via_host: str  # "host:port" we receive SIP on
    user_agent: str = "voiceotp"
    via_transport: str = "UDP"  # TCP, TLS: the Via's sent-protocol (RFC 3261 §18.2.1)
    call_id: str = field(default_factory=lambda: secrets.token_hex(12))
    from_tag: str = field(default_factory=new_tag)
    cseq: int = 0
    to_tag: str = ""
    remote_target: str = ""
    route_set: list[str] = field(default_factory=list)
    target_uri: str = ""  # the Request-URI once a 3xx redirected us ("": request_uri)

    def invite(self, sdp: bytes, *, auth: tuple[str, str] | None = None) -> SipMessage:
        """A new INVITE (new branch, next CSeq); ``auth`` is (header name, value)."""
        self.cseq += 1
        headers = self._common(new_branch(), "INVITE", to_tag="")
        headers += [
            ("Contact", f"<{self.contact_uri}>"),
            ("Allow", ALLOW),
            ("Content-Type", "application/sdp"),
        ]
        if auth is not None:
            headers.append(auth)
        uri = self.target_uri or self.request_uri  # To stays the original (§8.1.3.4)
        return SipMessage(method="INVITE", uri=uri, headers=headers, body=sdp)

    def cancel(self, invite: SipMessage) -> SipMessage:
        """CANCEL of ``invite``: same branch, Request-URI, Call-ID, From, To, CSeq number."""
        headers = self._common(invite.branch, "CANCEL", to_tag="", cseq=invite.cseq[0])
        return SipMessage(method="CANCEL", uri=invite.uri, headers=headers)

    def ack_failure(self, invite: SipMessage, response: SipMessage) -> SipMessage:
        """ACK of a non-2xx final: part of the INVITE transaction (same branch and URI)."""
        headers = self._common(invite.branch, "ACK", to_tag="", cseq=invite.cseq[0])
        headers = [("To", response.get("To")) if k == "To" else (k, v) for k, v in headers]
        return SipMessage(method="ACK", uri=invite.uri, headers=headers)

    def confirm(self, response: SipMessage) -> None:
        """Enter the dialog from a 2xx: remote tag, target and route set (§12.1.2)."""
        self.to_tag = header_params(response.get("To")).get("tag", "")
        contact = response.get("Contact")
        self.remote_target = uri_of(contact) if contact else self.target_uri or self.request_uri
        self.route_set = list(reversed(response.get_all("Record-Route")))

    def ack_success(self, invite: SipMessage) -> SipMessage:
        """ACK of a 2xx: a new transaction sent along the dialog's route (§13.2.2.4).

        It carries the INVITE's credentials: a proxy that checks ACKs would otherwise
        never confirm the call and the callee would resend its 2xx until it gives up.
        """
        headers = self._common(new_branch(), "ACK", to_tag=self.to_tag, cseq=invite.cseq[0])
        headers += [(k, v) for k, v in invite.headers if k.lower() in _CREDENTIALS]
        return SipMessage(method="ACK", uri=self.remote_target, headers=headers)

    def bye(self, reason: str = "", *, auth: tuple[str, str] | None = None) -> SipMessage:
        """An in-dialog BYE; ``reason`` is a ``Reason`` header value (RFC 3326) or empty."""
        self.cseq += 1
        headers = self._common(new_branch(), "BYE", to_tag=self.to_tag)
        if reason:
            headers.append(("Reason", reason))
        if auth is not None:
            headers.append(auth)
        return SipMessage(method="BYE", uri=self.remote_target, headers=headers)

    def _common(
        self, branch: str, method: str, *, to_tag: str, cseq: int | None = None
    ) -> list[tuple[str, str]]:
        to_value = f"<{self.request_uri}>" + (f";tag={to_tag}" if to_tag else "")
        headers = [
            ("Via", via_value(self.via_transport, self.via_host, branch)),
            ("Max-Forwards", "70"),
            ("From", f"<{self.from_uri}>;tag={self.from_tag}"),
            ("To", to_value),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq if cseq is None else cseq} {method}"),
        ]
        headers += [("Route", route) for route in self.route_set]
        headers.append(("User-Agent", self.user_agent))
        return headers


def via_value(transport: str, sent_by: str, branch: str) -> str:
    """Our Via: ``rport`` (RFC 3581) over UDP, ``alias`` (RFC 5923: send your requests
    on this connection) over TCP and TLS."""
    reuse = "rport" if transport == "UDP" else "alias"
    return f"SIP/2.0/{transport} {sent_by};branch={branch};{reuse}"


def response_to(request: SipMessage, status: int, reason: str) -> SipMessage:
    """A response copying Via, From, To, Call-ID and CSeq of ``request`` (§8.2.6.2).

    A request outside any dialog (a trunk's OPTIONS keep-alive) has no To tag: the
    response adds one, as §8.2.6.2 requires of a UAS.
    """
    names = {"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"}
    headers = [(k, v) for k, v in request.headers if k.lower() in names]
    headers = [
        (k, f"{v};tag={new_tag()}")
        if k.lower() in ("to", "t") and "tag" not in header_params(v)
        else (k, v)
        for k, v in headers
    ]
    if request.method == "OPTIONS":
        headers += [("Allow", ALLOW), ("Accept", "application/sdp")]
    return SipMessage(status=status, reason=reason, headers=headers)


def stray_answer(method: str) -> tuple[int, str]:
    """Status for a request of the callee's side that our flow does not expect (not ACK)."""
    if method in ("BYE", "OPTIONS"):  # a BYE before or after our media phase
        return 200, "OK"
    if method == "INVITE":  # a re-INVITE: the session stays as it is (§14.2); the call lives
        return 488, "Not Acceptable Here"
    return 501, "Not Implemented"  # UPDATE, REFER...: not in our Allow header
