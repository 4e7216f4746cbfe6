"""``voiceotp admin operator``: the people who sign in to the operator console;
``voiceotp admin customer``: the people who sign in to the user center for an account."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from voiceotp.cli.storeplace import (
    load_settings,
    open_place,
    pass_opts,
    store_errors,
    subcommand_options,
)

T = TypeVar("T")
console = Console()
KIND = "operator"

OPERATOR_EXAMPLES = """Examples:

\b
  voiceotp admin operator create alice --role admin        # asks for the password twice
  echo "$PASSWORD" | voiceotp admin operator create bob --role support --password-stdin
  voiceotp admin operator create carol --role admin --totp  # prints the TOTP secret once
  voiceotp admin operator list
  voiceotp admin operator sign-out alice                   # ends every session of alice
"""


def run_store(ctx_obj: dict[str, Any], action: Callable[[Any], Awaitable[T]]) -> T:
    """Open the existing store (never a new one: like every admin command), run
    ``action(store)``, close."""
    from voiceotp.store import make_store

    settings = load_settings(**ctx_obj)
    ctx = click.get_current_context(silent=True)
    command = ctx.command_path if ctx is not None else "voiceotp admin"

    async def go() -> T:
        await open_place(settings, command=command)
        store = make_store(settings)
        await store.open()
        try:
            return await action(store)
        finally:
            await store.close()

    with store_errors(settings):
        return asyncio.run(go())


@click.group(epilog=OPERATOR_EXAMPLES)
def operator() -> None:
    """Console operators (roles: admin = everything, support = read-only)."""


@operator.command()
@click.argument("login")
@click.option("--role", type=click.Choice(["admin", "support"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--totp", is_flag=True, help="Require a TOTP second factor (secret printed once).")
@subcommand_options
@pass_opts
def create(opts: dict[str, Any], login: str, role: str, password_stdin: bool, totp: bool) -> None:
    """Create an operator who signs in to /console/ as LOGIN."""
    from voiceotp.errors import StoreError
    from voiceotp.store.keys import KeyBox
    from voiceotp.store.web import create_web_user, update_web_user

    if not (0 < len(login) <= 64 and login.isprintable() and login.strip() == login):
        raise click.BadParameter(
            "1-64 printable characters, no surrounding spaces", param_hint="LOGIN"
        )
    encoded = _new_password(password_stdin)
    secret = None
    if totp:
        import pyotp

        secret = pyotp.random_base32()
    settings = load_settings(**opts)

    async def work(store: Any) -> None:
        import time

        user = await create_web_user(
            store, kind=KIND, login=login, password_hash=encoded, role=role, now=time.time()
        )
        if secret is not None:
            sealed = KeyBox(settings.secret_key).seal(secret)
            await update_web_user(store, user_id=user.id, totp_secret=sealed)

    try:
        run_store(opts, work)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"operator [bold]{login}[/bold] ({role}) created", highlight=False)
    if secret is not None:
        import pyotp

        uri = pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name="voiceotp console")
        console.print(f"TOTP secret (shown once): {secret}", markup=False)
        console.print(f"  {uri}", markup=False)


@operator.command("list")
@subcommand_options
@pass_opts
def list_operators(opts: dict[str, Any]) -> None:
    """List operators."""
    from voiceotp.store.web import list_web_users

    users = run_store(opts, lambda store: list_web_users(store, kind=KIND))
    table = Table("login", "role", "TOTP", "disabled")
    for user in users:
        table.add_row(user.login, user.role, str(bool(user.totp_secret)), str(user.disabled))
    console.print(table)


@operator.command("sign-out")
@click.argument("login")
@subcommand_options
@pass_opts
def sign_out(opts: dict[str, Any], login: str) -> None:
    """End every console session of LOGIN."""
    from voiceotp.store.web import get_web_user, revoke_session

    async def work(store: Any) -> bool:
        user = await get_web_user(store, kind=KIND, login=login)
        if user is None:
            return False
        await revoke_session(store, user_id=user.id)
        return True

    if not run_store(opts, work):
        raise click.ClickException(f"no operator {login}")
    console.print(f"{login}: every session ended", highlight=False)


def _new_password(from_stdin: bool) -> str:
    """A new password (standard input, or asked twice), hashed."""
    from voiceotp.errors import WebInputError
    from voiceotp.web.passwords import hash_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        return hash_password(password)
    except WebInputError as exc:
        raise click.BadParameter(str(exc), param_hint="password") from exc


CUSTOMER_EXAMPLES = """Examples:

\b
  voiceotp admin customer create 13800138000 --account V10000001   # asks for the password
  voiceotp admin customer list --account V10000001
  voiceotp admin customer sign-out 13800138000
"""


@click.group(epilog=CUSTOMER_EXAMPLES)
def customer() -> None:
    """User-center customers: people who sign in at /user/ for one account (an account
    may have several; visitors also open trial accounts themselves by voice code)."""


@customer.command("create")
@click.argument("mobile")
@click.option("--account", "account_name", required=True, help="The account (APIID).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@subcommand_options
@pass_opts
def create_customer(
    opts: dict[str, Any], mobile: str, account_name: str, password_stdin: bool
) -> None:
    """Create a customer of ACCOUNT who signs in to /user/ with MOBILE."""
    from voiceotp.errors import StoreError
    from voiceotp.protocol import is_valid_mobile
    from voiceotp.store.web import create_web_user

    if not is_valid_mobile(mobile):
        raise click.BadParameter("an 11-digit mainland mobile number", param_hint="MOBILE")
    encoded = _new_password(password_stdin)

    async def work(store: Any) -> None:
        import time

        account = await store.get_account(account_name)
        if account is None:
            raise click.ClickException(f"no account {account_name}")
        await create_web_user(
            store, kind="customer", login=mobile, password_hash=encoded, role="owner",
            now=time.time(), account_id=account.id,
        )  # fmt: skip

    try:
        run_store(opts, work)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"customer {mobile[:3]}****{mobile[-4:]} of {account_name} created")


@customer.command("list")
@click.option("--account", "account_name", default=None, help="Only this account's.")
@subcommand_options
@pass_opts
def list_customers(opts: dict[str, Any], account_name: str | None) -> None:
    """List customers (numbers masked) and their accounts."""
    from voiceotp.protocol import mask_mobile
    from voiceotp.store.web import list_web_users

    async def work(store: Any) -> list[tuple[str, str, bool]]:
        names = {a.id: a.name for a in await store.list_accounts()}
        users = await list_web_users(store, kind="customer")
        return [
            (mask_mobile(u.login), names.get(u.account_id, "?"), u.disabled)
            for u in users
            if account_name is None or names.get(u.account_id) == account_name
        ]

    table = Table("login", "account", "disabled")
    for login, name, disabled in run_store(opts, work):
        table.add_row(login, name, str(disabled))
    console.print(table)


@customer.command("sign-out")
@click.argument("mobile")
@subcommand_options
@pass_opts
def sign_out_customer(opts: dict[str, Any], mobile: str) -> None:
    """End every user-center session of MOBILE."""
    from voiceotp.store.web import get_web_user, revoke_session

    async def work(store: Any) -> bool:
        user = await get_web_user(store, kind="customer", login=mobile)
        if user is None:
            return False
        await revoke_session(store, user_id=user.id)
        return True

    if not run_store(opts, work):
        raise click.ClickException("no such customer")
    console.print("every session ended", highlight=False)
