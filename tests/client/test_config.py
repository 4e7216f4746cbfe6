"""Configuration: arguments > environment > config file, and nothing sent without it."""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path

import pytest

from voiceotp.client import AsyncClient, Client, MemoryTransport
from voiceotp.client.config import (
    DEFAULT_BASE_URL,
    default_config_path,
    mask_secret,
    render_config_file,
    resolve_settings,
    write_config_file,
)
from voiceotp.errors import ConfigError


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(render_config_file("Vfile", "file-key", "http://file.example/voice.php"))
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("VOICEOTP_ACCOUNT", "VOICEOTP_APIKEY", "VOICEOTP_BASE_URL", "VOICEOTP_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def test_file_alone(config_file: Path) -> None:
    s = resolve_settings(config_file=config_file)
    assert (s.account, s.apikey, s.base_url) == (
        "Vfile",
        "file-key",
        "http://file.example/voice.php",
    )
    assert s.sources["account"] == f"file {config_file}"


def test_environment_beats_file(config_file: Path) -> None:
    env = {"VOICEOTP_ACCOUNT": "Venv", "VOICEOTP_APIKEY": "env-key"}
    s = resolve_settings(config_file=config_file, env=env)
    assert (s.account, s.apikey, s.base_url) == ("Venv", "env-key", "http://file.example/voice.php")


def test_arguments_beat_environment(config_file: Path) -> None:
    env = {
        "VOICEOTP_ACCOUNT": "Venv",
        "VOICEOTP_APIKEY": "env-key",
        "VOICEOTP_BASE_URL": "http://e",
    }
    s = resolve_settings("Varg", "arg-key", "http://arg", config_file=config_file, env=env)
    assert (s.account, s.apikey, s.base_url) == ("Varg", "arg-key", "http://arg")
    assert s.sources == {"account": "argument", "apikey": "argument", "base_url": "argument"}


def test_default_base_url_is_the_real_service_over_https() -> None:
    s = resolve_settings("V1", "k", env={})
    assert s.base_url == DEFAULT_BASE_URL == "https://api.voice.ihuyi.com/webservice/voice.php"


def test_voiceotp_config_names_the_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEOTP_CONFIG", str(config_file))
    assert default_config_path() == config_file
    assert resolve_settings().account == "Vfile"


def test_default_path_follows_xdg(tmp_path: Path) -> None:
    assert default_config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "voiceotp" / "config.toml"
    )


@pytest.mark.parametrize("missing", ["account", "apikey"])
def test_missing_credentials(missing: str) -> None:
    given = {"account": "V1", "apikey": "k"}
    del given[missing]
    with pytest.raises(ConfigError, match=f"missing {missing}"):
        resolve_settings(**given, env={})


def test_explicit_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        resolve_settings("V1", "k", config_file=tmp_path / "nope.toml")


def test_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("account = \n")
    with pytest.raises(ConfigError, match="cannot read") as caught:
        resolve_settings(config_file=path)
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_no_request_without_credentials(cls: type[Client] | type[AsyncClient]) -> None:
    requests: list[str] = []

    def handler(url: str, form: Mapping[str, str]) -> bytes:
        requests.append(url)
        return b""

    with pytest.raises(ConfigError):
        cls(transport=MemoryTransport(handler))
    assert requests == []


def test_settings_and_client_reprs_hide_the_key() -> None:
    key = "0123456789abcdef0123456789abcdef"
    assert "0123456789abcdef" not in repr(resolve_settings("V1", key, env={}))
    with Client("V1", key) as client:
        assert repr(client) == f"<Client account='V1' url='{DEFAULT_BASE_URL}'>"


def test_config_file_round_trip_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    write_config_file(path, render_config_file('V"1', "k\\ey"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    s = resolve_settings(config_file=path, env={})
    assert (s.account, s.apikey) == ('V"1', "k\\ey")


def test_mask_secret() -> None:
    assert mask_secret("0123456789abcdef0123456789abcdef") == "****cdef"
    assert mask_secret("short") == "****"
