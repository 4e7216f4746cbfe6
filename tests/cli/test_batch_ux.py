"""``voiceotp batch`` at its edges: bad paths and inputs, Ctrl-C during the import, empty
inputs, --show-codes, the dry run's report, JSON usage errors."""

from __future__ import annotations

import csv
import json
import os
import signal
import stat
from pathlib import Path

import pytest

from tests.cli.conftest import voiceotp, wait_for
from tests.cli.test_batch import MOBILES, read_csv, run, write_csv
from voiceotp.testing import FakeIhuyi


@pytest.mark.parametrize("option", ["--results", "--failed", "--rejects", "--journal"])
def test_an_output_that_cannot_be_written_is_refused_before_sending(
    env: dict[str, str], fake: FakeIhuyi, option: str
) -> None:
    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES[:3]])
    result = run(env, str(source), option, "/nonexistent/dir/out.csv", "--json")
    assert result.exit_code == 2, result.output
    problem = "the directory /nonexistent/dir does not exist"
    assert json.loads(result.stdout) == {
        "ok": False,
        "error": f"{option} /nonexistent/dir/out.csv: {problem}",
    }
    assert fake.received == {}
    assert sorted(p.name for p in Path().iterdir()) == ["in.csv"]


def test_a_directory_as_output_is_refused(env: dict[str, str], fake: FakeIhuyi) -> None:
    Path("out").mkdir()
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234")])
    result = run(env, str(source), "--results", "out")
    assert result.exit_code == 2
    assert "'out' is a directory" in result.output
    assert fake.received == {}


def test_a_file_that_cannot_be_written_after_the_run_still_gets_the_summary(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    fake.script(MOBILES[1], 4030)
    Path("in.results.csv").mkdir()  # the default results path, taken
    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES[:3]])
    result = run(env, str(source))
    assert result.exit_code == 5, result.output
    assert "batch summary" in result.output
    assert "could not write the results file in.results.csv: Is a directory" in result.output
    assert "voiceotp batch --resume in.journal" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert read_csv(Path("in.failed.csv")) == [{"mobile": MOBILES[1], "code": "1234"}]
    Path("in.results.csv").rmdir()
    again = run(env, "--resume", "in.journal", "--json")  # writes the files, sends nothing
    assert json.loads(again.stdout)["files"]["results"] == "in.results.csv"
    assert fake.received == dict.fromkeys(MOBILES[:3], 1)


def test_write_errors_in_json(env: dict[str, str], fake: FakeIhuyi) -> None:
    Path("in.results.csv").mkdir()
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234")])
    result = run(env, str(source), "--json")
    assert result.exit_code == 5
    doc = json.loads(result.stdout)
    assert (doc["ok"], doc["exit_code"], doc["counts"]["sent"]) == (False, 5, 1)
    assert doc["write_errors"] == {
        "results": "could not write the results file in.results.csv: Is a directory"
    }


def test_a_directory_as_input_is_a_usage_error(env: dict[str, str]) -> None:
    result = run(env, ".")
    assert result.exit_code == 2
    assert "INPUT . is a directory" in result.output
    assert not isinstance(result.exception, ValueError)


@pytest.mark.parametrize("encoding", ["nonsense", "base64"])
def test_an_unknown_encoding_is_a_usage_error(env: dict[str, str], encoding: str) -> None:
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234")])
    result = run(env, str(source), "--encoding", encoding)
    assert result.exit_code == 2
    assert f"'{encoding}' is not a known text encoding" in result.output
    assert not Path("in.journal").exists()


@pytest.mark.parametrize("text", ["", "mobile,code\n", "\n\n"])
def test_an_input_without_rows_is_a_usage_error_and_leaves_no_journal(
    env: dict[str, str], text: str
) -> None:
    Path("in.csv").write_text(text, encoding="utf-8")
    result = run(env, "in.csv", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"].startswith("INPUT in.csv has no rows to send")
    assert sorted(p.name for p in Path().iterdir()) == ["in.csv"]
    assert run(env, "in.csv", "--dry-run", "--no-balance").exit_code == 2
    assert run(env, "-", "--journal", "s.journal", stdin="").exit_code == 2
    assert sorted(p.name for p in Path().iterdir()) == ["in.csv"]


def test_ctrl_c_during_the_import_exits_130_and_leaves_nothing(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    process = voiceotp(env, "batch", "-", "--journal", "s.journal", stdin=-1)
    assert process.stdin is not None
    process.stdin.write(MOBILES[0] + "\n")
    process.stdin.flush()
    wait_for(lambda: Path("s.journal.part").exists(), process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted while reading standard input; nothing was sent" in err
    assert "Aborted" not in err
    assert sorted(p.name for p in Path().iterdir()) == []
    assert fake.received == {}


def test_show_codes_puts_the_generated_codes_in_a_private_results_file(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    source = write_csv(Path("in.csv"), [(m, "") for m in MOBILES[:3]])
    result = run(env, str(source), "--show-codes", "--length", "4")
    assert result.exit_code == 0, result.output
    rows = read_csv(Path("in.results.csv"))
    spoken = {call.mobile: call.content for call in fake.calls}
    assert [r["spoken_code"] for r in rows] == [spoken[m] for m in MOBILES[:3]]
    assert all(len(r["spoken_code"]) == 4 for r in rows)
    assert stat.S_IMODE(os.stat("in.results.csv").st_mode) == 0o600
    assert MOBILES[0] not in Path("in.results.csv").read_text()  # still masked


def test_show_codes_gives_a_skipped_duplicate_the_code_its_callee_heard(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    numbers = [MOBILES[0], MOBILES[1], MOBILES[0], MOBILES[0]]
    source = write_csv(Path("in.csv"), [(m, "") for m in numbers])  # codes generated
    result = run(env, str(source), "--show-codes")
    assert result.exit_code == 0, result.output
    rows = read_csv(Path("in.results.csv"))
    heard = {call.mobile: call.content for call in fake.calls}
    assert len(fake.calls) == 2
    assert [r["status"] for r in rows] == ["sent", "sent", "skipped", "skipped"]
    assert [r["spoken_code"] for r in rows] == [heard[m] for m in numbers]


def test_without_show_codes_no_code_is_written(env: dict[str, str], fake: FakeIhuyi) -> None:
    source = write_csv(Path("in.csv"), [(m, "") for m in MOBILES[:3]])
    assert run(env, str(source), "--results", "out.jsonl").exit_code == 0
    text = Path("out.jsonl").read_text()
    assert "spoken_code" not in text
    assert not any(call.content in text for call in fake.calls)
    assert stat.S_IMODE(os.stat("out.jsonl").st_mode) == 0o644


def test_show_codes_in_jsonl(env: dict[str, str], fake: FakeIhuyi) -> None:
    source = write_csv(Path("in.csv"), [(MOBILES[0], "4321"), ("bad", "")])
    result = run(env, str(source), "--show-codes", "--results", "out.jsonl")
    assert result.exit_code == 1, result.output
    docs = [json.loads(line) for line in Path("out.jsonl").read_text().splitlines()]
    assert [d["spoken_code"] for d in docs] == ["4321", None]
    assert stat.S_IMODE(os.stat("out.jsonl").st_mode) == 0o600


def test_a_negative_price_is_refused(env: dict[str, str]) -> None:
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234")])
    result = run(env, str(source), "--dry-run", "--no-balance", "--price", "-3")
    assert result.exit_code == 2
    assert "--price" in result.output


def test_the_dry_run_says_where_the_rejects_file_went(env: dict[str, str]) -> None:
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234"), ("bad", "1234")])
    result = run(env, str(source), "--dry-run", "--no-balance", "--journal", "plan.journal")
    assert result.exit_code == 1
    assert "rejects: in.rejects.csv" not in result.output  # named after the journal
    assert "rejects: plan.rejects.csv" in result.output
    assert "voiceotp batch --resume plan.journal" in result.output
    with Path("plan.rejects.csv").open(encoding="utf-8") as handle:
        assert next(csv.DictReader(handle))["reason"] == "invalid mobile"


@pytest.mark.parametrize(
    "args",
    [
        [],  # neither INPUT nor --resume
        ["in.csv", "--length", "9"],  # a bad option value
        ["in.csv", "--no-such-option"],
        ["--resume", "x.journal", "--replay-unknown"],  # the command's own check
    ],
)
def test_usage_errors_are_json_with_json(env: dict[str, str], args: list[str]) -> None:
    result = run(env, *args, "--json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    assert doc["error"]
    assert "Usage:" not in result.output


def test_usage_errors_stay_text_without_json(env: dict[str, str]) -> None:
    result = run(env)
    assert result.exit_code == 2
    assert "Usage:" in result.output or "error" in result.output.lower()
    assert not result.stdout.startswith("{")
