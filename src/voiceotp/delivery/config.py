"""Delivery settings: which dialer, the trunk, limits, redials, prompts, status push.

One nested part of :class:`~voiceotp.gateway.settings.Settings` (``settings.delivery``),
read from the TOML table ``[gateway.delivery]`` (with ``[gateway.delivery.trunk]`` or
``[[gateway.delivery.trunks]]``,
``[gateway.delivery.simulation]``, ``[[gateway.delivery.upstreams]]``) or from
``VOICEOTP_DELIVERY`` as JSON. A few values have their own variables for quick overrides:
``VOICEOTP_DIALER`` (simulated | sip | relay).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from voiceotp.delivery.dialer.base import CallStatus
from voiceotp.delivery.dialer.relay import Upstream
from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.trunks import check_trunks
from voiceotp.delivery.queue.limits import TrunkLimits
from voiceotp.delivery.queue.worker import WorkerSettings
from voiceotp.delivery.retention import RetentionSettings

__all__ = [
    "DIALER_KINDS",
    "DeliverySettings",
    "SimulationSettings",
]

DIALER_KINDS = ("simulated", "sip", "relay")


@dataclass(frozen=True)
class SimulationSettings:
    """The simulated carrier: outcome mix (weights per status) and times in seconds."""

    mix: Mapping[str, float] = field(default_factory=lambda: {"ANSWERED": 1.0})
    ring_after_s: float = 1.0
    answer_after_s: float = 3.0
    reject_after_s: float = 2.0
    record_dir: Path | None = None  # None: <data_dir>/calls
    dial_log: Path | None = None  # append each dialed call id (audits, tests)


@dataclass(frozen=True)
class DeliverySettings:
    """How accepted calls become phone calls, and how customers hear of them.

    The worker's limits and timers default to :class:`TrunkLimits`' and
    :class:`WorkerSettings`' own defaults; :meth:`worker_settings` hands them over.
    """

    run_dialer: bool = True  # `voiceotp serve` runs a dialer worker in-process
    run_notifier: bool = True  # ... and the status push
    dialer: str = "simulated"
    worker_name: str = ""  # "" -> host-pid (unique); a fixed name ends its past life's calls
    max_concurrent: int = TrunkLimits.max_concurrent
    calls_per_s: float = TrunkLimits.calls_per_s
    burst: int = TrunkLimits.burst
    ring_timeout_s: float = WorkerSettings.ring_timeout_s
    max_duration_s: float = WorkerSettings.max_duration_s
    lease_margin_s: float = WorkerSettings.lease_margin_s
    poll_s: float = WorkerSettings.poll_s
    stale_after_s: float = WorkerSettings.stale_after_s
    renew_every_s: float = WorkerSettings.renew_every_s
    redial: Mapping[str, tuple[float, ...]] = field(default_factory=lambda: {"NO_ANSWER": (30.0,)})
    prompt_language: str = "zh"
    prompt_repeat: int = 2
    prompt_dir: Path | None = None  # recorded clips for prompt_language; None: espeak-ng
    prompt_cache_dir: Path | None = None
    trunk: SipTrunk | None = None  # the sip dialer's trunk
    trunks: tuple[SipTrunk, ...] = ()  # or several, with priority and weight (docs/sip.md)
    simulation: SimulationSettings = field(default_factory=SimulationSettings)
    upstreams: tuple[Upstream, ...] = ()  # the relay dialer's upstreams, in order
    push_base_s: float = 30.0
    push_cap_s: float = 3600.0
    push_give_up_s: float = 86400.0
    push_timeout_s: float = 10.0
    push_poll_s: float = 1.0
    # Networks a callback may reach besides public addresses (CIDRs, e.g. "10.0.0.0/8").
    # Loopback, private and link-local addresses are refused otherwise (notify/guard.py).
    push_allow_networks: tuple[str, ...] = ()
    sweep_every_s: float = 5.0
    requeue_after_s: float = 60.0  # Redis mode: re-enqueue queued calls idle this long
    # At a graceful stop calls in flight get this long to end by themselves; the rest are
    # hung up and end CANCELED. 20 s: most calls end (ring ~5 s + prompt ~15 s), and the
    # whole stop (grace + hang-ups + closing the store) stays inside Kubernetes' default
    # 30 s termination grace — a SIGKILL before we finish would strand calls "dialing".
    # Raise it to ring_timeout_s + max_duration_s (90 s) where the supervisor waits longer.
    stop_grace_s: float = 20.0

    def __post_init__(self) -> None:
        if self.dialer not in DIALER_KINDS:
            raise ValueError(f"dialer must be one of {', '.join(DIALER_KINDS)}")
        if self.stop_grace_s < 0:
            raise ValueError("stop_grace_s must be >= 0")
        if not 1 <= self.prompt_repeat <= 3:
            raise ValueError("prompt_repeat must be 1..3")
        if self.trunk is not None and self.trunks:
            raise ValueError("give either trunk or trunks, not both")
        if self.trunks:
            check_trunks(self.trunks)
        elif self.dialer == "sip" and (self.trunk is None or not self.trunk.host):
            raise ValueError("the sip dialer needs trunk.host (or trunks)")
        if self.dialer == "relay" and not self.upstreams:
            raise ValueError("the relay dialer needs at least one upstream")
        for status in self.redial:
            CallStatus(status)  # ValueError for an unknown status
        for network in self.push_allow_networks:
            ipaddress.ip_network(network, strict=False)  # ValueError for a bad CIDR

    def worker_settings(self, name: str) -> WorkerSettings:
        """The settings of a worker named ``name``: these limits and timers (what is not
        configurable here, such as ``max_deliveries``, keeps the worker's default)."""
        return WorkerSettings(
            name=name,
            limits=TrunkLimits(self.max_concurrent, self.calls_per_s, self.burst),
            ring_timeout_s=self.ring_timeout_s,
            max_duration_s=self.max_duration_s,
            poll_s=self.poll_s,
            stale_after_s=self.stale_after_s,
            renew_every_s=self.renew_every_s,
            lease_margin_s=self.lease_margin_s,
        )

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> DeliverySettings:
        """Build from plain values (a TOML table or JSON object)."""
        values = dict(raw)
        _known(cls, values)
        if "trunk" in values:
            values["trunk"] = _sip_trunk(values["trunk"])
        if "trunks" in values:
            values["trunks"] = tuple(_sip_trunk(t) for t in values["trunks"])
        if "simulation" in values and not isinstance(values["simulation"], SimulationSettings):
            sim = dict(values["simulation"])
            _known(SimulationSettings, sim)
            for name in ("record_dir", "dial_log"):
                if sim.get(name):
                    sim[name] = Path(sim[name])
            values["simulation"] = SimulationSettings(**sim)
        if "upstreams" in values:
            values["upstreams"] = tuple(
                u if isinstance(u, Upstream) else Upstream(**_known(Upstream, u))
                for u in values["upstreams"]
            )
        if "push_allow_networks" in values:
            values["push_allow_networks"] = tuple(str(n) for n in values["push_allow_networks"])
        if "redial" in values:
            values["redial"] = {k: tuple(float(d) for d in v) for k, v in values["redial"].items()}
        for name in ("prompt_dir", "prompt_cache_dir"):
            if values.get(name):
                values[name] = Path(values[name])
        return cls(**values)


def _sip_trunk(raw: SipTrunk | Mapping[str, Any]) -> SipTrunk:
    if isinstance(raw, SipTrunk):
        return raw
    trunk = dict(_known(SipTrunk, raw))
    for name in ("codecs", "redirect_networks"):
        if name in trunk:
            trunk[name] = tuple(trunk[name])
    return SipTrunk(**trunk)


def _known(kind: type, values: Mapping[str, Any]) -> Mapping[str, Any]:
    unknown = set(values) - {f.name for f in fields(kind)}
    if unknown:
        raise ValueError(f"unknown {kind.__name__} key(s): {', '.join(sorted(unknown))}")
    return values


class RuntimeSettings(Protocol):
    """What the delivery runtime reads of the server's settings (the gateway's
    ``Settings`` has it): delivery's own table and the few server-wide values it needs."""

    @property
    def delivery(self) -> DeliverySettings: ...
    @property
    def data_dir(self) -> Path: ...
    @property
    def redis_url(self) -> str: ...
    @property
    def redis_prefix(self) -> str: ...
    @property
    def secret_key(self) -> str: ...
    @property
    def dev_mode(self) -> bool: ...
    @property
    def refund_unconnected(self) -> bool: ...
    @property
    def retention(self) -> RetentionSettings: ...
