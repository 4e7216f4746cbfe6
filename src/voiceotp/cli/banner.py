"""What ``voiceotp serve`` prints once it serves: where to reach it and how it runs.

Secrets stay out of it: the admin token is shown only when it is the well-known
development token (then it is no secret), database and Redis URLs lose their passwords.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from voiceotp.cli.listen import base_url, url_host
from voiceotp.gateway.settings import DEV_ADMIN_TOKEN, DEV_SECRET_KEY, Settings

__all__ = ["banner_lines", "masked_url"]


def banner_lines(
    settings: Settings, port: int, environ: Mapping[str, str] | None = None
) -> list[str]:
    """The start-up banner, one string per line."""
    env = os.environ if environ is None else environ
    base = base_url(settings.host, port)
    lines = [
        f"voiceotp gateway running on {base} (Press CTRL+C to quit)",
        f"  endpoint   {base}/webservice/voice.php",
        f"  admin API  {base}/admin/api  {admin_token_note(settings, env)}",
        f"  metrics    {base}/metrics",
        f"  dialer     {dialer_note(settings)}",
        f"  database   {masked_url(settings.effective_database_url)}",
    ]
    if settings.redis_url:
        url, prefix = masked_url(settings.redis_url), settings.redis_prefix
        lines.append(f"  redis      {url} (key prefix {prefix})")
    warning = dev_secrets_warning(settings)
    if warning:
        lines.append(warning)
    return lines


def admin_token_note(settings: Settings, env: Mapping[str, str]) -> str:
    """Whether a token guards the admin API, and where it comes from (never the token,
    unless it is the public development one)."""
    token = settings.admin_token
    if not token:
        return "(disabled: no admin token; set VOICEOTP_ADMIN_TOKEN to enable it)"
    if token == DEV_ADMIN_TOKEN:
        return (
            f"(bearer token: {DEV_ADMIN_TOKEN}, the development default; "
            "set VOICEOTP_ADMIN_TOKEN for your own)"
        )
    source = "VOICEOTP_ADMIN_TOKEN" if env.get("VOICEOTP_ADMIN_TOKEN") == token else "--config"
    return f"(bearer token set, from {source})"


def dialer_note(settings: Settings) -> str:
    conf = settings.delivery
    if not conf.run_dialer:
        return f"none in this process (queue only; `voiceotp dialer` processes dial, {conf.dialer})"
    push = "status push on" if conf.run_notifier else "status push off"
    return f"{dialer_kind(settings)}; {push}; stop grace {conf.stop_grace_s:g} s"


def dialer_kind(settings: Settings) -> str:
    """How calls go out: the dialer kind with its trunks or upstreams."""
    conf = settings.delivery
    kind = conf.dialer
    if kind == "sip" and conf.trunk is not None:
        trunk = conf.trunk
        where = f"{trunk.host}:{trunk.port}" if trunk.port else trunk.host  # 0: RFC 3263
        kind = f"sip, trunk {where}" + (f" over {trunk.transport}" if trunk.transport else "")
    elif kind == "sip" and conf.trunks:
        places = [
            (t.name, f"{url_host(t.host)}:{t.port}" if t.port else url_host(t.host))
            for t in conf.trunks
        ]
        kind = "sip, trunks " + ", ".join(f"{n} ({a})" if n else a for n, a in places)
    elif kind == "relay":
        kind = "relay to " + ", ".join(u.name for u in conf.upstreams)
    elif kind == "simulated":
        kind = "simulated (no real calls)"
    return kind


def masked_url(url: str) -> str:
    """``url`` without its password (``postgresql://user:***@host/db``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = url_host(parts.hostname or "")
    netloc = f"{parts.username or ''}:***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def dev_secrets_warning(settings: Settings) -> str:
    """A warning when a well-known development secret is in use, else ''."""
    public = []
    if settings.secret_key == DEV_SECRET_KEY:
        public.append("server key (APIKEYs at rest can be decrypted by anyone)")
    if settings.admin_token == DEV_ADMIN_TOKEN:
        public.append(f"admin token {DEV_ADMIN_TOKEN!r}")
    if not public:
        return ""
    return (
        "WARNING: development mode with well-known secrets: "
        + "; ".join(public)
        + ". For this machine only; never expose it or keep real accounts in it."
    )
