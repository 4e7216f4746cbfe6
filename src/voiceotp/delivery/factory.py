"""Dialer, prompts and worker settings as :class:`DeliverySettings` describe them."""

from __future__ import annotations

from pathlib import Path

from voiceotp.delivery.audio import PromptLibrary
from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.dialer.base import CallStatus, Dialer
from voiceotp.delivery.queue.limits import TrunkLimits
from voiceotp.delivery.queue.worker import WorkerSettings

__all__ = ["make_dialer", "make_prompts", "record_dir", "worker_settings"]


def record_dir(conf: DeliverySettings, data_dir: Path) -> Path:
    """Where the simulated carrier writes what each callee heard."""
    return conf.simulation.record_dir or data_dir / "calls"


def make_dialer(conf: DeliverySettings, data_dir: Path) -> Dialer:
    """The dialer ``conf.dialer`` names: simulated (default), sip or relay."""
    if conf.dialer == "sip":
        from voiceotp.delivery.dialer.sip import SipDialer

        assert conf.trunk is not None  # DeliverySettings refuses sip without a trunk
        return SipDialer(conf.trunk)
    if conf.dialer == "relay":
        from voiceotp.delivery.dialer.relay import RelayDialer

        return RelayDialer(conf.upstreams)
    from voiceotp.delivery.dialer.simulated import SimulatedCarrier, SimulationProfile

    sim = conf.simulation
    profile = SimulationProfile(
        mix={CallStatus(k): w for k, w in sim.mix.items()},
        ring_after_s=sim.ring_after_s,
        answer_after_s=sim.answer_after_s,
        reject_after_s=sim.reject_after_s,
    )
    folder = record_dir(conf, data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return SimulatedCarrier(profile, record_dir=folder, dial_log=sim.dial_log)


def make_prompts(conf: DeliverySettings) -> PromptLibrary:
    """Recorded clips from ``prompt_dir`` for the prompt language, else espeak-ng."""
    directories = {conf.prompt_language: conf.prompt_dir} if conf.prompt_dir else None
    return PromptLibrary(
        directories=directories,
        cache_dir=conf.prompt_cache_dir,
        default_language=conf.prompt_language,
    )


def worker_settings(conf: DeliverySettings, name: str) -> WorkerSettings:
    """The worker's limits and timers."""
    return WorkerSettings(
        name=name,
        limits=TrunkLimits(conf.max_concurrent, conf.calls_per_s, conf.burst),
        ring_timeout_s=conf.ring_timeout_s,
        max_duration_s=conf.max_duration_s,
        poll_s=conf.poll_s,
        stale_after_s=conf.stale_after_s,
        renew_every_s=conf.renew_every_s,
        lease_margin_s=conf.lease_margin_s,
    )
