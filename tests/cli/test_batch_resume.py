"""``voiceotp batch --resume``: a resume keeps how the run paced itself (issue 10, item 3)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_batch import MOBILES, run, write_csv
from voiceotp.testing import FakeIhuyi

PACED = ("-c", "2", "--rate", "20", "--max-attempts", "2", "--timeout", "5")


def stopped_run(env: dict[str, str], fake: FakeIhuyi, *options: str) -> None:
    """A run that the account code 4051 stops at row 4 (and row 7 on its first resume)."""
    fake.script(MOBILES[3], 4051)
    fake.script(MOBILES[6], 4051)
    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES])
    assert run(env, str(source), *options).exit_code == 4


def test_a_resume_keeps_the_pace_the_run_started_with(env: dict[str, str], fake: FakeIhuyi) -> None:
    stopped_run(env, fake, *PACED)
    resumed = run(env, "--resume", "in.journal", "--json")
    assert resumed.exit_code == 4, resumed.output  # stopped again, at row 7
    doc = json.loads(resumed.stdout)
    assert doc["pacing"] == {"concurrency": 2, "rate": 20.0, "max_attempts": 2, "timeout": 5.0}
    assert doc["pacing_changed"] == {}


def test_a_resume_says_what_it_kept_and_what_it_changed(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    stopped_run(env, fake, *PACED)
    resumed = run(env, "--resume", "in.journal", "--rate", "50", "--timeout", "5")
    assert resumed.exit_code == 4, resumed.output
    # --timeout 5 was given again, the same as the run's: neither kept nor changed
    assert "note: keeping this journal's --concurrency 2 --max-attempts 2 (" in resumed.stderr
    assert "note: changed for the rest of this run: --rate 20 -> 50" in resumed.stderr
    again = run(env, "--resume", "in.journal", "--json")  # the change is kept from now on
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["pacing"]["rate"] == 50.0
    assert fake.submits == dict.fromkeys(MOBILES, 1)


def test_a_first_run_notes_nothing_about_pacing(env: dict[str, str], fake: FakeIhuyi) -> None:
    source = write_csv(Path("in.csv"), [(m, "1234") for m in MOBILES[:3]])
    result = run(env, str(source), "--rate", "20")
    assert result.exit_code == 0, result.output
    assert "note:" not in result.stderr
