"""Delivery settings: TOML table, JSON in the environment, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voiceotp.delivery.dialer.relay import RelayDialer
from voiceotp.delivery.dialer.sip import SipDialer
from voiceotp.delivery.factory import make_dialer
from voiceotp.gateway.settings import Settings, SettingsError

TOML = """
[gateway]
dev_mode = true
call_validity_s = 120

[gateway.delivery]
dialer = "sip"
max_concurrent = 12
calls_per_s = 4.5
redial = { NO_ANSWER = [30, 60], BUSY = [10] }
prompt_language = "en"
prompt_repeat = 3

[gateway.delivery.trunk]
host = "trunk.example"
port = 5080
username = "acme"
password = "s3cret"
srtp = "require"
"""


def test_a_toml_file_configures_trunk_limits_redials_and_prompts(tmp_path: Path) -> None:
    path = tmp_path / "voiceotp.toml"
    path.write_text(TOML)
    settings = Settings.load(path, environ={})
    conf = settings.delivery
    assert settings.call_validity_s == 120
    assert (conf.dialer, conf.max_concurrent, conf.calls_per_s) == ("sip", 12, 4.5)
    assert conf.redial == {"NO_ANSWER": (30.0, 60.0), "BUSY": (10.0,)}
    assert (conf.prompt_language, conf.prompt_repeat) == ("en", 3)
    assert (conf.trunk.host, conf.trunk.port, conf.trunk.username) == (
        "trunk.example",
        5080,
        "acme",
    )
    assert "s3cret" not in repr(settings)  # digest password never printed
    dialer = make_dialer(conf, tmp_path)
    assert isinstance(dialer, SipDialer)
    assert dialer.trunk.password == "s3cret"
    assert dialer.trunk.srtp == "require"
    limits = conf.worker_settings("w").limits
    assert (limits.max_concurrent, limits.calls_per_s) == (12, 4.5)


def test_defaults_are_the_embedded_simulated_carrier() -> None:
    settings = Settings.load(None, environ={"VOICEOTP_DEV_MODE": "1"})
    conf = settings.delivery
    assert (conf.dialer, conf.run_dialer, conf.run_notifier) == ("simulated", True, True)
    assert (settings.call_validity_s, conf.ring_timeout_s, conf.prompt_repeat) == (300, 30.0, 2)
    assert conf.redial == {"NO_ANSWER": (30.0,)}


def test_relay_upstreams_come_from_json_in_the_environment(tmp_path: Path) -> None:
    upstream = {"name": "ihuyi", "base_url": "http://127.0.0.1:9/x", "account": "C1", "apikey": "k"}
    environ = {
        "VOICEOTP_DEV_MODE": "1",
        "VOICEOTP_DELIVERY": json.dumps({"dialer": "relay", "upstreams": [upstream]}),
    }
    conf = Settings.load(None, environ=environ).delivery
    assert isinstance(make_dialer(conf, tmp_path), RelayDialer)


@pytest.mark.parametrize(
    "delivery",
    [
        {"dialer": "carrier-pigeon"},
        {"dialer": "sip"},  # no trunk host
        {"dialer": "relay"},  # no upstream
        {"prompt_repeat": 4},
        {"redial": {"MAYBE": [1]}},
        {"trunk": {"hostname": "x"}},
        {"colour": "blue"},
    ],
)
def test_bad_delivery_settings_are_refused(delivery: dict[str, object]) -> None:
    environ = {"VOICEOTP_DEV_MODE": "1", "VOICEOTP_DELIVERY": json.dumps(delivery)}
    with pytest.raises(SettingsError, match="delivery"):
        Settings.load(None, environ=environ)
