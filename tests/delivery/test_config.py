"""DeliverySettings and the worker: one source of defaults, one conversion."""

from __future__ import annotations

from dataclasses import fields

from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.queue.limits import TrunkLimits
from voiceotp.delivery.queue.worker import WorkerSettings

SHARED = [f.name for f in fields(WorkerSettings) if f.name in DeliverySettings.__dataclass_fields__]


def test_the_defaults_make_the_default_worker() -> None:
    made = DeliverySettings().worker_settings("w")
    expected = WorkerSettings("w")
    for field in fields(WorkerSettings):
        assert getattr(made, field.name) == getattr(expected, field.name), field.name


def test_the_limits_default_to_the_trunks() -> None:
    conf = DeliverySettings()
    assert TrunkLimits(conf.max_concurrent, conf.calls_per_s, conf.burst) == TrunkLimits()


def test_every_setting_reaches_the_worker() -> None:
    assert {"ring_timeout_s", "max_duration_s", "lease_margin_s", "poll_s"} <= set(SHARED)
    changed = {name: float(getattr(WorkerSettings, name)) + 1.5 for name in SHARED}
    conf = DeliverySettings(max_concurrent=7, calls_per_s=2.5, burst=3, **changed)
    made = conf.worker_settings("dialer-1")
    assert made.name == "dialer-1"
    assert made.limits == TrunkLimits(7, 2.5, 3)
    assert {name: getattr(made, name) for name in SHARED} == changed
