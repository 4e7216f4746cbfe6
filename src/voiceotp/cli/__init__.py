"""The ``voiceotp`` command. Subcommands are imported only when they run, so
``voiceotp --help`` and ``voiceotp send`` never pay for the gateway's imports."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO

import click

from voiceotp import __version__
from voiceotp.cli.exitcodes import ExitCode

# name -> "module:attribute" of a click command; one line per subcommand.
SUBCOMMANDS: dict[str, str] = {
    "audio": "voiceotp.cli.audio:audio",
    "send": "voiceotp.cli.send:send",
    "balance": "voiceotp.cli.lookup:balance",
    "query": "voiceotp.cli.lookup:query",
    "verify": "voiceotp.cli.verify:verify",
    "check": "voiceotp.cli.verify:check",
    "notify": "voiceotp.cli.notify:notify",
    "config": "voiceotp.cli.config:config",
    "batch": "voiceotp.cli.batch.command:batch",
    "serve": "voiceotp.cli.serve:serve",
    "admin": "voiceotp.cli.admin:admin",
    "db": "voiceotp.cli.db:db",
    "dialer": "voiceotp.cli.dialer:dialer",
    "demo": "voiceotp.cli.demo:demo",
}

# These set up their own logging (serve: the access log; dialer: a timestamped worker log).
OWN_LOGGING = frozenset({"serve", "dialer"})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"

EPILOG = """\b
Examples:
  voiceotp config init --account V12345678     # account + APIKEY into a 0600 file
  voiceotp send 13800138000 1234               # one call that speaks 1234
  voiceotp send 13800138000 --json             # a random code, the answer as JSON
  voiceotp balance                             # calls the account can still place
  voiceotp batch numbers.csv --dry-run         # validate, count, cost, check the balance
  voiceotp batch numbers.csv -c 20 --rate 50   # thousands, crash-safe
  voiceotp batch --resume numbers.journal      # after Ctrl-C or a crash
  voiceotp serve --dev                         # a local gateway with a simulated carrier
  voiceotp demo                                # an embedded gateway sends 5 codes
  voiceotp -v send 13800138000 1234            # with the client library's log

\b
Credentials: VOICEOTP_ACCOUNT and VOICEOTP_APIKEY, or the file `voiceotp config init`
writes. Every command has --help with examples (and exit codes where they matter).
"""


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

    def invoke(self, ctx: click.Context) -> Any:
        # Ctrl-C that no command handled itself (a balance, a query, the dry run's GetNum,
        # reading a config): exit 130 like the rest of the CLI, not click's "Aborted!" 1.
        # Commands that can place calls (send, batch) say more, and exit before this.
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is at each record: rich's live progress display and
    click's test runner replace it after the handler is made."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always the current sys.stderr


def resolve_log_level(verbose: int, named: str | None) -> int:
    """-v INFO, -vv DEBUG, else the named level, else ERROR; the more verbose one wins."""
    chosen = logging.getLevelName(named.upper()) if named else logging.ERROR
    if verbose:
        chosen = min(chosen, logging.INFO if verbose == 1 else logging.DEBUG)
    return int(chosen)


def configure_logging(level: int) -> Callable[[], None]:
    """Send the ``voiceotp`` loggers' records at ``level`` and above to stderr; return
    the undo (the CLI also runs inside other programs and tests)."""
    logger = logging.getLogger("voiceotp")
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    saved = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(saved)

    return undo


@click.group(
    cls=LazyGroup,
    lazy=SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EPILOG,
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Show the library's log on stderr: -v INFO (retries, refusals), -vv DEBUG.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    envvar="VOICEOTP_LOG_LEVEL",
    show_envvar=True,
    help="Least severe log record shown on stderr [default: ERROR]. Not for serve and"
    " dialer, which set up their own logs.",
)
@click.version_option(__version__, prog_name="voiceotp")
@click.pass_context
def cli(ctx: click.Context, verbose: int, log_level: str | None) -> None:
    """voiceotp — voice verification codes (语音验证码) over the ihuyi voice API."""
    if ctx.invoked_subcommand not in OWN_LOGGING:
        ctx.call_on_close(configure_logging(resolve_log_level(verbose, log_level)))


def main() -> None:
    cli()
