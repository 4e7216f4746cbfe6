"""How the client commands print: JSON on stdout with ``--json``, else people's text on
stderr, never hard-wrapped (an error split over lines is hard to grep), and usage errors
as JSON too when ``--json`` was given."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from voiceotp.cli.exitcodes import ExitCode

ErrorDoc = Callable[[str], dict[str, Any]]


def stderr_console() -> Console:
    """Messages for people; a long line stays one line when stderr is not a terminal."""
    return Console(stderr=True, soft_wrap=True, highlight=False)


def print_json(doc: dict[str, Any]) -> None:
    click.echo(json.dumps(doc, ensure_ascii=False))


def exit_with_error(message: str, *, as_json: bool, code: ExitCode) -> NoReturn:
    """``{"ok": false, "error": message}`` on stdout, or ``error: message`` on stderr."""
    if as_json:
        print_json(message_doc(message))
    else:
        stderr_console().print(f"[red]error[/red]: {escape(message)}")
    sys.exit(code)


def message_doc(message: str) -> dict[str, Any]:
    """The batch command's error object."""
    return {"ok": False, "error": message}


def usage_error_doc(message: str) -> dict[str, Any]:
    """The error object of send/balance/query/config, whose ``error`` names the kind."""
    return {"ok": False, "error": "UsageError", "message": message}


class JsonUsageError(click.UsageError):
    """A usage error shown as one JSON object on stdout (exit 2)."""

    def __init__(self, message: str, doc: ErrorDoc) -> None:
        super().__init__(message)
        self.doc = doc

    def show(self, file: IO[Any] | None = None) -> None:
        print_json(self.doc(self.format_message()))


class JsonCommand(click.Command):
    """A command with ``--json``: with it, usage errors — click's own (missing argument,
    bad option value) and the command's — are JSON like every other answer."""

    def __init__(self, *args: Any, error_doc: ErrorDoc = usage_error_doc, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_doc = error_doc

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        as_json = _asks_for_json(args)  # before parsing, which consumes args
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            if as_json:
                raise JsonUsageError(exc.format_message(), self.error_doc) from exc
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if ctx.params.get("as_json") and not isinstance(exc, JsonUsageError):
                raise JsonUsageError(exc.format_message(), self.error_doc) from exc
            raise


def _asks_for_json(args: Sequence[str]) -> bool:
    options = args[: args.index("--")] if "--" in args else args
    return "--json" in options
