"""``voiceotp admin``: accounts and server policy, straight on the gateway's store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from voiceotp.cli.serve import gateway_options, load_settings

T = TypeVar("T")
console = Console()
pass_opts = click.make_pass_decorator(dict)


class InvalidInput(click.ClickException):
    """An operator mistake the Admin service refused (exit 2, like a usage error)."""

    exit_code = 2


class Bounded(click.ParamType[int]):
    """An integer the admin accepts for ``field`` (admincheck.INT_RANGES): a bad one fails
    here, before the store is opened. The check is imported on use: ``voiceotp --help``
    stays free of the gateway's imports."""

    name = "integer"

    def __init__(self, field: str) -> None:
        self.field = field

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from voiceotp.gateway.admincheck import AdminError, check_int

        try:
            return check_int(self.field, value if isinstance(value, int) else int(value))
        except ValueError as exc:  # AdminError is one; int() of a non-number another
            message = str(exc) if isinstance(exc, AdminError) else f"{value!r} is not an integer"
            self.fail(message, param, ctx)


def run(ctx_obj: dict[str, Any], action: Callable[[Any], Awaitable[T]]) -> T:
    """Open the store, run ``action(admin)``, close; operator mistakes exit 2."""
    from voiceotp.gateway.admin import Admin, AdminError
    from voiceotp.store import make_store
    from voiceotp.store.keys import KeyBox
    from voiceotp.store.migrate import upgrade_async

    settings = load_settings(**ctx_obj)

    async def go() -> T:
        import time

        await upgrade_async(settings.effective_database_url)
        store = make_store(settings)
        await store.open()
        try:
            return await action(Admin(store, KeyBox(settings.secret_key), time.time))
        finally:
            await store.close()

    try:
        return asyncio.run(go())
    except AdminError as exc:
        raise InvalidInput(str(exc)) from exc


ADMIN_EXAMPLES = """Examples:

\b
  voiceotp admin --dev create --balance 100          # prints the APIKEY once
  voiceotp admin --dev topup V12345678 50
  voiceotp admin --dev configure V12345678 --per-minute 2 --callback-url https://example.com/hook
  voiceotp admin --dev blacklist V12345678 13800138000 --remove
  voiceotp admin --dev policy deny_ip 203.0.113.0/24
  voiceotp admin genkey                               # a server key for VOICEOTP_SECRET_KEY

The commands work on the store directly (the same --database-url / --data-dir / --config
as `voiceotp serve`); a running gateway sees the change within cache_ttl_s.
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
@pass_opts
def show(opts: dict[str, Any], name: str) -> None:
    """Show one account (never its APIKEY)."""
    click.echo(json.dumps(run(opts, lambda a: a.describe(name)), ensure_ascii=False, indent=2))


@admin.command()
@click.option("--name", help="APIID (V + 8 digits); random if omitted.")
@click.option(
    "--balance", type=Bounded("balance"), default=0, show_default=True, help="Units to start with."
)
@pass_opts
def create(opts: dict[str, Any], name: str | None, balance: int) -> None:
    """Create an account; its APIKEY is printed once."""
    new = run(opts, lambda a: a.create_account(name=name, balance=balance))
    console.print(
        f"account [bold]{new.account}[/bold]  apikey [bold]{new.apikey}[/bold] (shown once)"
    )


@admin.command("rotate-key")
@click.argument("name")
@pass_opts
def rotate_key(opts: dict[str, Any], name: str) -> None:
    """Replace the APIKEY (the new one is printed once)."""
    new = run(opts, lambda a: a.rotate_key(name))
    console.print(
        f"account [bold]{new.account}[/bold]  apikey [bold]{new.apikey}[/bold] (shown once)"
    )


@admin.command()
@click.argument("name")
@click.argument("units", type=Bounded("units"))
@click.option("--reason", default="topup", show_default=True, help="Note for the ledger row.")
@pass_opts
def topup(opts: dict[str, Any], name: str, units: int, reason: str) -> None:
    """Add UNITS (negative removes; never below zero)."""
    balance = run(opts, lambda a: a.top_up(name, units, reason))
    console.print(f"{name}: balance {balance}")


def _state_command(command: str, state: str, doc: str) -> None:
    @admin.command(command, help=doc)
    @click.argument("name")
    @pass_opts
    def set_state(opts: dict[str, Any], name: str) -> None:
        run(opts, lambda a: a.set_state(name, state))
        console.print(f"{name}: {state}")


_state_command("freeze", "frozen", "Freeze an account (code 4050).")
_state_command("unfreeze", "active", "Unfreeze an account.")
_state_command("clear-abuse", "active", "Clear an abuse auto-freeze (code 408).")


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
@pass_opts
def configure(
    opts: dict[str, Any], /, name: str, any_ip: bool, allow_ips: tuple[str, ...], **kw: Any
) -> None:
    """Change an account's settings."""
    changes = {k: v for k, v in kw.items() if v is not None}
    if allow_ips or any_ip:
        changes["allow_ips"] = list(allow_ips)
    if not changes:
        raise click.UsageError("nothing to change")
    run(opts, lambda a: a.configure(name, **changes))
    console.print(f"{name}: updated {', '.join(sorted(changes))}")


@admin.command()
@click.argument("name")
@click.argument("mobile")
@click.option("--remove", is_flag=True, help="Take MOBILE off the blacklist instead.")
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
@pass_opts
def policy(opts: dict[str, Any], kind: str, value: str, remove: bool) -> None:
    """Server-wide lists: deny_ip IP/CIDR, blacklist MOBILE, sensitive_word WORD."""
    run(opts, lambda a: a.set_server_entry(kind, value, not remove))
    click.echo(json.dumps(run(opts, lambda a: a.server_policy()), ensure_ascii=False))


def _register_operator() -> None:
    from voiceotp.cli.operators import operator

    admin.add_command(operator)


_register_operator()
