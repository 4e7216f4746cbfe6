"""``voiceotp admin customer``: several customers for one account, who sign in at /user/."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from voiceotp.cli import cli

PASSWORD = "correct horse battery"


def test_customer_create_list_and_sign_out(tmp_path: Path) -> None:
    runner = CliRunner(env={"VOICEOTP_DEV_MODE": "1", "VOICEOTP_DATA_DIR": str(tmp_path)})
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(cli, ["admin", "create", "--name", "V10000001"])
    assert made.exit_code == 0, made.output
    for mobile in ("13800138000", "13900139000"):
        added = runner.invoke(
            cli, ["admin", "customer", "create", mobile, "--account", "V10000001",
                  "--password-stdin"], input=PASSWORD + "\n",
        )  # fmt: skip
        assert added.exit_code == 0, added.output
        assert mobile not in added.output  # masked
    nowhere = runner.invoke(
        cli, ["admin", "customer", "create", "13700137000", "--account", "V19999999",
              "--password-stdin"], input=PASSWORD + "\n",
    )  # fmt: skip
    assert nowhere.exit_code == 1
    assert "no account V19999999" in nowhere.output
    bad = runner.invoke(
        cli, ["admin", "customer", "create", "12345", "--account", "V10000001",
              "--password-stdin"], input=PASSWORD + "\n",
    )  # fmt: skip
    assert bad.exit_code == 2
    listed = runner.invoke(cli, ["admin", "customer", "list", "--account", "V10000001"])
    assert listed.exit_code == 0
    assert "138****8000" in listed.output
    assert "139****9000" in listed.output
    assert "13800138000" not in listed.output
    assert runner.invoke(cli, ["admin", "customer", "sign-out", "13800138000"]).exit_code == 0
    assert runner.invoke(cli, ["admin", "customer", "sign-out", "13700137000"]).exit_code == 1
