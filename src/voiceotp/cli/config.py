"""``voiceotp config init|show``: the client's config file (the APIKEY is never printed)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from voiceotp.cli.exitcodes import ExitCode
from voiceotp.cli.output import JsonCommand, print_json
from voiceotp.cli.send import fail
from voiceotp.client.config import (
    collect_settings,
    default_config_path,
    mask_secret,
    render_config_file,
    write_config_file,
)
from voiceotp.errors import ConfigError

# An ihuyi APIKEY is 32 hex digits, and so is every key our gateway issues
# (store/keys.py new_apikey). Anything else would only fail later, as 405 on every call.
APIKEY = re.compile(r"[0-9a-fA-F]{32}")
ACCOUNT = re.compile(r"\S+")
CONFIG_NAME = "config.toml"

INIT_EPILOG = """\b
Examples:
  voiceotp config init --account V12345678
  echo $KEY | voiceotp config init --account V12345678 --apikey-stdin --force
  voiceotp config init --path ./voiceotp/           # writes ./voiceotp/config.toml

\b
The APIKEY is prompted for (hidden) or read from standard input, never taken as an
option. Use the file with VOICEOTP_CONFIG=PATH or --config PATH when it is not the
default one.
"""


@click.group()
def config() -> None:
    """Create or show the client configuration (the APIKEY is never printed)."""


@config.command("init", cls=JsonCommand, epilog=INIT_EPILOG)
@click.option("--account", prompt="APIID (account)", help="The APIID (account), e.g. V12345678.")
@click.option("--base-url", default=None, help="Only if not the real ihuyi service.")
@click.option(
    "--path",
    type=click.Path(),
    default=None,
    help="File to write (default: $VOICEOTP_CONFIG or ~/.config/voiceotp/config.toml);"
    f" a directory gets {CONFIG_NAME} inside it.",
)
@click.option("--apikey-stdin", is_flag=True, help="Read the APIKEY from standard input.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def config_init(
    account: str,
    base_url: str | None,
    path: str | None,
    apikey_stdin: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Write the config file (mode 0600) with the account and APIKEY."""
    target = config_target(path)
    if target.exists() and not force:
        raise click.UsageError(f"{target} exists; pass --force to overwrite it")
    account = check_account(account)
    if apikey_stdin:
        apikey = sys.stdin.readline().strip()
    else:
        apikey = click.prompt("APIKEY", hide_input=True).strip()
    check_apikey(apikey)
    write_config_file(target, render_config_file(account, apikey, base_url))
    if as_json:
        print_json({"ok": True, "config_file": str(target)})
    else:
        click.echo(f"wrote {target}")


def config_target(path: str | None) -> Path:
    """The file to write: ``path``, or ``config.toml`` inside it when it names a directory
    (one that exists, or any path written with a trailing slash)."""
    if path is None:
        return default_config_path()
    target = Path(path).expanduser()
    if path.endswith("/") or target.is_dir():
        return target / CONFIG_NAME
    return target


def check_account(account: str) -> str:
    account = account.strip()
    if not ACCOUNT.fullmatch(account):
        raise click.UsageError(
            "the APIID (account) must be one word without spaces, e.g. V12345678"
        )
    return account


def check_apikey(apikey: str) -> None:
    """Refuse what cannot be an APIKEY, without echoing it (it may be a real key, mistyped)."""
    if not apikey:
        raise click.UsageError("the APIKEY is empty")
    if not APIKEY.fullmatch(apikey):
        raise click.UsageError(
            f"the APIKEY must be 32 hexadecimal characters (0-9, a-f), as the ihuyi console"
            f" and `voiceotp admin create` show it; the one given has {len(apikey)}"
            " character(s)" + ("" if apikey.isalnum() else ", not all letters or digits")
        )


@config.command(
    "show",
    cls=JsonCommand,
    epilog="\b\nExamples:\n  voiceotp config show\n  voiceotp config show --json"
    "\n\n\bExit codes: 0 account and APIKEY are set; 3 one is missing or the file is"
    " unreadable.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file to read (default: $VOICEOTP_CONFIG or ~/.config/voiceotp/config.toml).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def config_show(config_file: Path | None, as_json: bool) -> None:
    """Show the settings in effect and where each comes from (the APIKEY masked)."""
    try:
        values, sources, path = collect_settings(config_file=config_file)
    except ConfigError as exc:
        fail(exc, as_json)
    if "apikey" in values:
        values["apikey"] = mask_secret(values["apikey"])
    rows = {
        k: {"value": values.get(k), "source": sources.get(k)}
        for k in ("account", "apikey", "base_url")
    }
    if as_json:
        print_json({"config_file": str(path), "config_file_exists": path.is_file(), **rows})
    else:
        click.echo(f"config file: {path}" + ("" if path.is_file() else " (does not exist)"))
        for key, row in rows.items():
            click.echo(f"{key}: {row['value'] or '(not set)'}  [{row['source'] or '-'}]")
    sys.exit(ExitCode.OK if all(values.get(k) for k in ("account", "apikey")) else ExitCode.CONFIG)
