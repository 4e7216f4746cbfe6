"""``voiceotp db``: database schema tasks (Alembic)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from voiceotp.cli.serve import gateway_options, load_settings


@click.group()
def db() -> None:
    """Gateway database tasks."""


@db.command()
@gateway_options
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade(
    config: Path | None, database_url: str | None, data_dir: Path | None, dev: bool, revision: str
) -> None:
    """Apply schema migrations (also done at every `voiceotp serve`)."""
    from voiceotp.store.migrate import upgrade as run_upgrade

    settings = load_settings(config, database_url, data_dir, dev)
    run_upgrade(settings.effective_database_url, revision)
    Console().print(f"[green]database at revision {revision}[/green]")
