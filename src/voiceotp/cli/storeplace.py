"""Where the gateway commands find their store, and which of them may make one.

The options --config, --database-url, --data-dir and --dev mean the same to every gateway
command. ``serve`` and ``dialer`` take them; the ``admin`` and ``db`` groups take them
before and after the subcommand alike (``admin --dev create`` = ``admin create --dev``).

Only ``serve``, ``db upgrade`` and ``demo`` make a new store, and the only folder made
for one is the default data dir (./voiceotp-data; demo: its --data-dir). A folder named by
an option, a variable, the settings file or a sqlite URL must exist: a typo must not start
an empty store beside the real one. ``admin`` and ``dialer`` refuse a missing store and
say where they looked and how to point them at the right one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from click.core import ParameterSource

__all__ = [
    "gateway_options",
    "load_settings",
    "open_place",
    "pass_opts",
    "store_errors",
    "subcommand_options",
    "uses_default_data_dir",
]

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_DATA_DIR = Path("./voiceotp-data")  # Settings.data_dir's default
pass_opts = click.make_pass_decorator(dict)


def _options(**extra: Any) -> list[Callable[[Any], Any]]:
    return [
        click.option(
            "--config",
            type=click.Path(path_type=Path, dir_okay=False),
            envvar="VOICEOTP_CONFIG",
            help="TOML settings file ([gateway] table).",
            **extra,
        ),
        click.option(
            "--database-url",
            help="sqlite:///path or postgresql://user@host/db (default: SQLite in the data"
            " dir; VOICEOTP_DATABASE_URL).",
            **extra,
        ),
        click.option(
            "--data-dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="Folder for the SQLite database and recorded calls (default"
            " ./voiceotp-data; VOICEOTP_DATA_DIR).",
            **extra,
        ),
        click.option(
            "--dev",
            is_flag=True,
            default=False,
            help="Development mode: well-known secrets are allowed and filled in (same as"
            " VOICEOTP_DEV_MODE=1). Never on a reachable server.",
            **extra,
        ),
    ]


def _apply(command: F, options: list[Callable[[Any], Any]]) -> F:
    decorated: Any = command
    for option in reversed(options):
        decorated = option(decorated)
    return cast(F, decorated)


def gateway_options(command: F) -> F:
    """The shared options as parameters of ``command`` (config, database_url, data_dir,
    dev); settings also come from VOICEOTP_*."""
    return _apply(command, _options())


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A subcommand's own spelling of a group option: given on the command line, it wins
    over the group's (an environment variable read again here must not)."""
    if param.name and ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE:
        ctx.ensure_object(dict)[param.name] = value


def subcommand_options(command: F) -> F:
    """The shared options on a subcommand of a group that takes them too: they update the
    group's ``ctx.obj`` (read it with ``pass_opts``)."""
    return _apply(command, _options(expose_value=False, callback=_remember))


def load_settings(
    config: Path | None, database_url: str | None, data_dir: Path | None, dev: bool, **more: Any
) -> Any:
    """Settings from file + environment + these options, or a clean CLI error."""
    from voiceotp.gateway.settings import Settings, SettingsError

    try:
        return Settings.load(
            config,
            database_url=database_url,
            data_dir=data_dir,
            dev_mode=True if dev else None,
            **more,
        )
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def uses_default_data_dir(settings: Any) -> bool:
    """SQLite in ./voiceotp-data, named by nobody: the one folder ``serve`` may make."""
    return not settings.database_url and Path(settings.data_dir) == DEFAULT_DATA_DIR


@contextlib.contextmanager
def store_errors(settings: Any) -> Iterator[None]:
    """A database that cannot be reached or opened is one line, not a traceback."""
    from voiceotp.cli.banner import masked_url
    from voiceotp.store import StoreUnavailable

    try:
        yield
    except StoreUnavailable as exc:
        url = masked_url(settings.effective_database_url)
        raise click.ClickException(
            f"cannot open the database {url}: {exc}. Check --database-url"
            " (a PostgreSQL database must exist: createdb NAME) and that the server runs."
        ) from None


async def open_place(
    settings: Any,
    *,
    command: str,
    create: bool = False,
    make_folder: bool = False,
    revision: str = "head",
) -> None:
    """Check the store's place, then migrate it to ``revision``.

    ``create``: a new store may be made (serve, db upgrade, demo), in an existing folder
    or, with ``make_folder``, in one made now. Otherwise a missing store is refused."""
    from voiceotp.store.migrate import current_revision, upgrade_async

    url = settings.effective_database_url
    folder = _sqlite_folder(url)
    if folder is not None and not folder.is_dir():
        if not create:
            raise click.ClickException(no_store_message(settings, command))
        if not make_folder:
            raise click.ClickException(missing_folder_message(settings, folder))
        folder.mkdir(parents=True, exist_ok=True)
    if not create and await current_revision(url) is None:
        raise click.ClickException(no_store_message(settings, command))
    await upgrade_async(url, revision)


def _sqlite_folder(url: str) -> Path | None:
    from voiceotp.store import is_postgres_url, sqlite_path

    return None if is_postgres_url(url) else sqlite_path(url).parent


def no_store_message(settings: Any, command: str) -> str:
    """Where ``command`` looked, and how to point it at the store serve uses."""
    from voiceotp.cli.banner import masked_url
    from voiceotp.store import sqlite_path

    url = settings.effective_database_url
    folder = _sqlite_folder(url)
    if folder is None:
        where = f"in the database {masked_url(url)} (it has no voiceotp tables)"
    else:
        notes = []
        if uses_default_data_dir(settings):
            notes.append(f"the default data dir ./voiceotp-data, in {Path.cwd()}")
        if not folder.is_dir():
            notes.append("that folder does not exist")
        where = f"at {sqlite_path(url).absolute()}"
        where += f" ({'; '.join(notes)})" if notes else ""
    return (
        f"no voiceotp store {where}. `{command}` works on an existing store, the one"
        " `voiceotp serve` uses: point it there with --data-dir DIR or --database-url URL"
        " (or VOICEOTP_DATA_DIR / VOICEOTP_DATABASE_URL), as given to serve."
        " `voiceotp db upgrade` with them makes a new, empty store."
    )


def missing_folder_message(settings: Any, folder: Path) -> str:
    from voiceotp.cli.banner import masked_url

    if settings.database_url:
        named = f"the folder {folder} of the database URL {masked_url(settings.database_url)}"
        fix = "correct --database-url / VOICEOTP_DATABASE_URL"
    else:
        named = f"the data dir {folder}"
        fix = "point --data-dir / VOICEOTP_DATA_DIR at the folder you meant"
    return (
        f"{named} does not exist; nothing was created. Create it first"
        f" (mkdir -p {folder}) or {fix}."
    )
