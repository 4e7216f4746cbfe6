"""HTTP digest authentication for SIP (RFC 3261 §22, RFC 2617): MD5 with qop=auth.

MD5 here is what the protocol mandates for interoperability, not our choice of hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from voiceotp.delivery.dialer.sip.message import SipMessage
from voiceotp.errors import DigestError as DigestError  # re-exported: defined in voiceotp.errors

__all__ = [
    "Challenge",
    "DigestError",
    "answer_challenge",
    "authorization",
    "digest_response",
    "parse_challenge",
]

_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` / ``Proxy-Authenticate`` Digest challenge."""

    realm: str
    nonce: str
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    algorithm: str = "MD5"
    stale: bool = False


def parse_challenge(value: str) -> Challenge:
    """Parse a Digest challenge header value."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise DigestError(f"unsupported auth scheme {scheme!r}")
    params = {m.group(1).lower(): _unquote(m.group(2)) for m in _PARAM.finditer(rest)}
    algorithm = params.get("algorithm", "MD5")
    if algorithm.upper() != "MD5":
        raise DigestError(f"unsupported digest algorithm {algorithm!r}")
    if "realm" not in params or "nonce" not in params:
        raise DigestError("challenge without realm or nonce")
    qop = tuple(q.strip() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=params["realm"],
        nonce=params["nonce"],
        qop=qop,
        opaque=params.get("opaque"),
        algorithm=algorithm,
        stale=params.get("stale", "").lower() == "true",
    )


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def digest_response(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    nc: int = 1,
    cnonce: str = "",
) -> str:
    """The ``response`` value: with qop=auth when offered, RFC 2069 style otherwise."""
    ha1 = _md5(f"{username}:{challenge.realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    if "auth" in challenge.qop:
        return _md5(f"{ha1}:{challenge.nonce}:{nc:08x}:{cnonce}:auth:{ha2}")
    if challenge.qop:
        raise DigestError(f"unsupported qop {challenge.qop!r} (only auth)")
    return _md5(f"{ha1}:{challenge.nonce}:{ha2}")


def authorization(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """The ``Authorization`` / ``Proxy-Authorization`` header value answering ``challenge``."""
    cnonce = cnonce if cnonce is not None else secrets.token_hex(8)
    response = digest_response(
        challenge,
        method=method,
        uri=uri,
        username=username,
        password=password,
        nc=nc,
        cnonce=cnonce,
    )
    fields = [
        f'username="{username}"',
        f'realm="{challenge.realm}"',
        f'nonce="{challenge.nonce}"',
        f'uri="{uri}"',
        f'response="{response}"',
        "algorithm=MD5",
    ]
    if "auth" in challenge.qop:
        fields += ["qop=auth", f"nc={nc:08x}", f'cnonce="{cnonce}"']
    if challenge.opaque is not None:
        fields.append(f'opaque="{challenge.opaque}"')
    return "Digest " + ", ".join(fields)


def answer_challenge(
    response: SipMessage, request: SipMessage, *, username: str, password: str
) -> tuple[str, str] | None:
    """The (header, value) answering a 401/407 to ``request``; ``None`` if we cannot."""
    if not password:
        return None
    if response.status == 407:
        challenge_header, answer_header = "Proxy-Authenticate", "Proxy-Authorization"
    else:
        challenge_header, answer_header = "WWW-Authenticate", "Authorization"
    for value in response.headers:
        if value[0].lower() != challenge_header.lower():
            continue
        try:
            challenge = parse_challenge(value[1])
            return answer_header, authorization(
                challenge,
                method=request.method,
                uri=request.uri,
                username=username,
                password=password,
            )
        except DigestError:
            continue  # another challenge of the same response may suit us
    return None
