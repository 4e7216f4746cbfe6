"""The gateway's one settings object: defaults, then a TOML file, then ``VOICEOTP_*``.

Secrets refuse defaults outside development mode: a gateway that would start with a
well-known key encrypting its APIKEYs is a gateway that must not start.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.retention import RetentionSettings, coerce_retention
from voiceotp.errors import (
    SettingsError as SettingsError,  # re-exported: defined in voiceotp.errors
)
from voiceotp.gateway.submit.notifyconf import NotifySettings, coerce_notify
from voiceotp.gateway.submit.verifyconf import VerifySettings, coerce_verify
from voiceotp.gateway.usercenterconf import UserCenterSettings, coerce_user_center
from voiceotp.protocol import DEFAULT_WINDOW_S
from voiceotp.store import POSTGRES_PREFIXES, SQLITE_PREFIX

# Well-known development secrets: usable with ``dev_mode`` only.
DEV_SECRET_KEY = "ZGV2LW9ubHktc2VjcmV0LWtleS1kby1ub3QtdXNlISE="  # noqa: S105 - dev mode only
DEV_ADMIN_TOKEN = "dev-admin-token"  # noqa: S105 - refused outside dev mode
ENV_PREFIX = "VOICEOTP_"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class NumberCaps:
    """Per-account, per-number caps on accepted Submits (§6 step 9)."""

    per_minute: int = 1
    per_hour: int = 5
    per_24h: int = 10


@dataclass(frozen=True)
class Settings:
    """Everything the gateway reads at start; build with :meth:`load` or directly in tests."""

    dev_mode: bool = False
    data_dir: Path = Path("./voiceotp-data")
    database_url: str = ""  # "" -> sqlite file in data_dir
    redis_url: str = ""  # "" -> caps, rate cap, abuse counts in this process
    redis_prefix: str = "voiceotp:"
    # Without Redis, caps live in one process: a second API process on the same store is
    # refused, unless this is set (then each process counts alone; docs/gateway.md).
    allow_unshared_caps: bool = False
    secret_key: str = ""  # Fernet key encrypting APIKEYs at rest
    admin_token: str = ""  # bearer token of the admin API; "" disables it
    host: str = "127.0.0.1"
    port: int = 8080
    # The public base URL of this service (e.g. https://voice.example.com); the WSDL's
    # service address. "" = the address the client's connection reached (never Host).
    public_url: str = ""
    trusted_proxies: tuple[IPNetwork, ...] = ()
    max_body_bytes: int = 64 * 1024
    xml_namespace: str = ""  # root xmlns of answers; "" = none (the seed's sample parses it)
    soap_namespace: str = "http://106.ihuyi.com/"
    password_window_s: int = DEFAULT_WINDOW_S
    caps: NumberCaps = field(default_factory=NumberCaps)
    account_rate_per_s: int = 0  # default per-account Submit rate cap; 0 = none
    call_validity_s: int = 300  # a code older than this is never dialed
    refund_unconnected: bool = False  # charge policy: keep the unit, or refund no-connects
    cache_ttl_s: float = 1.0  # how stale another process's admin change may be seen
    batch_max: int = 512  # most acceptances committed in one transaction
    sqlite_synchronous: str = "FULL"
    # Abuse auto-freeze (408); 0 switches a detector off. See voiceotp.gateway.submit.abuse.
    # Why these values: voiceotp.gateway.submit.abuse, docs/gateway.md "Abuse auto-freeze".
    abuse_distinct_numbers: int = 5000
    abuse_distinct_window_s: float = 600.0
    abuse_prefix_burst: int = 500
    abuse_prefix_window_s: float = 600.0
    abuse_failure_ratio: float = 0.0
    abuse_failure_min_calls: int = 100
    # Dialer, trunk, redials, prompts, status push: see voiceotp.delivery.config.
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    # Verify/Check and the fraud guard: see voiceotp.gateway.submit.verifyconf.
    verify: VerifySettings = field(default_factory=VerifySettings)
    # How long numbers and call audio are kept: see voiceotp.delivery.retention.
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    # The customer user center at /user/: see voiceotp.gateway.usercenterconf.
    user_center: UserCenterSettings = field(default_factory=UserCenterSettings)
    # Voice notifications (语音通知): see voiceotp.gateway.submit.notifyconf.
    notify: NotifySettings = field(default_factory=NotifySettings)

    @classmethod
    def load(
        cls,
        toml_path: Path | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Defaults < TOML file < environment < ``overrides``; validated."""
        values: dict[str, Any] = {}
        if toml_path is not None:
            values.update(_read_toml(toml_path))
        values.update(_read_environ(os.environ if environ is None else environ))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Coerce raw values (strings from env/TOML) to a validated Settings."""
        known = {f.name: f for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        coerced = {name: _coerce(name, raw) for name, raw in values.items()}
        return cls(**coerced).validated()

    def validated(self) -> Settings:
        """Fill development secrets in dev mode, refuse missing or default ones otherwise."""
        settings = self
        if self.dev_mode:
            settings = replace(
                self,
                secret_key=self.secret_key or DEV_SECRET_KEY,
                admin_token=self.admin_token or DEV_ADMIN_TOKEN,
            )
        else:
            _refuse_default_secrets(self)
        _check_ranges(settings)
        return settings

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'voiceotp.db'}"


def _refuse_default_secrets(s: Settings) -> None:
    if not s.secret_key or s.secret_key == DEV_SECRET_KEY:
        raise SettingsError(
            "VOICEOTP_SECRET_KEY must be set outside dev mode (generate one with "
            "`voiceotp admin genkey`); or, for development on this machine only, pass --dev "
            "or set VOICEOTP_DEV_MODE=1"
        )
    if s.admin_token and (s.admin_token == DEV_ADMIN_TOKEN or len(s.admin_token) < 24):
        raise SettingsError("VOICEOTP_ADMIN_TOKEN must be a random string of >= 24 characters")
    from cryptography.fernet import Fernet

    try:
        Fernet(s.secret_key.encode())
    except ValueError as exc:
        raise SettingsError("VOICEOTP_SECRET_KEY is not a Fernet key") from exc


def _check_ranges(s: Settings) -> None:
    positive = ("max_body_bytes", "password_window_s", "call_validity_s", "batch_max")
    for name in positive:
        if getattr(s, name) <= 0:
            raise SettingsError(f"{name} must be > 0")
    if s.batch_max > 4096:  # SQLite: a batch's parameters per statement stay under 32766
        raise SettingsError("batch_max must be <= 4096")
    if min(s.caps.per_minute, s.caps.per_hour, s.caps.per_24h) < 0:
        raise SettingsError("per-number caps must be >= 0 (0 = no cap)")
    if s.sqlite_synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
        raise SettingsError("sqlite_synchronous must be FULL, NORMAL or EXTRA")
    if not 0 < s.port < 65536 and s.port != 0:
        raise SettingsError("port out of range")
    _check_public_url(s.public_url)
    _check_database_url(s.database_url)


# The URLs a store can be opened with (store.make_store); the message names them.
SUPPORTED_DATABASE_URLS = (
    "sqlite:///PATH (a SQLite file; four slashes for an absolute path: sqlite:////srv/x.db)"
    " or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB"
)


def _check_database_url(url: str) -> None:
    """SQLite or PostgreSQL, or "" (SQLite in the data dir). Only the scheme is echoed
    back: a URL may hold a password."""
    if not url or url.startswith(POSTGRES_PREFIXES):
        return
    if url.startswith(SQLITE_PREFIX) and url[len(SQLITE_PREFIX) :].strip():
        return
    scheme = url.split("://", 1)[0] + "://" if "://" in url else ""
    if scheme == "sqlite://" or url.startswith("sqlite:"):
        got = "a sqlite URL without a file path after sqlite:///"
    else:
        got = f"a {scheme} URL" if scheme else "a value that is not a URL"
    raise SettingsError(f"database_url: voiceotp supports {SUPPORTED_DATABASE_URLS}; got {got}")


def _check_public_url(url: str) -> None:
    """An absolute http(s) base URL, or "" (the WSDL then names the connection's address)."""
    if not url:
        return
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is no number or out of range
    except ValueError as exc:
        raise SettingsError(f"public_url is not a URL: {url!r} ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise SettingsError(
            "public_url must be an absolute http(s) URL without user info, such as "
            f"https://voice.example.com, not {url!r}"
        )
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise SettingsError(f"public_url must have no query or fragment: {url!r}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc}") from exc
    section = doc.get("gateway", doc)
    if not isinstance(section, dict):
        raise SettingsError(f"{path}: [gateway] must be a table")
    return dict(section)


def _read_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    names = {f.name for f in fields(Settings)}
    found: dict[str, Any] = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX) :].lower()
            if name in names:
                found[name] = value
    return found


def _coerce(name: str, raw: Any) -> Any:
    try:
        return _COERCERS.get(name, _same)(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"bad value for {name}: {raw!r} ({exc})") from exc


def _same(raw: Any) -> Any:
    return raw


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected a boolean")


def _networks(raw: Any) -> tuple[IPNetwork, ...]:
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return tuple(
        ipaddress.ip_network(str(i).strip(), strict=False) for i in items if str(i).strip()
    )


def _caps(raw: Any) -> NumberCaps:
    if isinstance(raw, NumberCaps):
        return raw
    if isinstance(raw, str):  # "1,5,10"
        minute, hour, day = (int(p) for p in raw.split(","))
        return NumberCaps(minute, hour, day)
    return NumberCaps(**{k: int(v) for k, v in dict(raw).items()})


def _delivery(raw: Any) -> DeliverySettings:
    if isinstance(raw, DeliverySettings):
        return raw
    return DeliverySettings.from_mapping(json.loads(raw) if isinstance(raw, str) else raw)


_COERCERS: dict[str, Any] = {
    "delivery": _delivery,
    "verify": coerce_verify,
    "notify": coerce_notify,
    "retention": coerce_retention,
    "user_center": coerce_user_center,
    "dev_mode": _bool,
    "refund_unconnected": _bool,
    "allow_unshared_caps": _bool,
    "data_dir": Path,
    "port": int,
    "max_body_bytes": int,
    "password_window_s": int,
    "account_rate_per_s": int,
    "call_validity_s": int,
    "batch_max": int,
    "cache_ttl_s": float,
    "abuse_distinct_numbers": int,
    "abuse_distinct_window_s": float,
    "abuse_prefix_burst": int,
    "abuse_prefix_window_s": float,
    "abuse_failure_ratio": float,
    "abuse_failure_min_calls": int,
    "trusted_proxies": _networks,
    "caps": _caps,
}
