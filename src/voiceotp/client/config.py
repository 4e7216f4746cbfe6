"""Where the client's account, APIKEY and base URL come from.

Precedence, highest first: arguments, environment (``VOICEOTP_ACCOUNT``,
``VOICEOTP_APIKEY``, ``VOICEOTP_BASE_URL``), a TOML file (``VOICEOTP_CONFIG`` or
``~/.config/voiceotp/config.toml``) with top-level keys ``account``, ``apikey``,
``base_url``. Missing credentials raise ConfigError before any request is made.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from voiceotp.errors import ConfigError

DEFAULT_BASE_URL = "https://api.voice.ihuyi.com/webservice/voice.php"
ENV_ACCOUNT = "VOICEOTP_ACCOUNT"
ENV_APIKEY = "VOICEOTP_APIKEY"
ENV_BASE_URL = "VOICEOTP_BASE_URL"
ENV_CONFIG = "VOICEOTP_CONFIG"
_KEYS = ("account", "apikey", "base_url")
_ENV = {"account": ENV_ACCOUNT, "apikey": ENV_APIKEY, "base_url": ENV_BASE_URL}


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved client settings; ``sources`` says where each value came from."""

    account: str
    apikey: str
    base_url: str
    sources: Mapping[str, str]

    def __repr__(self) -> str:  # the APIKEY must never reach a log or a traceback
        return f"Settings(account={self.account!r}, apikey='***', base_url={self.base_url!r})"


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$VOICEOTP_CONFIG``, else ``$XDG_CONFIG_HOME/voiceotp/config.toml`` (~/.config)."""
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "voiceotp" / "config.toml"


def read_config_file(path: Path, *, required: bool) -> dict[str, str]:
    """The file's known keys as strings; {} when it is absent and not ``required``."""
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError as exc:
        if required:
            raise ConfigError(f"config file not found: {path}") from exc
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    return {key: str(doc[key]) for key in _KEYS if doc.get(key) not in (None, "")}


def collect_settings(
    account: str | None = None,
    apikey: str | None = None,
    base_url: str | None = None,
    *,
    config_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str], Path]:
    """The values found (arguments > environment > file), their sources, and the file path."""
    env = os.environ if env is None else env
    path = Path(config_file).expanduser() if config_file else default_config_path(env)
    from_file = read_config_file(path, required=config_file is not None)
    given = {"account": account, "apikey": apikey, "base_url": base_url}
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for key in _KEYS:
        for source, value in (
            ("argument", given[key]),
            (f"environment {_ENV[key]}", env.get(_ENV[key])),
            (f"file {path}", from_file.get(key)),
        ):
            if value and value.strip():
                values[key], sources[key] = value.strip(), source
                break
    if "base_url" not in values:
        values["base_url"], sources["base_url"] = DEFAULT_BASE_URL, "default"
    return values, sources, path


def resolve_settings(
    account: str | None = None,
    apikey: str | None = None,
    base_url: str | None = None,
    *,
    config_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Merge arguments > environment > config file; raise ConfigError on missing credentials."""
    values, sources, path = collect_settings(
        account, apikey, base_url, config_file=config_file, env=env
    )
    for key in ("account", "apikey"):
        if key not in values:
            named = not config_file and (os.environ if env is None else env).get(ENV_CONFIG)
            raise _missing(key, path, named_by_env=bool(named))
    return Settings(values["account"], values["apikey"], values["base_url"], sources)


_INIT = "`voiceotp config init`"


def _missing(key: str, path: Path, *, named_by_env: bool) -> ConfigError:
    ways = f"pass {key}=... (CLI: --account; the APIKEY never on the command line), set {_ENV[key]}"
    if path.is_file():
        return ConfigError(f"missing {key}: {ways}, add {key} to {path}, or run {_INIT}")
    named = f" (named by {ENV_CONFIG})" if named_by_env else ""
    return ConfigError(
        f"missing {key}: {ways}, or run {_INIT}; the config file {path}{named} does not exist"
    )


def mask_secret(secret: str) -> str:
    """``****cdef`` — enough to tell two keys apart, never enough to use one."""
    return f"****{secret[-4:]}" if len(secret) >= 16 else "****"


def render_config_file(account: str, apikey: str, base_url: str | None = None) -> str:
    """A config file's TOML text (JSON string escapes are valid TOML basic strings)."""
    lines = [f"account = {json.dumps(account)}", f"apikey = {json.dumps(apikey)}"]
    if base_url:
        lines.append(f"base_url = {json.dumps(base_url)}")
    return "\n".join(lines) + "\n"


def write_config_file(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner only (it holds the APIKEY)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    path.chmod(0o600)
