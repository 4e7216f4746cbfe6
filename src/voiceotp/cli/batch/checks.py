"""``voiceotp batch``: what is checked before anything is imported or sent, and what is
cleaned up when an import ends without a run (Ctrl-C, nothing to send)."""

from __future__ import annotations

import codecs
import io
import os
import shutil
from pathlib import Path
from typing import Any

import click

from voiceotp.client.batch import Journal
from voiceotp.client.batch.sqlitefile import remove_database

# (option, key in the command's arguments): files the command writes.
OUTPUT_OPTIONS = (
    ("--journal", "journal_path"),
    ("--results", "results"),
    ("--failed", "failed"),
    ("--rejects", "rejects"),
)


def check_encoding(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A click callback: ``value`` must name a text encoding Python knows."""
    try:
        codecs.lookup(value)
        io.TextIOWrapper(io.BytesIO(), encoding=value)  # refuses base64, rot13 and the like
    except LookupError as exc:
        raise click.BadParameter(f"{value!r} is not a known text encoding (e.g. gbk)") from exc
    return value


def check_paths(input_path: str | None, args: dict[str, Any]) -> None:
    """Refuse an INPUT that is a directory and output paths that cannot be written, before
    a single call is placed (after the run, the calls would be placed and the files lost)."""
    if input_path not in (None, "-") and Path(input_path).is_dir():
        raise click.UsageError(f"INPUT {input_path} is a directory; give a file, or - for stdin")
    for option, key in OUTPUT_OPTIONS:
        path = args[key]
        problem = None if path is None else unwritable(Path(path))
        if problem is not None:
            raise click.UsageError(f"{option} {path}: {problem}")


def unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be created or overwritten here, or None."""
    if path.is_dir():
        return "is a directory"
    parent = path.parent
    if not parent.is_dir():
        return f"the directory {parent} does not exist"
    if path.exists():
        return None if os.access(path, os.W_OK) else "is not writable"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"the directory {parent} is not writable"
    return None


def remove_partial_import(journal_path: Path | None) -> None:
    """Delete what an interrupted import left (``<journal>.part`` and its WAL files)."""
    if journal_path is None:
        return
    remove_database(Path(f"{journal_path}.part"))


def is_empty(journal: Journal) -> bool:
    """No row at all: the input was empty or held only a header."""
    return sum(journal.counts().values()) == 0


def discard(journal: Journal, *, temporary: bool) -> None:
    """Close and delete a journal nothing will be sent from (with its temporary directory)."""
    journal.close()
    if temporary:
        shutil.rmtree(journal.path.parent, ignore_errors=True)
        return
    remove_database(journal.path)
