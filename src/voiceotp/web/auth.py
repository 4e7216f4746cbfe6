"""Sign-in, server-side sessions and CSRF for one kind of web user (operator, customer).

The cookie holds a random token; the store keeps only its SHA-256, so a copy of the
database opens no session. A session ends when revoked (sign-out), idle for ``idle_s`` or
older than ``absolute_s``. Each session has a CSRF token: every unsafe request must carry
it (form field ``csrf_token`` or header ``X-CSRF-Token``, which htmx sends from the page's
meta tag) and must not come from another site (``Origin`` / ``Sec-Fetch-Site``).
Sign-in failures are counted per login and per client IP; too many lock both for a while.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import pyotp
from starlette.requests import Request
from starlette.responses import Response

from voiceotp.gateway.clientip import client_ip
from voiceotp.gateway.submit.service import Gateway
from voiceotp.store import web as db
from voiceotp.store.web import WebSession, WebUser
from voiceotp.web.passwords import verify_password

__all__ = ["AuthPolicy", "SignIn", "WebAuth", "abuse_key", "is_https", "request_ip"]

CSRF_FIELD, CSRF_HEADER = "csrf_token", "x-csrf-token"
TOUCH_EVERY_S = 30.0  # seen_at is written at most this often (a write per page is waste)


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    kind: str  # operator | customer
    cookie: str
    path: str  # the cookie's path: the face's mount
    idle_s: float = 30 * 60
    absolute_s: float = 12 * 3600
    max_failures: int = 5
    failure_window_s: float = 15 * 60
    lock_s: float = 15 * 60


class SignIn(StrEnum):
    OK = "ok"
    BAD = "bad"  # unknown login or wrong password (one answer for both)
    LOCKED = "locked"
    NEED_TOTP = "need_totp"


def request_ip(request: Request) -> str:
    gateway: Gateway = request.app.state.gateway
    peer = request.client.host if request.client else None
    address = client_ip(
        peer, request.headers.get("x-forwarded-for"), gateway.settings.trusted_proxies
    )
    return str(address) if address else ""


def abuse_key(address: str) -> str:
    """The client an abuse limit counts for ``address``: an IPv4 address itself (also
    when IPv4-mapped), an IPv6 address its /64 — one client holds a whole /64, and
    counting single addresses would let it start afresh from each of its 2^64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def is_https(request: Request) -> bool:
    """The browser's connection is https: ours, or a trusted proxy's (X-Forwarded-Proto)."""
    if request.url.scheme == "https":
        return True
    gateway: Gateway = request.app.state.gateway
    try:
        peer = ipaddress.ip_address(request.client.host) if request.client else None
    except ValueError:
        return False
    trusted = peer is not None and any(peer in net for net in gateway.settings.trusted_proxies)
    return trusted and request.headers.get("x-forwarded-proto", "").lower() == "https"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebAuth:
    """Sessions of one user kind over the gateway's store (``request.app.state.gateway``)."""

    def __init__(self, policy: AuthPolicy, clock: Callable[[], float] = time.time) -> None:
        self.policy = policy
        self.clock = clock

    async def current(self, request: Request) -> WebSession | None:
        """The request's live session (timeouts checked, ``seen_at`` kept fresh)."""
        token = request.cookies.get(self.policy.cookie)
        if not token or len(token) > 128:
            return None
        store = _gateway(request).store
        session = await db.get_session(store, token_hash=token_hash(token))
        now = self.clock()
        if session is None or session.user.kind != self.policy.kind or session.user.disabled:
            return None
        if now - session.seen_at > self.policy.idle_s:
            return None
        if now - session.created_at > self.policy.absolute_s:
            return None
        if now - session.seen_at > TOUCH_EVERY_S:
            await db.touch_session(store, token_hash=session.token_hash, now=now)
        return session

    async def sign_in(
        self, request: Request, login: str, password: str, otp: str = ""
    ) -> tuple[SignIn, WebUser | None]:
        """Check the credentials with throttling; the user when they are right."""
        store, now = _gateway(request).store, self.clock()
        keys = (f"{self.policy.kind}:{login.lower()[:64]}", f"ip:{abuse_key(request_ip(request))}")
        for key in keys:
            if await db.signin_locked_until(store, key=key) > now:
                return SignIn.LOCKED, None
        user = await db.get_web_user(store, kind=self.policy.kind, login=login[:64])
        # argon2 takes tens of milliseconds of CPU: off the event loop (Submits go on).
        ok = await asyncio.to_thread(
            verify_password, user.password_hash if user else None, password
        )
        if ok and user is not None and not user.disabled:
            if user.totp_secret and not otp:
                return SignIn.NEED_TOTP, None
            if not user.totp_secret or self._totp_ok(request, user.totp_secret, otp):
                for key in keys:
                    await db.clear_signin_failures(store, key=key)
                return SignIn.OK, user
        locked = 0.0
        for key in keys:
            until = await db.record_signin_failure(
                store,
                key=key,
                now=now,
                window_s=self.policy.failure_window_s,
                limit=self.policy.max_failures,
                lock_s=self.policy.lock_s,
            )
            locked = max(locked, until)
        return (SignIn.LOCKED if locked > now else SignIn.BAD), None

    async def reauth(self, request: Request, user: WebUser, password: str) -> bool:
        """The signed-in user's password, asked again before a sensitive change, with the
        sign-in's throttling of the login (a taken-over session cannot guess on)."""
        store, now = _gateway(request).store, self.clock()
        key = f"{self.policy.kind}:{user.login.lower()[:64]}"
        if await db.signin_locked_until(store, key=key) > now:
            return False
        if await asyncio.to_thread(verify_password, user.password_hash, password):
            return True
        await db.record_signin_failure(
            store,
            key=key,
            now=now,
            window_s=self.policy.failure_window_s,
            limit=self.policy.max_failures,
            lock_s=self.policy.lock_s,
        )
        return False

    def _totp_ok(self, request: Request, sealed: str, otp: str) -> bool:
        secret = _gateway(request).keybox.open(sealed)
        return pyotp.TOTP(secret).verify(otp.strip(), valid_window=1)

    async def start(self, request: Request, response: Response, user: WebUser) -> None:
        """A new session for ``user``: stored, and its cookie set on ``response``."""
        token, store, now = secrets.token_urlsafe(32), _gateway(request).store, self.clock()
        await db.prune_sessions(store, created_before=now - self.policy.absolute_s)
        await db.create_session(
            store,
            token_hash=token_hash(token),
            user_id=user.id,
            csrf=secrets.token_urlsafe(32),
            ip=request_ip(request),
            now=now,
        )
        response.set_cookie(
            self.policy.cookie,
            token,
            max_age=int(self.policy.absolute_s),
            path=self.policy.path,
            httponly=True,
            samesite="strict",
            secure=is_https(request),
        )

    async def end(self, request: Request, response: Response) -> None:
        token = request.cookies.get(self.policy.cookie)
        if token:
            await db.revoke_session(_gateway(request).store, token_hash=token_hash(token))
        response.delete_cookie(self.policy.cookie, path=self.policy.path)


def same_origin(request: Request) -> bool:
    """False for a request a browser says came from another site."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    # The host only: behind a TLS-terminating proxy the scheme seen here is http.
    return urlsplit(origin).netloc == request.headers.get("host", "")


def csrf_ok(request: Request, session: WebSession, form_token: str | None) -> bool:
    """The session's CSRF token came with this unsafe request, from this site."""
    sent = request.headers.get(CSRF_HEADER) or form_token or ""
    return same_origin(request) and hmac.compare_digest(sent.encode(), session.csrf.encode())


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway
