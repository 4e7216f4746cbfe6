"""Running ``voiceotp admin`` commands: operator numbers checked before the store opens,
the existing store opened (never a new one), the Admin service's refusals as exit 2."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from voiceotp.cli.exitcodes import ExitCode
from voiceotp.cli.storeplace import load_settings, open_place, store_errors

__all__ = ["Bounded", "InvalidInput", "run"]

T = TypeVar("T")


class InvalidInput(click.ClickException):
    """An operator mistake the Admin service refused (exit 2, like a usage error)."""

    exit_code = ExitCode.USAGE


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
    """Open the existing store (never a new one), run ``action(admin)``, close; operator
    mistakes exit 2."""
    from voiceotp.delivery.factory import record_dir
    from voiceotp.gateway.admin import Admin, AdminError
    from voiceotp.store import make_store
    from voiceotp.store.keys import KeyBox

    settings = load_settings(**ctx_obj)

    async def go() -> T:
        import time

        await open_place(settings, command="voiceotp admin")
        store = make_store(settings)
        await store.open()
        try:
            audio = record_dir(settings.delivery, settings.data_dir)
            admin = Admin(store, KeyBox(settings.secret_key), time.time, audio_dir=audio)
            return await action(admin)
        finally:
            await store.close()

    try:
        with store_errors(settings):
            return asyncio.run(go())
    except AdminError as exc:
        raise InvalidInput(str(exc)) from exc
