"""The progress bar of ``voiceotp batch``, fed by the engine's outcome hook."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from voiceotp.client.batch import Outcome, State
from voiceotp.client.batch.items import FINAL_STATES


class RateColumn(TextColumn):
    """Rows per second, as rich measures them."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Any) -> Any:
        speed = task.finished_speed or task.speed
        self.text_format = f"{speed:,.0f}/s" if speed else "-/s"
        return super().render(task)


class BatchProgress:
    """A rich progress bar fed by the engine's outcome hook (rows finished, rate, ETA)."""

    def __init__(self, console: Console, total: int, *, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn("[bold]sending"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self._task = self._progress.add_task("send", total=total)
        self.failed = 0

    def __enter__(self) -> BatchProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def note(self, message: str) -> None:
        """A line for the user above the bar (or alone, without one), unwrapped."""
        self._progress.console.print(message, markup=False, highlight=False, soft_wrap=True)

    def on_outcome(self, outcome: Outcome) -> None:
        if outcome.state in FINAL_STATES:
            self._progress.advance(self._task)
            if outcome.state is not State.SENT:
                self.failed += 1
