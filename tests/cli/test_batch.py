"""``voiceotp batch`` through click's runner, against FakeIhuyi served over HTTP."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner, Result

from tests.client.test_http import closed_port_url
from tests.error_page import serve_error_page
from voiceotp.cli import cli
from voiceotp.cli.batch.run import engine_options
from voiceotp.testing import DEFAULT_ACCOUNT, FakeIhuyi

MOBILES = [f"1380013{i:04d}" for i in range(10)]


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["batch", "--no-progress", *args], env=env, input=stdin)


def write_csv(path: Path, rows: list[tuple[str, str]], header: str = "mobile,code") -> Path:
    path.write_text(header + "\n" + "".join(f"{m},{c}\n" for m, c in rows), encoding="utf-8")
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def states(journal: Path) -> dict[str, int]:
    with sqlite3.connect(journal) as conn:
        return dict(conn.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())


def test_help_has_examples_and_exit_codes(env: dict[str, str]) -> None:
    result = run(env, "--help")
    assert result.exit_code == 0
    assert "voiceotp batch --resume numbers.journal" in result.output
    assert "Exit codes" in result.output


def test_sends_every_row_and_writes_masked_results(env: dict[str, str], fake: FakeIhuyi) -> None:
    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES])
    result = run(env, str(source), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["counts"]["sent"] == 10
    assert doc["finished"] is True
    assert doc["resume"] is None
    assert fake.submits == dict.fromkeys(MOBILES, 1)
    rows = read_csv(Path("in.results.csv"))
    assert [r["mobile"] for r in rows] == [f"138****{m[-4:]}" for m in MOBILES]
    assert {r["voiceid"] for r in rows} == {c.voiceid for c in fake.calls}
    assert all(r["status"] == "sent" and r["code"] == "2" for r in rows)
    assert MOBILES[0] not in Path("in.results.csv").read_text()


def test_rejects_duplicates_and_failures_give_exit_1_and_files(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    fake.script(MOBILES[1], 4030)
    rows = [(MOBILES[0], "1234"), (MOBILES[1], "1234"), ("123", "1234"), (MOBILES[0], "9999")]
    source = write_csv(Path("in.csv"), rows)
    result = run(env, str(source), "--results", "out.jsonl", "--show-numbers")
    assert result.exit_code == 1, result.output
    assert [json.loads(line)["status"] for line in Path("out.jsonl").read_text().splitlines()] == [
        "sent",
        "failed",
        "rejected",
        "skipped",
    ]
    assert json.loads(Path("out.jsonl").read_text().splitlines()[0])["mobile"] == MOBILES[0]
    assert read_csv(Path("in.rejects.csv")) == [
        {"row": "3", "reason": "invalid mobile", "input": "123,1234"}
    ]
    assert read_csv(Path("in.failed.csv")) == [{"mobile": MOBILES[1], "code": "1234"}]
    assert "4030" in result.output
    # The failed file is valid input as it stands.
    again = run(env, "in.failed.csv", "--json")
    assert again.exit_code == 0, again.output
    assert fake.submits[MOBILES[1]] == 1
    assert fake.received[MOBILES[1]] == 2


def test_allow_duplicates_sends_each_occurrence(env: dict[str, str], fake: FakeIhuyi) -> None:
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234"), (MOBILES[0], "5678")])
    result = run(env, str(source), "--allow-duplicates")
    assert result.exit_code == 0, result.output
    assert fake.submits[MOBILES[0]] == 2


def test_dry_run_counts_costs_and_checks_the_balance_without_sending(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    rows = [(m, "") for m in MOBILES[:5]] + [(MOBILES[0], ""), ("bad", "")]
    source = write_csv(Path("in.csv"), rows, header="手机号,验证码")
    result = run(env, str(source), "--dry-run", "--price", "0.05", "--json")
    doc = json.loads(result.stdout)
    assert (doc["rows"], doc["to_send"], doc["rejected"], doc["duplicates"]) == (7, 5, 1, 1)
    assert doc["cost"] == 0.25
    assert doc["balance"] == 1000
    assert result.exit_code == 1  # a row was rejected
    assert fake.received == {}
    assert not Path("in.journal").exists()


def test_dry_run_fails_when_the_balance_is_short(env: dict[str, str], fake: FakeIhuyi) -> None:
    fake.accounts[DEFAULT_ACCOUNT].balance = 3
    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES[:5]])
    result = run(env, str(source), "--dry-run")
    assert result.exit_code == 4, result.output
    assert "NOT enough" in result.output
    assert fake.received == {}


def test_dry_run_journal_can_then_be_sent_with_resume(env: dict[str, str], fake: FakeIhuyi) -> None:
    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES[:3]])
    assert run(env, str(source), "--dry-run", "--journal", "plan.journal").exit_code == 0
    assert fake.received == {}
    result = run(env, "--resume", "plan.journal")
    assert result.exit_code == 0, result.output
    assert fake.submits == dict.fromkeys(MOBILES[:3], 1)


def test_account_code_stops_with_exit_4_and_resume_finishes(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    fake.script(MOBILES[3], 4051)
    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES])
    result = run(env, str(source), "-c", "1")
    assert result.exit_code == 4, result.output
    assert "4051" in result.output
    assert "voiceotp batch --resume in.journal" in result.output
    assert states(Path("in.journal")) == {"sent": 3, "pending": 7}
    resumed = run(env, "--resume", "in.journal")
    assert resumed.exit_code == 0, resumed.output
    assert fake.submits == dict.fromkeys(MOBILES, 1)


def test_lost_answer_is_unknown_then_replayed_exactly(env: dict[str, str], fake: FakeIhuyi) -> None:
    fake.dedupe = True
    fake.lose_responses(MOBILES[2])
    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES[:4]])
    result = run(env, str(source), "--timeout", "2")
    assert result.exit_code == 6, result.output
    assert "unknown outcome" in result.output
    assert states(Path("in.journal")) == {"sent": 3, "unknown": 1}
    assert run(env, "--resume", "in.journal").exit_code == 6  # kept unknown by default
    assert fake.received[MOBILES[2]] == 1
    replay = run(env, "--resume", "in.journal", "--replay-unknown", "--dedupe", "--json")
    assert replay.exit_code == 0, replay.output
    assert fake.submits[MOBILES[2]] == 1  # answered from the first call: no second call
    assert fake.received[MOBILES[2]] == 2
    voiceids = {r["voiceid"] for r in read_csv(Path("in.results.csv"))}
    assert voiceids == {c.voiceid for c in fake.calls}


def test_replay_needs_dedupe_and_excludes_resend(env: dict[str, str]) -> None:
    assert run(env, "--resume", "x.journal", "--replay-unknown").exit_code == 2
    result = run(env, "--resume", "x.journal", "--replay-unknown", "--resend-unknown")
    assert result.exit_code == 2


def test_input_or_resume_but_not_both(env: dict[str, str]) -> None:
    assert run(env).exit_code == 2
    assert run(env, "in.csv", "--resume", "x.journal").exit_code == 2


def test_resume_of_a_missing_journal_and_reuse_of_an_existing_one_are_usage_errors(
    env: dict[str, str],
) -> None:
    assert run(env, "--resume", "missing.journal").exit_code == 2
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234")])
    assert run(env, str(source)).exit_code == 0
    again = run(env, str(source), "--json")
    assert again.exit_code == 2
    assert "already exists" in json.loads(again.stdout)["error"]


def test_stdin_one_number_per_line_with_generated_codes(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    result = run(env, "-", "--journal", "s.journal", "--length", "4", stdin="\n".join(MOBILES[:3]))
    assert result.exit_code == 0, result.output
    assert sorted(fake.submits) == MOBILES[:3]
    assert all(len(call.content) == 4 for call in fake.calls)


def test_undecodable_input_is_a_usage_error(env: dict[str, str]) -> None:
    Path("gbk.csv").write_bytes("手机号,验证码\n13800130000,1234\n".encode("gbk"))
    result = run(env, "gbk.csv")
    assert result.exit_code == 2
    assert "--encoding gbk" in result.output
    assert run(env, "gbk.csv", "--encoding", "gbk", "--journal", "g.journal").exit_code == 0


def test_an_import_that_fails_halfway_leaves_no_part_file(env: dict[str, str]) -> None:
    rows = "".join(f"{m},1234\n" for m in MOBILES).encode()
    Path("in.csv").write_bytes(b"mobile,code\n" + rows * 500 + b"\xff\xfe,1234\n")  # not UTF-8
    result = run(env, "in.csv")
    assert result.exit_code == 2, result.output
    assert "--encoding gbk" in result.output
    assert sorted(p.name for p in Path().iterdir()) == ["in.csv"]


def test_missing_credentials_are_a_configuration_error(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    del env["VOICEOTP_APIKEY"]
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234")])
    result = run(env, str(source))
    assert result.exit_code == 3, result.output
    assert fake.received == {}


def test_dry_run_writes_rejects_beside_the_input_and_leaves_no_journal(
    env: dict[str, str],
) -> None:
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234"), ("bad", "1234")])
    result = run(env, str(source), "--dry-run", "--no-balance", "--json")
    doc = json.loads(result.stdout)
    assert doc["rejects_file"] == "in.rejects.csv"
    assert read_csv(Path("in.rejects.csv"))[0]["reason"] == "invalid mobile"
    assert sorted(p.name for p in Path().iterdir()) == ["in.csv", "in.rejects.csv"]


def test_rate_refusal_slows_down_and_the_row_is_sent_on_retry(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    fake.script(MOBILES[0], 4090)
    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES[:3]])
    result = run(env, str(source), "--rate", "50", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["slowdowns"] == 1
    assert doc["requests"] == 4
    assert read_csv(Path("in.results.csv"))[0]["attempts"] == "2"
    assert fake.submits == dict.fromkeys(MOBILES[:3], 1)


def test_dry_run_without_an_account_leaves_the_balance_unchecked(
    env: dict[str, str],
) -> None:
    del env["VOICEOTP_ACCOUNT"]
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234")])
    result = run(env, str(source), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["balance"] is None
    assert doc["balance_error"].startswith("ConfigError")


def test_dry_run_with_the_service_unreachable_exits_7(env: dict[str, str]) -> None:
    # 7 is batch's "the service was unreachable" (docs/batch.md); 5 means a file there.
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234")])
    url = closed_port_url()
    result = run(env, str(source), "--dry-run", "--base-url", url)
    assert result.exit_code == 7, result.output
    assert f"balance: not checked (ConnectError: could not connect to {url}" in result.stderr
    with serve_error_page() as broken:
        assert run(env, str(source), "--dry-run", "--base-url", broken).exit_code == 7


def test_dry_run_with_a_wrong_key_is_an_account_refusal(env: dict[str, str]) -> None:
    env["VOICEOTP_APIKEY"] = "f" * 32
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234")])
    result = run(env, str(source), "--dry-run", "--json")
    assert result.exit_code == 4, result.output
    assert "405" in json.loads(result.stdout)["balance_error"]


def test_resume_after_a_crash_during_import_says_to_run_the_input_again(
    env: dict[str, str],
) -> None:
    Path("in.journal.part").write_bytes(b"")
    result = run(env, "--resume", "in.journal")
    assert result.exit_code == 2
    assert "import was interrupted" in result.output
    source = write_csv(Path("in.csv"), [(MOBILES[0], "1234")])
    assert run(env, str(source)).exit_code == 0
    assert not Path("in.journal.part").exists()


def test_a_resume_sends_where_the_run_started_unless_retargeted(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    fake.script(MOBILES[3], 4051)
    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES])
    assert run(env, str(source), "-c", "1").exit_code == 4
    elsewhere = {**env, "VOICEOTP_BASE_URL": "http://127.0.0.1:9/webservice/voice.php"}
    explicit = run(
        elsewhere, "--resume", "in.journal", "--base-url", elsewhere["VOICEOTP_BASE_URL"]
    )
    assert explicit.exit_code == 2
    assert "--retarget" in explicit.output
    assert states(Path("in.journal")) == {"sent": 3, "pending": 7}  # nothing sent
    before = dict(fake.submits)
    other = FakeIhuyi(balance=1000)
    with other.serve() as second:
        retargeted = run(env, "--resume", "in.journal", "--base-url", second.url, "--retarget")
    assert retargeted.exit_code == 0, retargeted.output
    assert other.submits == dict.fromkeys(MOBILES[3:], 1)  # the rest went to the new one
    assert fake.submits == before


def test_a_resume_ignores_a_changed_environment(env: dict[str, str], fake: FakeIhuyi) -> None:
    fake.script(MOBILES[3], 4051)
    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES])
    assert run(env, str(source), "-c", "1").exit_code == 4
    elsewhere = {**env, "VOICEOTP_BASE_URL": "http://127.0.0.1:9/webservice/voice.php"}
    resumed = run(elsewhere, "--resume", "in.journal")
    assert resumed.exit_code == 0, resumed.output
    assert "where this journal's run started" in resumed.output
    assert fake.submits == dict.fromkeys(MOBILES, 1)


def test_connect_failures_leave_rows_pending_with_exit_7_and_resume_sends_them(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    from tests.client.test_http import closed_port_url

    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES[:4]])
    down = ["--base-url", closed_port_url(), "--max-attempts", "1", "-c", "4"]
    result = run(env, str(source), *down, "--json")
    assert result.exit_code == 7, result.output
    doc = json.loads(result.stdout)
    assert (doc["finished"], doc["stopped"]) == (False, None)  # 4 rows: below the limit
    assert doc["resume"] == "voiceotp batch --resume in.journal"
    assert states(Path("in.journal")) == {"pending": 4}
    assert {r["reason"][:15] for r in read_csv(Path("in.results.csv"))} == {"connect failed:"}
    assert not Path("in.failed.csv").exists()
    # The service is back (here: at another address, hence --retarget).
    back = ["--base-url", env["VOICEOTP_BASE_URL"], "--retarget"]
    resumed = run(env, "--resume", "in.journal", *back)
    assert resumed.exit_code == 0, resumed.output
    assert fake.submits == dict.fromkeys(MOBILES[:4], 1)


def test_an_unreachable_service_stops_the_run_with_exit_7(env: dict[str, str]) -> None:
    from tests.client.test_http import closed_port_url

    numbers = [f"1390013{i:04d}" for i in range(30)]
    source = write_csv(Path("in.csv"), [(m, "1234") for m in numbers])
    down = ["--base-url", closed_port_url(), "--max-attempts", "1", "-c", "2"]
    result = run(env, str(source), *down)
    assert result.exit_code == 7, result.output
    said = " ".join(result.output.split())
    assert "stopped: the service is unreachable:" in said
    assert "resume later" in said
    assert "resume with: voiceotp batch --resume in.journal" in said
    assert states(Path("in.journal")) == {"pending": 30}
    assert "7 the service was unreachable" in " ".join(run(env, "--help").output.split())


def test_a_service_answering_error_pages_stops_the_run_with_exit_7(env: dict[str, str]) -> None:
    numbers = [f"1390013{i:04d}" for i in range(30)]
    source = write_csv(Path("in.csv"), [(m, "1234") for m in numbers])
    with serve_error_page() as url:
        result = run(env, str(source), "--base-url", url, "-c", "2", "--json")
    assert result.exit_code == 7, result.output
    doc = json.loads(result.stdout)
    assert doc["stopped"]["kind"] == "service"
    assert doc["stopped"]["message"].startswith("the service's answers are unreadable")
    assert 10 <= doc["counts"]["unknown"] <= 11  # the limit at -c 2, plus one in flight
    assert doc["counts"]["pending"] == 30 - doc["counts"]["unknown"]
    assert doc["counts"]["failed"] == 0


def test_the_command_tunes_the_collector_of_its_own_process() -> None:
    # The library leaves the garbage collector alone unless asked; the command owns its
    # process and asks (docs/batch.md, "What makes it fast").
    args = {"concurrency": 3, "rate": None, "max_attempts": 2}
    args |= {"replay_unknown": False, "resend_unknown": False}
    assert engine_options(args).freeze_gc is True
