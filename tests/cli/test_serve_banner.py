"""The start-up banner of `voiceotp serve`, its sockets, and the help of serve/admin."""

from __future__ import annotations

import socket
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from voiceotp.cli import cli
from voiceotp.cli.admin import admin
from voiceotp.cli.banner import banner_lines, masked_url
from voiceotp.cli.listen import ListenError, base_url, bind_listeners
from voiceotp.cli.serve import serve
from voiceotp.gateway.settings import Settings
from voiceotp.store.keys import new_secret_key

TOKEN = "a-production-admin-token-0123456789"


def production(**values: object) -> Settings:
    return Settings.from_mapping(
        {"secret_key": new_secret_key(), "admin_token": TOKEN, "data_dir": Path("d"), **values}
    )


def test_ipv6_hosts_are_bracketed() -> None:
    assert base_url("::", 18733) == "http://[::]:18733"
    assert base_url("::1", 80) == "http://[::1]:80"
    assert base_url("127.0.0.1", 80) == "http://127.0.0.1:80"
    banner = "\n".join(banner_lines(production(host="::"), 18733))
    assert "http://[::]:18733/webservice/voice.php" in banner
    assert ":::" not in banner


def test_production_banner_names_no_secret() -> None:
    url = "postgresql://voiceotp:s3cret@db.example:5432/voiceotp"
    settings = production(database_url=url, redis_url="redis://:hunter2@cache:6379/0")
    banner = "\n".join(banner_lines(settings, 8080, environ={"VOICEOTP_ADMIN_TOKEN": TOKEN}))
    assert TOKEN not in banner
    assert settings.secret_key not in banner
    assert "s3cret" not in banner
    assert "hunter2" not in banner
    assert "postgresql://voiceotp:***@db.example:5432/voiceotp" in banner
    assert "bearer token set, from VOICEOTP_ADMIN_TOKEN" in banner
    assert "WARNING" not in banner


def test_dev_banner_says_where_the_token_comes_from_and_warns() -> None:
    dev = Settings.from_mapping({"dev_mode": True, "data_dir": Path("d")})
    banner = "\n".join(banner_lines(dev, 8080, environ={}))
    assert "dev-admin-token, the development default" in banner
    assert "WARNING: development mode with well-known secrets" in banner
    own = Settings.from_mapping({"dev_mode": True, "admin_token": "mine-mine-mine"})
    banner = "\n".join(banner_lines(own, 8080, environ={}))
    assert "mine-mine-mine" not in banner
    assert "bearer token set, from --config" in banner


def test_banner_without_admin_token_or_delivery() -> None:
    settings = production(admin_token="", delivery={"run_dialer": False})
    banner = "\n".join(banner_lines(settings, 8080, environ={}))
    assert "disabled: no admin token" in banner
    assert "none in this process" in banner


def test_masked_url_keeps_urls_without_a_password() -> None:
    assert masked_url("sqlite:///data/voiceotp.db") == "sqlite:///data/voiceotp.db"
    assert masked_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert masked_url("postgresql://u:p@[::1]:5432/db") == "postgresql://u:***@[::1]:5432/db"


def test_a_taken_port_is_a_listen_error_with_status_3() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ListenError) as caught:
            bind_listeners("127.0.0.1", port)
    assert caught.value.exit_code == 3
    assert f"127.0.0.1:{port}" in caught.value.message
    assert "--port" in caught.value.message


def test_port_0_binds_a_free_port_and_listens() -> None:
    listeners = bind_listeners("127.0.0.1", 0)
    try:
        port = listeners[0].getsockname()[1]
        assert port != 0
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # accepted into the backlog before uvicorn even runs
    finally:
        for sock in listeners:
            sock.close()


def commands(group: click.Group) -> list[click.Command]:
    ctx = click.Context(group)
    return [group, *(group.get_command(ctx, name) for name in group.list_commands(ctx))]  # type: ignore[misc]


@pytest.mark.parametrize("command", [serve, *commands(admin)], ids=lambda c: c.name)
def test_every_option_has_help(command: click.Command) -> None:
    missing = [
        p.name for p in command.params if isinstance(p, click.Option) and not p.help and p.name
    ]
    assert missing == [], f"{command.name}: options without help: {missing}"


@pytest.mark.parametrize("command", ["serve", "admin create", "db upgrade", "dialer"])
def test_help_ends_with_examples(command: str) -> None:
    result = CliRunner().invoke(cli, [*command.split(), "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert f"voiceotp {command} --dev" in result.output  # --dev after the command, everywhere


def test_serve_help_examples_keep_their_shell_line_continuations() -> None:
    shown = CliRunner().invoke(cli, ["serve", "--help"], terminal_width=100).output
    lines = shown.splitlines()
    continued = [i for i, line in enumerate(lines) if line.rstrip().endswith("\\")]
    assert len(continued) == 2, shown  # the production and the --workers examples
    for i in continued:
        assert lines[i + 1].lstrip().startswith("voiceotp serve "), shown


def test_banner_names_each_trunk_of_a_trunk_group() -> None:
    trunks = [
        {"name": "carrier-a", "host": "127.0.0.1", "port": 25061, "priority": 1},
        {"host": "203.0.113.7", "priority": 2, "bind_port": 5062},
    ]
    settings = production(delivery={"dialer": "sip", "trunks": trunks})
    banner = "\n".join(banner_lines(settings, 8080, environ={}))
    # the second trunk has no port: RFC 3263 picks it, so the banner shows none
    assert "sip, trunks carrier-a (127.0.0.1:25061), 203.0.113.7" in banner


def test_banner_shows_the_redis_key_prefix() -> None:
    # every API and dialer process must share redis_url and redis_prefix (docs/deploy.md)
    settings = production(redis_url="redis://cache:6379/0", redis_prefix="shop7:")
    banner = "\n".join(banner_lines(settings, 8080, environ={}))
    assert "redis://cache:6379/0 (key prefix shop7:)" in banner
