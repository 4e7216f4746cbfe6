"""Settings: defaults < TOML < environment, validated; secrets refuse defaults."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from voiceotp.gateway.settings import (
    DEV_ADMIN_TOKEN,
    DEV_SECRET_KEY,
    NumberCaps,
    Settings,
    SettingsError,
)
from voiceotp.store.keys import new_secret_key


def test_dev_mode_fills_development_secrets() -> None:
    settings = Settings.load(environ={"VOICEOTP_DEV_MODE": "1"})
    assert settings.secret_key == DEV_SECRET_KEY
    assert settings.admin_token == DEV_ADMIN_TOKEN


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"VOICEOTP_SECRET_KEY": DEV_SECRET_KEY},
        {"VOICEOTP_SECRET_KEY": "not-a-fernet-key"},
        {"VOICEOTP_SECRET_KEY": "KEY", "VOICEOTP_ADMIN_TOKEN": DEV_ADMIN_TOKEN},
        {"VOICEOTP_SECRET_KEY": "KEY", "VOICEOTP_ADMIN_TOKEN": "short"},
    ],
)
def test_production_refuses_default_or_weak_secrets(environ: dict[str, str]) -> None:
    environ = {k: (new_secret_key() if v == "KEY" else v) for k, v in environ.items()}
    with pytest.raises(SettingsError):
        Settings.load(environ=environ)


def test_toml_then_environment_then_overrides(tmp_path: Path) -> None:
    toml = tmp_path / "voiceotp.toml"
    key = new_secret_key()
    toml.write_text(
        "[gateway]\n"
        f'secret_key = "{key}"\n'
        'trusted_proxies = ["10.0.0.0/8"]\n'
        "max_body_bytes = 1000\n"
        "caps = { per_minute = 2, per_hour = 6, per_24h = 12 }\n"
        'xml_namespace = "http://106.ihuyi.com/"\n',
        encoding="utf-8",
    )
    settings = Settings.load(toml, environ={"VOICEOTP_MAX_BODY_BYTES": "2000"}, port=9999)
    assert settings.secret_key == key
    assert settings.trusted_proxies == (ipaddress.ip_network("10.0.0.0/8"),)
    assert settings.max_body_bytes == 2000
    assert settings.caps == NumberCaps(2, 6, 12)
    assert settings.port == 9999
    assert settings.xml_namespace == "http://106.ihuyi.com/"


@pytest.mark.parametrize(
    "bad",
    [
        {"max_body_bytes": "0"},
        {"port": "http"},
        {"trusted_proxies": "not-an-ip"},
        {"caps": "1,2"},
        {"nonsense": "1"},
        {"sqlite_synchronous": "OFF"},
        {"database_url": "mysql://u:p@db/voiceotp"},
        {"database_url": "sqlite://relative.db"},
    ],
)
def test_bad_values_are_refused_with_their_name(bad: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=next(iter(bad))):
        Settings.from_mapping({"dev_mode": True, **bad})


def test_database_url_defaults_to_a_file_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_mapping({"dev_mode": True, "data_dir": str(tmp_path)})
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'voiceotp.db'}"


def test_retention_comes_from_a_toml_table_or_json_and_is_checked(tmp_path: Path) -> None:
    toml = tmp_path / "gateway.toml"
    toml.write_text("[gateway.retention]\nkeep_numbers_days = 30\nkeep_audio_days = 1\n")
    from_file = Settings.load(toml, environ={"VOICEOTP_DEV_MODE": "1"})
    assert (from_file.retention.keep_numbers_days, from_file.retention.keep_audio_days) == (30, 1)
    environ = {"VOICEOTP_DEV_MODE": "1", "VOICEOTP_RETENTION": '{"submit_code_valid_s": 600}'}
    from_env = Settings.load(None, environ=environ)
    assert from_env.retention.submit_code_valid_s == 600
    assert from_env.retention.keep_numbers_days == 180  # the default
    for bad in ('{"keep_audio_days": -1}', '{"keep_forever": 1}'):
        with pytest.raises(SettingsError, match="retention"):
            Settings.load(None, environ={"VOICEOTP_DEV_MODE": "1", "VOICEOTP_RETENTION": bad})
