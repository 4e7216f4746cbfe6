"""``voiceotp notify`` against FakeIhuyi served over HTTP (the notification URL derived
from the code product's)."""

from __future__ import annotations

import json

from tests.cli.test_verify_cli import env, fake, run  # noqa: F401 - fixtures
from voiceotp.testing import FakeIhuyi

TEXT = "您的快递SF123已到达人民路站,请取件。"


def test_notify_speaks_the_text_and_refusals_exit_1(env: dict[str, str], fake: FakeIhuyi) -> None:  # noqa: F811
    refused = run(env, "notify", "02151290000", TEXT, "--json")
    assert refused.exit_code == 1, refused.output
    assert json.loads(refused.output)["result_code"] == 4071
    assert json.loads(refused.output)["hint"].startswith("no approved template")
    template_id = fake.add_template("您的快递【变量】已到达{station:12},请取件。")
    sent = run(env, "notify", "021-5129-0000", TEXT)
    assert sent.exit_code == 0, sent.output
    assert "02151290000" not in sent.output  # masked
    assert fake.spoken_notice("02151290000") == TEXT
    by_id = run(env, "notify", "13800138000", "SF9|站", "--template-id", str(template_id))
    assert by_id.exit_code == 0, by_id.output
    assert fake.spoken_notice("13800138000") == "您的快递SF9已到达站,请取件。"
    mismatch = run(env, "notify", "13800138000", "您好")
    assert mismatch.exit_code == 1
    assert "4072" in mismatch.output
    assert run(env, "notify", "12345", TEXT).exit_code == 2  # neither mobile nor landline


def test_an_accepted_notice_is_not_said_to_be_called(env: dict[str, str], fake: FakeIhuyi) -> None:  # noqa: F811
    # code 2 means accepted: the call comes later (after quiet hours, perhaps)
    fake.add_template("您的快递【变量】已到达{station:12},请取件。")
    sent = run(env, "notify", "02151290000", TEXT)
    assert sent.exit_code == 0, sent.output
    assert sent.output.startswith("accepted for 021****0000: voiceid "), sent.output


def test_template_refusals_say_what_to_do(env: dict[str, str], fake: FakeIhuyi) -> None:  # noqa: F811
    template_id = fake.add_template("您的快递【变量】已到达{station:12},请取件。")
    wrong_id = run(env, "notify", "13800138000", "SF9|站", "--template-id", str(template_id + 7))
    assert wrong_id.exit_code == 1
    assert "4071" in wrong_id.output
    assert "hint: no approved template" in wrong_id.output, wrong_id.output
    missing = run(env, "notify", "13800138000", "SF9", "--template-id", str(template_id))
    assert missing.exit_code == 1
    assert "hint: the content fills none" in missing.output, missing.output


def test_an_empty_notice_is_not_called_a_missing_code(env: dict[str, str], fake: FakeIhuyi) -> None:  # noqa: F811
    fake.add_template("您的快递【变量】已到达{station:12},请取件。")
    empty = run(env, "notify", "13800138000", "", "--json")
    assert empty.exit_code == 1, empty.output
    assert json.loads(empty.output)["hint"] == "no code (or notice text) was sent"
