"""``voiceotp admin``: accounts and server policy, straight on the gateway's store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from voiceotp.cli.admin_run import Bounded, run
from voiceotp.cli.storeplace import gateway_options, pass_opts, subcommand_options

console = Console()


ADMIN_EXAMPLES = """Examples:

\b
  voiceotp admin create --dev --balance 100     # prints the APIKEY once
  voiceotp admin topup --dev V12345678 50
  voiceotp admin topup --dev V12345678 -20      # a negative number removes units
  voiceotp admin configure --dev V12345678 --per-minute 2 --callback-url https://example.com/hook
  voiceotp admin configure --dev V12345678 --abuse-prefix-burst 5000   # a big batch to one range
  voiceotp admin clear-abuse --dev V12345678    # lift an abuse freeze (code 408)
  voiceotp admin blacklist --dev V12345678 13800138000 --remove
  voiceotp admin policy --dev deny_ip 203.0.113.0/24
  voiceotp admin list --data-dir /srv/voiceotp  # the store of `serve --data-dir /srv/voiceotp`
  voiceotp admin genkey                         # a server key for VOICEOTP_SECRET_KEY
  voiceotp admin personal-data export --dev V12345678 --out ./request-42   # docs/privacy.md

The commands work on an existing store, the one `voiceotp serve` made (they never make
one): give them the same --data-dir / --database-url / --config / --dev as serve, before
or after the subcommand. A running gateway sees a change within cache_ttl_s.
"""


@click.group(epilog=ADMIN_EXAMPLES)
@gateway_options
@click.pass_context
def admin(
    ctx: click.Context,
    config: Path | None,
    database_url: str | None,
    data_dir: Path | None,
    dev: bool,
) -> None:
    """Manage gateway accounts and server-wide policy."""
    ctx.obj = {"config": config, "database_url": database_url, "data_dir": data_dir, "dev": dev}


@admin.command()
def genkey() -> None:
    """Print a fresh server key for VOICEOTP_SECRET_KEY."""
    from voiceotp.store.keys import new_secret_key

    click.echo(new_secret_key())


@admin.command("list")
@subcommand_options
@pass_opts
def list_accounts(opts: dict[str, Any]) -> None:
    """List accounts."""
    rows = run(opts, lambda a: a.list_accounts())
    table = Table("account", "balance", "state", "dynamic only", "allow-list")
    for row in rows:
        table.add_row(
            row["account"], str(row["balance"]), row["state"], str(row["require_dynamic"]),
            ",".join(row["allow_ips"]) or "any",
        )  # fmt: skip
    console.print(table)


@admin.command()
@click.argument("name")
@subcommand_options
@pass_opts
def show(opts: dict[str, Any], name: str) -> None:
    """Show one account (never its APIKEY)."""
    click.echo(json.dumps(run(opts, lambda a: a.describe(name)), ensure_ascii=False, indent=2))


CREATE_EXAMPLES = """Examples:

\b
  voiceotp admin create --dev --balance 100      # the store of `voiceotp serve --dev` here
  voiceotp admin create --name V12345678 --balance 1000 --data-dir /srv/voiceotp
  voiceotp admin create --database-url postgresql://voiceotp@db/voiceotp --balance 100

The APIKEY is printed once: hand it to the account's owner (their ihuyi password). Outside
--dev, VOICEOTP_SECRET_KEY must be the gateway's: it encrypts the APIKEY in the store.
"""


@admin.command(epilog=CREATE_EXAMPLES)
@click.option("--name", help="APIID (V + 8 digits); random if omitted.")
@click.option(
    "--balance", type=Bounded("balance"), default=0, show_default=True, help="Units to start with."
)
@subcommand_options
@pass_opts
def create(opts: dict[str, Any], name: str | None, balance: int) -> None:
    """Create an account; its APIKEY is printed once."""
    new = run(opts, lambda a: a.create_account(name=name, balance=balance))
    console.print(
        f"account [bold]{new.account}[/bold]  apikey [bold]{new.apikey}[/bold] (shown once)"
    )


@admin.command("rotate-key")
@click.argument("name")
@subcommand_options
@pass_opts
def rotate_key(opts: dict[str, Any], name: str) -> None:
    """Replace the APIKEY (the new one is printed once)."""
    new = run(opts, lambda a: a.rotate_key(name))
    console.print(
        f"account [bold]{new.account}[/bold]  apikey [bold]{new.apikey}[/bold] (shown once)"
    )


# "-100" is a number here, not an option: click would read it as -1 -0 -0.
@admin.command(context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("units", type=Bounded("units"))
@click.option("--reason", default="topup", show_default=True, help="Note for the ledger row.")
@subcommand_options
@pass_opts
def topup(opts: dict[str, Any], name: str, units: int, reason: str) -> None:
    """Add UNITS to an account's balance (negative removes; never below zero).

    \b
    Examples:
      voiceotp admin topup --dev V12345678 50
      voiceotp admin topup --dev V12345678 -20 --reason refund"""
    balance = run(opts, lambda a: a.top_up(name, units, reason))
    console.print(f"{name}: balance {balance}")


def _state_command(command: str, state: str, doc: str) -> None:
    @admin.command(command, help=doc)
    @click.argument("name")
    @subcommand_options
    @pass_opts
    def set_state(opts: dict[str, Any], name: str) -> None:
        run(opts, lambda a: a.set_state(name, state))
        console.print(f"{name}: {state}")


_state_command("freeze", "frozen", "Freeze an account (code 4050).")
_state_command("unfreeze", "active", "Unfreeze an account.")
_state_command(
    "clear-abuse",
    "active",
    "Clear an abuse auto-freeze (code 408). When the traffic was legitimate and goes on,"
    " raise the account's allowance first (configure --abuse-prefix-burst /"
    " --abuse-distinct-numbers), or it freezes again.",
)


@admin.command()
@click.argument("name")
@click.option("--require-dynamic/--allow-static", default=None, help="Dynamic passwords only.")
@click.option("--allow-ip", "allow_ips", multiple=True, help="Allowed IP/CIDR (repeat).")
@click.option("--any-ip", is_flag=True, help="Clear the allow-list.")
@click.option(
    "--rate", "rate_per_s", type=Bounded("rate_per_s"), help="Submits per second (0 = no cap)."
)
@click.option(
    "--per-minute",
    "cap_minute",
    type=Bounded("cap_minute"),
    help="Codes per number per minute (0 = no cap).",
)
@click.option(
    "--per-hour",
    "cap_hour",
    type=Bounded("cap_hour"),
    help="Codes per number per hour (0 = no cap).",
)
@click.option(
    "--per-day", "cap_day", type=Bounded("cap_day"), help="Codes per number per 24 h (0 = no cap)."
)
@click.option(
    "--callback-url",
    help='Where signed status reports are pushed (an http(s) URL; "" removes it).',
)
@click.option(
    "--refund-unconnected/--keep-unconnected",
    default=None,
    help="Charge policy: refund calls that never connected, or keep the unit.",
)
@click.option(
    "--abuse-prefix-burst",
    type=Bounded("abuse_prefix_burst"),
    help="Abuse allowance: Submits to one 7-digit prefix within the server's window before"
    " an auto-freeze, e.g. for batches to the account's own range (0 = never).",
)
@click.option(
    "--abuse-distinct-numbers",
    type=Bounded("abuse_distinct_numbers"),
    help="Abuse allowance: distinct numbers within the server's window before an"
    " auto-freeze (0 = never).",
)
@click.option("--abuse-defaults", is_flag=True, help="Back to the server's abuse thresholds.")
@click.option(
    "--keep-numbers-days",
    type=Bounded("keep_numbers_days"),
    help="Retention: days full numbers stay in call records before 138****8000 (docs/privacy.md).",
)
@click.option(
    "--keep-audio-days",
    type=Bounded("keep_audio_days"),
    help="Retention: days call audio (what the callee heard) is kept.",
)
@click.option("--retention-defaults", is_flag=True, help="Back to the server's retention settings.")
@subcommand_options
@pass_opts
def configure(
    opts: dict[str, Any],
    /,
    name: str,
    any_ip: bool,
    allow_ips: tuple[str, ...],
    abuse_defaults: bool,
    retention_defaults: bool,
    **kw: Any,
) -> None:
    """Change an account's settings.

    \b
    Examples:
      voiceotp admin configure --dev V12345678 --per-minute 2 --rate 20
      voiceotp admin configure --dev V12345678 --allow-ip 203.0.113.0/24
      voiceotp admin configure --dev V12345678 --abuse-prefix-burst 5000
      voiceotp admin configure --dev V12345678 --abuse-defaults"""
    changes = {k: v for k, v in kw.items() if v is not None}
    if allow_ips or any_ip:
        changes["allow_ips"] = list(allow_ips)
    if abuse_defaults:
        changes.update(abuse_distinct_numbers=None, abuse_prefix_burst=None)
    if retention_defaults:
        changes.update(keep_numbers_days=None, keep_audio_days=None)
    if not changes:
        raise click.UsageError("nothing to change")
    run(opts, lambda a: a.configure(name, **changes))
    console.print(f"{name}: updated {', '.join(sorted(changes))}")


@admin.command()
@click.argument("name")
@click.argument("mobile")
@click.option("--remove", is_flag=True, help="Take MOBILE off the blacklist instead.")
@subcommand_options
@pass_opts
def blacklist(opts: dict[str, Any], name: str, mobile: str, remove: bool) -> None:
    """Put a number on (or --remove it from) an account's blacklist."""
    from voiceotp.protocol import mask_mobile

    run(opts, lambda a: a.set_blacklisted(name, mobile, not remove))
    # Say what was done, like the other commands (the number masked, as everywhere).
    where = "off" if remove else "on"
    click.echo(f"{name}: {mask_mobile(mobile)} is {where} the blacklist")


@admin.command()
@click.argument("kind", type=click.Choice(["deny_ip", "blacklist", "sensitive_word"]))
@click.argument("value")
@click.option("--remove", is_flag=True, help="Remove VALUE from the list instead.")
@subcommand_options
@pass_opts
def policy(opts: dict[str, Any], kind: str, value: str, remove: bool) -> None:
    """Server-wide lists: deny_ip IP/CIDR, blacklist MOBILE, sensitive_word WORD."""
    run(opts, lambda a: a.set_server_entry(kind, value, not remove))
    click.echo(json.dumps(run(opts, lambda a: a.server_policy()), ensure_ascii=False))


def _register_operator() -> None:
    from voiceotp.cli.operators import customer, operator

    admin.add_command(operator)
    admin.add_command(customer)


def _register_personal_data() -> None:
    from voiceotp.cli.personaldata import personal_data

    admin.add_command(personal_data)


_register_operator()
_register_personal_data()
