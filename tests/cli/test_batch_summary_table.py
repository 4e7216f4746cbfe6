"""The batch summary shows each refusal's whole message (4072 names what failed)."""

from __future__ import annotations

import io

from rich.console import Console

from voiceotp.cli.batch.report import summary_table
from voiceotp.client.batch import BatchSummary, State

MSG = "提交的语音内容必须与报备过的模板格式相匹配(模板1:变量{变量1}之后应为「已到达」)"


def test_a_long_message_is_folded_not_cut() -> None:
    counts = dict.fromkeys(State, 0) | {State.SENT: 9, State.FAILED: 1}
    summary = BatchSummary(counts, [(2, "提交成功", State.SENT, 9), (4072, MSG, State.FAILED, 1)])
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(summary_table(summary))
    shown = console.export_text()
    rows = [line.split("│") for line in shown.splitlines() if line.startswith("│")]
    column = "".join(cells[3].strip() for cells in rows if len(cells) == 6)
    assert MSG in column, shown
