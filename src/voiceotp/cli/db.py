"""``voiceotp db``: database schema tasks (Alembic)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from voiceotp.cli.storeplace import (
    gateway_options,
    load_settings,
    open_place,
    pass_opts,
    store_errors,
    subcommand_options,
    uses_default_data_dir,
)

DB_EXAMPLES = """Examples:

\b
  voiceotp db upgrade --dev                    # ./voiceotp-data (made when missing)
  voiceotp db upgrade --data-dir /srv/voiceotp
  voiceotp db upgrade --database-url postgresql://voiceotp@db/voiceotp

The options may also stand before the subcommand (voiceotp db --dev upgrade).
"""


@click.group(epilog=DB_EXAMPLES)
@gateway_options
@click.pass_context
def db(
    ctx: click.Context,
    config: Path | None,
    database_url: str | None,
    data_dir: Path | None,
    dev: bool,
) -> None:
    """Gateway database tasks."""
    ctx.obj = {"config": config, "database_url": database_url, "data_dir": data_dir, "dev": dev}


@db.command(epilog=DB_EXAMPLES)
@subcommand_options
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@pass_opts
def upgrade(opts: dict[str, Any], revision: str) -> None:
    """Apply schema migrations, making the store when there is none (`voiceotp serve`
    also applies them). Only the default data dir is made when missing."""
    settings = load_settings(**opts)
    make_folder = uses_default_data_dir(settings)
    with store_errors(settings):
        asyncio.run(
            open_place(
                settings,
                command="voiceotp db upgrade",
                create=True,
                make_folder=make_folder,
                revision=revision,
            )
        )
    Console().print(f"[green]database at revision {revision}[/green]")
