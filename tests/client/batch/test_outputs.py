from __future__ import annotations

import csv
import json
import re
import stat
from collections.abc import Callable
from pathlib import Path

from tests.client.batch.conftest import numbers
from voiceotp.client.batch import Journal, MemorySender, run_batch
from voiceotp.client.batch.outputs import write_failed, write_rejects, write_results

MakeJournal = Callable[..., Journal]
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def finished_journal(make_journal: MakeJournal) -> tuple[Journal, list[str]]:
    mobiles = numbers(3)
    journal = make_journal([(mobiles[0], "1234"), (mobiles[1], "5678"), ("bad", "1")])
    await run_batch(journal, MemorySender({mobiles[1]: [406]}))
    return journal, mobiles


async def test_results_csv_masks_numbers_and_never_holds_the_spoken_code(
    make_journal: MakeJournal, tmp_path: Path
) -> None:
    journal, mobiles = await finished_journal(make_journal)
    assert write_results(journal, tmp_path / "r.csv", show_numbers=False) == 3
    text = (tmp_path / "r.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert [r["mobile"] for r in rows] == [f"138****{mobiles[0][-4:]}", "138****0001", ""]
    assert [r["status"] for r in rows] == ["sent", "failed", "rejected"]
    assert [r["code"] for r in rows] == ["2", "406", ""]
    assert ISO.fullmatch(rows[0]["started_at"])
    assert ISO.fullmatch(rows[0]["finished_at"])
    assert "1234" not in text
    assert "5678" not in text


async def test_results_jsonl_with_full_numbers(make_journal: MakeJournal, tmp_path: Path) -> None:
    journal, mobiles = await finished_journal(make_journal)
    write_results(journal, tmp_path / "r.jsonl", show_numbers=True)
    docs = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert docs[0]["mobile"] == mobiles[0]
    assert docs[0]["code"] == 2
    assert docs[1]["msg"] == "手机格式不正确"
    assert docs[2]["reason"] == "invalid mobile"


async def test_failed_and_rejects_files_are_private(
    make_journal: MakeJournal, tmp_path: Path
) -> None:
    journal, mobiles = await finished_journal(make_journal)
    assert write_failed(journal, tmp_path / "f.csv") == 1
    assert write_rejects(journal, tmp_path / "x.csv") == 1
    assert (tmp_path / "f.csv").read_text().splitlines() == ["mobile,code", f"{mobiles[1]},5678"]
    assert (tmp_path / "x.csv").read_text().splitlines() == [
        "row,reason,input",
        '3,invalid mobile,"bad,1"',
    ]
    for name in ("f.csv", "x.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


async def test_results_with_spoken_codes_are_private_even_over_an_old_file(
    make_journal: MakeJournal, tmp_path: Path
) -> None:
    journal, _ = await finished_journal(make_journal)
    path = tmp_path / "r.csv"
    path.write_text("old\n")
    path.chmod(0o644)
    write_results(journal, path, show_numbers=False, show_codes=True)
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    assert [r["spoken_code"] for r in rows] == ["1234", "5678", ""]
    assert [r["code"] for r in rows] == ["2", "406", ""]  # the service's answer, as before
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_skipped_duplicate_carries_the_code_its_number_is_called_with(
    make_journal: MakeJournal, tmp_path: Path
) -> None:
    # Row 3 and 4 repeat row 1's number with other codes (4's generated): nobody hears
    # those; the callee of 138****0000 hears row 1's 1234, and the app must check that.
    mobiles = numbers(2)
    journal = make_journal(
        [(mobiles[0], "1234"), (mobiles[1], "5678"), (mobiles[0], "9999"), (mobiles[0], None)]
    )
    await run_batch(journal, MemorySender())
    write_results(journal, tmp_path / "r.csv", show_numbers=False, show_codes=True)
    rows = list(csv.DictReader((tmp_path / "r.csv").read_text(encoding="utf-8").splitlines()))
    assert [r["status"] for r in rows] == ["sent", "sent", "skipped", "skipped"]
    assert [r["spoken_code"] for r in rows] == ["1234", "5678", "1234", "1234"]
    assert [r["reason"] for r in rows[2:]] == ["duplicate of row 1"] * 2


async def test_results_with_full_numbers_are_private(
    make_journal: MakeJournal, tmp_path: Path
) -> None:
    journal, _ = await finished_journal(make_journal)
    write_results(journal, tmp_path / "r.jsonl", show_numbers=True)
    assert stat.S_IMODE((tmp_path / "r.jsonl").stat().st_mode) == 0o600
    write_results(journal, tmp_path / "m.jsonl", show_numbers=False)
    assert stat.S_IMODE((tmp_path / "m.jsonl").stat().st_mode) == 0o644
