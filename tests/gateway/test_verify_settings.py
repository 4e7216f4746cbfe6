"""``Settings.verify``: defaults, TOML and environment (JSON), refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceotp.gateway.settings import Settings, SettingsError
from voiceotp.gateway.submit.verifyconf import VerifySettings


def test_defaults_toml_and_environment(tmp_path: Path) -> None:
    assert Settings.load(environ={}, dev_mode=True).verify == VerifySettings()
    toml = tmp_path / "gw.toml"
    toml.write_text(
        "[gateway]\ndev_mode = true\n[gateway.verify]\nttl_s = 120\nwindows_s = [600, 3600]\n"
        'allow_prefixes = ["1710000"]\n',
        encoding="utf-8",
    )
    loaded = Settings.load(toml, environ={}).verify
    assert (loaded.ttl_s, loaded.windows_s, loaded.allow_prefixes) == (
        120,
        (600.0, 3600.0),
        ("1710000",),
    )
    env = {"VOICEOTP_DEV_MODE": "1", "VOICEOTP_VERIFY": '{"max_attempts": 3, "fraud_guard": "off"}'}
    from_env = Settings.load(environ=env).verify
    assert (from_env.max_attempts, from_env.fraud_guard) == (3, False)


@pytest.mark.parametrize(
    "raw",
    [{"code_length": 7}, {"ttl_s": 30}, {"min_conversion": 1.5}, {"windows_s": ""}, {"nope": 1}],
)
def test_refusals(raw: dict[str, object]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_mapping({"dev_mode": True, "verify": raw})
