"""The WSDLs of ``/webservice/voice.php`` (§8) and of the notification product
(``/vm/webservice/voice.php``), and the service address each names.

The two differ in their service's name (``voice``, ``voiceNotice``), their address, and
the notice's Submit, which has ``templateid`` (ihuyi's 模板变量 mode) after ``time``.

The address is never taken from the request's Host (or X-Forwarded-Host): a client
could make the WSDL point SOAP calls, with their APIKEYs, at a host of its choosing (and
a cache could hand that WSDL to others). It is ``public_url`` when configured, else the
address the connection reached — right for a gateway reached directly, an internal
address behind a proxy (set ``public_url`` there).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from string import Template
from xml.sax.saxutils import escape

from starlette.types import Scope

from voiceotp.gateway.settings import Settings


@lru_cache(maxsize=1)
def _template() -> Template:
    return Template(Path(__file__).with_name("voice.wsdl").read_text(encoding="utf-8"))


CODE_SERVICE = "voice"
NOTICE_SERVICE = "voiceNotice"
_TEMPLATE_ID = (
    '\n            <s:element minOccurs="0" maxOccurs="1" name="templateid" type="s:string"/>'
)


def render_wsdl(namespace: str, location: str, *, notice: bool = False) -> bytes:
    """The WSDL document of the code product (or, ``notice``, of the notification
    product), with the service at ``location``."""
    return (
        _template()
        .substitute(
            namespace=escape(namespace, {'"': "&quot;"}),
            location=escape(location),
            service=NOTICE_SERVICE if notice else CODE_SERVICE,
            submit_extra=_TEMPLATE_ID if notice else "",
        )
        .encode()
    )


def wants_wsdl(query: list[tuple[str, str]]) -> bool:
    """``?wsdl`` in any case (``?WSDL``, ``?wsdl=``...)."""
    return any(name.lower() == "wsdl" for name, _ in query)


def service_location(scope: Scope, settings: Settings, path: str | None = None) -> str:
    """The endpoint's absolute URL: ``public_url`` + path (the request's, unless given),
    else the connection's address."""
    path = scope["path"] if path is None else path
    if settings.public_url:
        return settings.public_url.rstrip("/") + path
    server = scope.get("server")
    if not server or "/" in server[0]:  # no address, or a unix socket's path
        server = (settings.host, settings.port)
    scheme = "https" if scope.get("scheme") == "https" else "http"
    return f"{scheme}://{_authority(server[0], server[1], scheme)}{path}"


def _authority(host: str, port: int | None, scheme: str) -> str:
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a name (the configured host, or a test transport's)
    default = 443 if scheme == "https" else 80
    return host if port in (None, default) else f"{host}:{port}"
