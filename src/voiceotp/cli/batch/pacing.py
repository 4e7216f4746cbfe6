"""How fast a batch sends, kept in its journal with the run: a resume keeps the pace.

A run at ``--rate 20`` resumed without its options used to go at the defaults (no rate
cap: ~1,800 requests/s), which the service's per-account limits answer with refusals and
a real carrier with a flood. So the first send records the pacing options in the journal;
a resume uses them, except those given again on its own command line, and says which it
kept (where they differ from the defaults) and which it changed. The changed ones are
recorded: the next resume keeps them.
"""

from __future__ import annotations

from typing import Any

import click
from click.core import ParameterSource

from voiceotp.client.batch import Journal

# argument name -> option, for the notes
PACING = {
    "concurrency": "--concurrency",
    "rate": "--rate",
    "max_attempts": "--max-attempts",
    "timeout": "--timeout",
}

Changes = dict[str, dict[str, Any]]


def given_on_command_line(ctx: click.Context) -> set[str]:
    """The pacing options the user gave to this invocation (not click's defaults)."""
    return {
        name
        for name in PACING
        if ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)
    }


def settle_pacing(
    journal: Journal, args: dict[str, Any], given: set[str]
) -> tuple[Changes, list[str]]:
    """Point ``args`` at the journal's pacing (recording it on a first send), keeping the
    options in ``given``; returns what changed (``{name: {"from": old, "to": new}}``) and
    notes for people."""
    stored = journal.meta().get("pacing")
    defaults = {name: args[name] for name in PACING}
    if not isinstance(stored, dict):
        journal.set_meta(pacing=defaults)
        return {}, []
    kept = {name: stored[name] for name in PACING if name in stored and name not in given}
    changed = {
        name: {"from": stored[name], "to": args[name]}
        for name in PACING
        if name in given and name in stored and stored[name] != args[name]
    }
    args.update(kept)
    journal.set_meta(pacing={name: args[name] for name in PACING})
    return changed, _notes(kept, changed, defaults)


def pacing_doc(args: dict[str, Any]) -> dict[str, Any]:
    """The pacing a run used, for ``--json``."""
    return {name: args[name] for name in PACING}


def _notes(kept: dict[str, Any], changed: Changes, defaults: dict[str, Any]) -> list[str]:
    notes = []
    differing = [name for name in PACING if name in kept and kept[name] != defaults[name]]
    if differing:
        options = " ".join(f"{PACING[name]} {_show(kept[name])}" for name in differing)
        notes.append(f"keeping this journal's {options} (give an option to change it)")
    if changed:
        changes = ", ".join(
            f"{PACING[name]} {_show(change['from'])} -> {_show(change['to'])}"
            for name, change in changed.items()
        )
        notes.append(f"changed for the rest of this run: {changes}")
    return notes


def _show(value: Any) -> str:
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)
