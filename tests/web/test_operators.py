"""``voiceotp admin operator`` and the TOTP second factor."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
from click.testing import CliRunner

from tests.web.conftest import CSRF_META, PASSWORD, Console
from voiceotp.cli import cli
from voiceotp.store.web import update_web_user


def test_operator_create_list_and_sign_out(tmp_path: Path) -> None:
    runner = CliRunner(env={"VOICEOTP_DEV_MODE": "1", "VOICEOTP_DATA_DIR": str(tmp_path)})
    made = runner.invoke(
        cli, ["admin", "operator", "create", "alice", "--role", "admin", "--password-stdin",
              "--totp"], input=PASSWORD + "\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "alice (admin) created" in made.output
    assert re.search(r"TOTP secret \(shown once\): [A-Z2-7]{32}", made.output)
    again = runner.invoke(
        cli, ["admin", "operator", "create", "alice", "--role", "support", "--password-stdin"],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert again.exit_code == 1
    assert "exists" in again.output
    short = runner.invoke(
        cli, ["admin", "operator", "create", "bob", "--role", "support", "--password-stdin"],
        input="short\n",
    )  # fmt: skip
    assert short.exit_code == 2
    assert "at least 10 characters" in short.output
    listed = runner.invoke(cli, ["admin", "operator", "list"])
    assert "alice" in listed.output
    assert "bob" not in listed.output
    assert runner.invoke(cli, ["admin", "operator", "sign-out", "alice"]).exit_code == 0
    assert runner.invoke(cli, ["admin", "operator", "sign-out", "nobody"]).exit_code == 1


async def test_totp_is_asked_for_and_checked(console: Console) -> None:
    secret = pyotp.random_base32()
    user_id = 1  # alice, the first operator of the fixture
    sealed = console.gateway.keybox.seal(secret)
    await update_web_user(console.gateway.store, user_id=user_id, totp_secret=sealed)
    async with console.client() as client:
        pre = CSRF_META.search((await client.get("/console/signin")).text)
        assert pre is not None
        form = {"csrf_token": pre.group(1), "login": "alice", "password": PASSWORD}
        asked = await client.post("/console/signin", data=form)
        assert asked.status_code == 200
        assert 'name="otp"' in asked.text
        wrong = await client.post("/console/signin", data={**form, "otp": "000000"})
        assert wrong.status_code == 401
        right = await client.post("/console/signin", data={**form, "otp": pyotp.TOTP(secret).now()})
        assert right.status_code == 303
        assert (await client.get("/console/accounts")).status_code == 200
