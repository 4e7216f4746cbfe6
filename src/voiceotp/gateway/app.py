"""``create_app(settings)``: the Starlette application of the gateway.

No import-time singletons: the store, caches and background tasks are made in the
lifespan and hang off ``app.state.gateway``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from voiceotp.delivery.metrics import DeliveryMetrics
from voiceotp.gateway.api.admin import admin_routes
from voiceotp.gateway.api.voice import VOICE_PATH, VoiceEndpoint
from voiceotp.gateway.observe import METRICS_CONTENT_TYPE, Observer, flush_access_log
from voiceotp.gateway.processes import claim_api_slot
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.submit.service import Clock, Gateway
from voiceotp.gateway.submit.shared import make_shared_limits
from voiceotp.protocol.notice import NOTICE_PATH
from voiceotp.store import Store, make_store
from voiceotp.store.migrate import upgrade_async

if TYPE_CHECKING:
    from voiceotp.delivery.runtime import DeliveryRuntime

    DeliveryFactory = Callable[..., DeliveryRuntime]

log = logging.getLogger(__name__)
IHUYI_PATHS = frozenset({VOICE_PATH, NOTICE_PATH})


class GatewayApp(Starlette):
    """Starlette, except that ihuyi calls go straight to their raw ASGI endpoint.

    They are nearly all the traffic, and the middleware stack and router (two send
    wrappers, a route scan) cost more per request than the endpoint's own parsing. Every
    method goes there: other methods get a 405 *with an ihuyi document*. Other paths take
    the normal route; the voice Route stays registered (all methods), so both ways answer
    alike.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._voice = VoiceEndpoint()
        # Starlette would answer ``/path/`` with a 307 to an absolute URL built from the
        # client's Host header: an open redirect. Paths are exact here.
        self.router.redirect_slashes = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in IHUYI_PATHS:
            scope["app"] = self
            await self._voice(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
    tune_gc: bool = False,
    delivery: DeliveryFactory | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The gateway app. ``store`` and ``clock`` are injectable (tests, embedding).

    ``tune_gc`` (for a dedicated server process, as ``voiceotp serve`` runs it): after
    start-up, move every object alive so far out of the cyclic GC's sight and collect
    less often; full collections over the import-time heap otherwise stall the loop
    for tens of milliseconds (the p99 latency).

    ``delivery`` (e.g. ``DeliveryRuntime``, as ``voiceotp serve`` passes it) runs the
    dialer worker, notifier and sweep in this process; without it the app only accepts.

    ``extra_routes`` are served beside the API (``voiceotp serve`` passes the operator
    console's); they reach the running gateway as ``request.app.state.gateway``.
    """

    # A malformed multipart body is the client's problem, answered like any bad request;
    # python-multipart's per-body warning would be a bare stderr line a client controls.
    logging.getLogger("python_multipart").setLevel(logging.ERROR)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if migrate:
            await upgrade_async(settings.effective_database_url)
        the_store = store or make_store(settings)
        await the_store.open()
        try:
            api_lock = await claim_api_slot(the_store, settings)
        except BaseException:
            await the_store.close()
            raise
        shared = make_shared_limits(settings)
        observer = Observer()
        runtime = None
        if delivery is not None:
            runtime = delivery(settings, the_store, registry=observer.registry)
        metrics = runtime.metrics if runtime is not None else None
        metrics = metrics or DeliveryMetrics(observer.registry, the_store)
        observer.refreshers.append(metrics.refresh)
        gateway = Gateway(
            settings,
            the_store,
            clock=clock or time.time,
            shared=shared,
            observer=observer,
            on_accepted=runtime.accepted if runtime is not None else None,
        )
        await gateway.start()
        app.state.gateway = gateway
        app.state.delivery = runtime
        if runtime is not None:
            await runtime.start(on_call_finished=gateway.abuse.call_finished)
        if tune_gc:
            gc.collect()
            gc.freeze()
            gc.set_threshold(10_000, 50, 100)
        watcher = asyncio.create_task(gateway.directory.watch(), name="policy-watch")
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            if runtime is not None:
                await runtime.stop()  # calls in flight: delivery.stop_grace_s, then hung up
            await gateway.fraud.stop()
            await the_store.close()
            await api_lock.release()
            if shared.client is not None:
                await shared.client.aclose()
            flush_access_log()

    routes = [
        Route(VOICE_PATH, VoiceEndpoint()),  # every method: the endpoint answers 405 itself
        Route(NOTICE_PATH, VoiceEndpoint()),  # voice notifications (docs/notices.md)
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *admin_routes(),
        *extra_routes,
    ]
    return GatewayApp(routes=routes, lifespan=lifespan, exception_handlers={500: internal_error})


async def healthz(request: Request) -> Response:
    """200 when the store answers, 503 otherwise (for load balancers and orchestrators)."""
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    if gateway is None:
        return Response("starting\n", status_code=503, media_type="text/plain")
    try:
        await gateway.store.policy_version()
    except Exception:
        log.exception("health check: the store does not answer")
        return Response("store unavailable\n", status_code=503, media_type="text/plain")
    return Response("ok\n", media_type="text/plain")


async def internal_error(request: Request, exc: Exception) -> Response:
    """Outside the ihuyi path (which answers code 0 itself) a plain 500."""
    return Response("internal error\n", status_code=500, media_type="text/plain")


async def metrics(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    await gateway.observer.refresh()  # gauges read from the store (delivery backlog)
    return Response(gateway.observer.render(), headers={"content-type": METRICS_CONTENT_TYPE})
