"""The dialer and the prompts as :class:`DeliverySettings` describe them (the worker's
settings: :meth:`DeliverySettings.worker_settings`)."""

from __future__ import annotations

from pathlib import Path

from voiceotp.delivery.audio import PromptLibrary
from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.dialer.base import CallStatus, Dialer

__all__ = ["make_dialer", "make_prompts", "record_dir"]


def record_dir(conf: DeliverySettings, data_dir: Path) -> Path:
    """Where the simulated carrier writes what each callee heard."""
    return conf.simulation.record_dir or data_dir / "calls"


def make_dialer(conf: DeliverySettings, data_dir: Path) -> Dialer:
    """The dialer ``conf.dialer`` names: simulated (default), sip or relay."""
    if conf.dialer == "sip" and conf.trunks:
        from voiceotp.delivery.dialer.sip import SipTrunkGroup

        return SipTrunkGroup(conf.trunks)
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


def make_prompts(conf: DeliverySettings, data_dir: Path | None = None) -> PromptLibrary:
    """Recorded clips from ``prompt_dir`` for the prompt language, else espeak-ng; the
    recordings of notice templates under ``data_dir``."""
    directories = {conf.prompt_language: conf.prompt_dir} if conf.prompt_dir else None
    return PromptLibrary(
        directories=directories,
        cache_dir=conf.prompt_cache_dir,
        default_language=conf.prompt_language,
        data_dir=data_dir,
    )
