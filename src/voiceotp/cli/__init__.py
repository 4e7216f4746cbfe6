"""The ``voiceotp`` command. Subcommands are imported only when they run, so
``voiceotp --help`` and ``voiceotp send`` never pay for the gateway's imports."""

from __future__ import annotations

import importlib
from typing import Any

import click

from voiceotp import __version__

# name -> "module:attribute" of a click command; one line per subcommand.
SUBCOMMANDS: dict[str, str] = {
    "audio": "voiceotp.cli.audio:audio",
    "send": "voiceotp.cli.send:send",
    "balance": "voiceotp.cli.send:balance",
    "query": "voiceotp.cli.send:query",
    "config": "voiceotp.cli.send:config",
    "batch": "voiceotp.cli.batch:batch",
    "serve": "voiceotp.cli.serve:serve",
    "admin": "voiceotp.cli.admin:admin",
    "db": "voiceotp.cli.db:db",
    "dialer": "voiceotp.cli.dialer:dialer",
    "demo": "voiceotp.cli.demo:demo",
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup, lazy=SUBCOMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="voiceotp")
def cli() -> None:
    """voiceotp — voice verification codes (语音验证码) over the ihuyi voice API."""


def main() -> None:
    cli()
