"""FakeIhuyi: an in-memory ihuyi voice endpoint for tests — no network, no money.

It checks accounts and (dynamic) passwords with the protocol core, validates numbers and
codes like the real service, answers scripted codes per number, adds latency, loses
responses after accepting ("accepted but the response was lost"), optionally dedupes
exact dynamic-password replays (like the voiceotp gateway), keeps a balance per account
and counts everything. Plug it into a client with ``transport()`` /
``async_transport()``, or serve it over HTTP with ``serve()`` (see server.py).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from voiceotp.client.transports.asgi import ASGIApp
from voiceotp.client.transports.memory import AsyncMemoryTransport, MemoryReply, MemoryTransport
from voiceotp.errors import ConnectError
from voiceotp.protocol import (
    Code,
    GetNumResult,
    IncomingRequest,
    Method,
    QueryResult,
    Result,
    SubmitResult,
    Verdict,
    decode_request,
    is_valid_mobile,
    message_for,
    parse_urlencoded,
    render_result,
    verify_password,
)
from voiceotp.testing.asgi import fake_asgi_app
from voiceotp.testing.fakeverify import FakeVerify
from voiceotp.testing.server import FakeServer

DEFAULT_ACCOUNT = "V12345678"
DEFAULT_APIKEY = "0123456789abcdef0123456789abcdef"
_CONTENT = re.compile(r"[0-9]{4,6}")


@dataclass
class FakeAccount:
    apikey: str
    balance: int = 100
    frozen: bool = False
    require_dynamic: bool = False


@dataclass(frozen=True, slots=True)
class FakeCall:
    """One accepted Submit."""

    voiceid: str
    account: str
    mobile: str
    content: str
    time: str | None
    accepted_at: float


class FakeIhuyi:
    """An in-memory ihuyi endpoint; thread-safe, so it can be served while a test reads it.

    ``accounts`` maps account -> APIKEY (default: ``DEFAULT_ACCOUNT``/``DEFAULT_APIKEY``).
    ``dedupe=True`` answers an exact dynamic-password replay with the original voiceid
    and places no second call, like the voiceotp gateway (protocol reference §4).

    What a test reads afterwards:

    - ``requests`` (int): how many requests reached the fake, any method, any outcome
      (a connection refused by ``refuse_connections`` never reaches it);
    - ``request_log`` (list of :class:`~voiceotp.protocol.IncomingRequest`): those same
      requests, oldest first, decoded (``.method``, ``.format``, ``.get(name)``), so
      ``len(fake.request_log) == fake.requests``;
    - ``received[mobile]``: Submits per number, any outcome; ``submits[mobile]``: accepted
      ones; ``calls``: the accepted calls (:class:`FakeCall`); ``statuses``: what Query
      answers per voiceid (default ANSWERED).
    """

    def __init__(
        self,
        accounts: Mapping[str, str] | None = None,
        *,
        balance: int = 100,
        dedupe: bool = False,
        latency: float = 0.0,
        namespace: str | None = None,
        window_s: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.accounts: dict[str, FakeAccount] = {}
        for account, apikey in (accounts or {DEFAULT_ACCOUNT: DEFAULT_APIKEY}).items():
            self.add_account(account, apikey, balance=balance)
        self.dedupe, self.latency, self.namespace = dedupe, latency, namespace
        self.window_s, self.clock = window_s, clock
        self.calls: list[FakeCall] = []
        self.submits: Counter[str] = Counter()  # accepted Submits per number
        self.received: Counter[str] = Counter()  # Submit requests per number, any outcome
        self.requests = 0  # every request that reached the fake (== len(request_log))
        self.request_log: list[IncomingRequest] = []  # those requests, oldest first
        self.statuses: dict[str, str] = {}
        self._scripts: defaultdict[str, deque[int]] = defaultdict(deque)
        self._losses: Counter[str] = Counter()
        self._refusals = 0
        self._replays: dict[tuple[str, str, str, str], str] = {}
        self._ids = itertools.count(60495654)
        self._lock = threading.Lock()
        self.verification = FakeVerify(self)  # Verify/Check: see spoken_code()

    # ---- scripting ------------------------------------------------------------------

    def add_account(self, account: str, apikey: str, *, balance: int = 100) -> FakeAccount:
        self.accounts[account] = FakeAccount(apikey, balance)
        return self.accounts[account]

    def script(self, mobile: str, *codes: int) -> None:
        """Answer the next valid Submits to ``mobile`` with ``codes`` in turn (2 = accept)."""
        with self._lock:
            self._scripts[mobile].extend(codes)

    def lose_responses(self, mobile: str, count: int = 1) -> None:
        """Accept the next ``count`` Submits to ``mobile``, then drop the connection."""
        with self._lock:
            self._losses[mobile] += count

    def refuse_connections(self, count: int = 1) -> None:
        """Refuse the next ``count`` requests before they are sent (in-memory transports)."""
        with self._lock:
            self._refusals += count

    def spoken_code(self, mobile: str | None = None, *, voiceid: str | None = None) -> str:
        """The code a Verify made up and "spoke": the latest to ``mobile``, or that of
        call ``voiceid`` (KeyError when there is none)."""
        with self._lock:
            if voiceid is not None:
                return self.verification.by_voiceid[voiceid].code
            latest = [c for c in self.verification.latest.values() if c.mobile == mobile]
            if not latest:
                raise KeyError(f"no code was spoken to {mobile}")
            return max(latest, key=lambda c: c.created_at).code

    def record_call(
        self, voiceid: str, account: str, mobile: str, content: str, time: str | None
    ) -> None:
        """An accepted call (Submit, or Verify with the code it made up)."""
        self.calls.append(FakeCall(voiceid, account, mobile, content, time, self.clock()))
        self.submits[mobile] += 1

    def balance_of(self, account: str = DEFAULT_ACCOUNT) -> int:
        return self.accounts[account].balance

    # ---- plugging in ----------------------------------------------------------------

    def transport(self) -> MemoryTransport:
        """A blocking in-memory transport for ``Client(transport=...)``."""
        return MemoryTransport(self.handle_post)

    def async_transport(self) -> AsyncMemoryTransport:
        """An async in-memory transport for ``AsyncClient(transport=...)``."""
        return AsyncMemoryTransport(self.handle_post)

    def asgi_app(self) -> ASGIApp:
        """This fake as an ASGI application (for ``ASGITransport`` or an ASGI server)."""
        return fake_asgi_app(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
        """An HTTP server for this fake (use ``with`` or ``async with``)."""
        return FakeServer(self, host, port)

    def handle_post(self, url: str, form: Mapping[str, str]) -> MemoryReply:
        """The in-memory transports' handler: query from ``url``, body from ``form``."""
        with self._lock:
            if self._refusals > 0:
                self._refusals -= 1
                raise ConnectError("connection refused (scripted by FakeIhuyi)")
        return self.handle(parse_urlencoded(urlsplit(url).query), form.items())

    def handle(
        self, query: Iterable[tuple[str, str]], form: Iterable[tuple[str, str]] = ()
    ) -> MemoryReply:
        """Answer one request given its query and form pairs."""
        request = decode_request(query, form)
        with self._lock:
            self.requests += 1
            self.request_log.append(request)
            result, dropped = self._dispatch(request)
        body = render_result(result, request.format, namespace=self.namespace)
        return MemoryReply(body, self.latency, dropped)

    # ---- the endpoint ---------------------------------------------------------------

    def _dispatch(self, request: IncomingRequest) -> tuple[Result, bool]:
        if request.method is Method.GETNUM:
            return self._getnum(request), False
        if request.method is Method.QUERY:
            return self._query(request), False
        if request.method is Method.VERIFY:
            return self.verification.verify(request)
        if request.method is Method.CHECK:
            return self.verification.check(request), False
        return self._submit(request)

    def _auth(self, request: IncomingRequest, method: Method, **submit: str) -> Code | None:
        account, password = request.get("account"), request.get("password")
        if not account:
            return Code.ACCOUNT_EMPTY
        if not password:
            return Code.PASSWORD_EMPTY
        if method is Method.SUBMIT and not submit["mobile"]:
            return Code.MOBILE_EMPTY
        if method is Method.SUBMIT and not submit["content"]:
            return Code.CONTENT_EMPTY
        found = self.accounts.get(account)
        if found is None:
            return Code.AUTH_FAILED
        verdict = verify_password(
            password,
            account=account,
            apikey=found.apikey,
            time=request.get("time") or None,
            now=self.clock(),
            window_s=self.window_s,
            allow_static=not found.require_dynamic,
            **submit,
        )
        if verdict is Verdict.WRONG:
            return Code.AUTH_FAILED
        if verdict is Verdict.EXPIRED:
            return Code.PASSWORD_EXPIRED
        return Code.ACCOUNT_FROZEN if found.frozen else None

    def _submit(self, request: IncomingRequest) -> tuple[SubmitResult, bool]:
        mobile, content = request.get("mobile"), request.get("content")
        self.received[mobile] += 1
        code = self._auth(request, Method.SUBMIT, mobile=mobile, content=content)
        if code is None and not is_valid_mobile(mobile):
            code = Code.MOBILE_INVALID
        if code is None and _CONTENT.fullmatch(content) is None:
            code = Code.CONTENT_INVALID
        if code is not None:
            return _failed(code), False
        key = (request.get("account"), mobile, content, request.get("time"))
        if self.dedupe and self._is_dynamic(request) and key in self._replays:
            return SubmitResult(2, message_for(2), self._replays[key]), False
        scripted = self._scripts[mobile].popleft() if self._scripts[mobile] else 2
        if scripted != 2:
            return _failed(scripted), False
        return self._accept(request, key)

    def _accept(
        self, request: IncomingRequest, key: tuple[str, str, str, str]
    ) -> tuple[SubmitResult, bool]:
        account = self.accounts[key[0]]
        if account.balance <= 0:
            return _failed(Code.BALANCE_LOW), False
        account.balance -= 1
        voiceid = str(next(self._ids))
        self.record_call(voiceid, key[0], key[1], key[2], key[3] or None)
        if self._is_dynamic(request):
            self._replays[key] = voiceid
        dropped = self._losses[key[1]] > 0
        if dropped:
            self._losses[key[1]] -= 1
        return SubmitResult(2, message_for(2), voiceid), dropped

    def _is_dynamic(self, request: IncomingRequest) -> bool:
        """An authenticated request whose password is not the bare APIKEY."""
        apikey = self.accounts[request.get("account")].apikey
        return bool(request.get("time")) and request.get("password").lower() != apikey.lower()

    def _getnum(self, request: IncomingRequest) -> GetNumResult:
        code = self._auth(request, Method.GETNUM)
        if code is not None:
            return GetNumResult(code, message_for(code, Method.GETNUM), 0)
        balance = self.accounts[request.get("account")].balance
        return GetNumResult(2, message_for(2, Method.GETNUM), balance)

    def _query(self, request: IncomingRequest) -> QueryResult:
        code = self._auth(request, Method.QUERY)
        if code is not None:
            return QueryResult(code, message_for(code, Method.QUERY))
        voiceid = request.get("voiceid")
        call = next((c for c in self.calls if c.voiceid == voiceid), None)
        if call is None or call.account != request.get("account"):
            return QueryResult(Code.VOICEID_UNKNOWN, message_for(Code.VOICEID_UNKNOWN))
        status = self.statuses.get(voiceid, "ANSWERED")
        sip = 200 if status == "ANSWERED" else 486 if status == "BUSY" else 0
        when, made = int(call.accepted_at), self.verification.by_voiceid.get(voiceid)
        verify = ("", 0) if made is None else (made.status(self.clock()), int(made.verified_at))
        return QueryResult(
            2,
            message_for(2, Method.QUERY),
            voiceid,
            status,
            sip,
            when,
            when,
            when + 12,
            12,
            1,
            *verify,
            when if sip else 0,  # ring_time: it rang unless it failed outright
        )


def _failed(code: int) -> SubmitResult:
    return SubmitResult(code, message_for(code), "0")
