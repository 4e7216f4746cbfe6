"""``voiceotp admin operator`` and the TOTP second factor."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pyotp
from click.testing import CliRunner

from tests.web.conftest import CSRF_META, PASSWORD, Console
from voiceotp.cli import cli
from voiceotp.store.web import list_audit, update_web_user


def test_operator_create_list_and_sign_out(tmp_path: Path) -> None:
    runner = CliRunner(env={"VOICEOTP_DEV_MODE": "1", "VOICEOTP_DATA_DIR": str(tmp_path)})
    assert runner.invoke(cli, ["admin", "operator", "list"]).exit_code == 1  # no store yet
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0  # as serve would make it
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


async def test_own_password_and_second_factor(console: Console) -> None:
    client, csrf = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        me = await client.get("/console/me")
        secret = re.search(r'name="secret" value="([A-Z2-7]{32})"', me.text)
        assert secret is not None
        code = pyotp.TOTP(secret.group(1)).now()
        form = {"csrf_token": csrf, "current_password": PASSWORD, "op": "enable"}
        wrong = await client.post(
            "/console/me/totp", data={**form, "secret": secret.group(1), "otp": "x"}
        )
        assert wrong.status_code == 400
        on = await client.post(
            "/console/me/totp", data={**form, "secret": secret.group(1), "otp": code}
        )
        assert on.status_code == 303
        changed = await client.post(
            "/console/me/password",
            data={
                "csrf_token": csrf,
                "current_password": PASSWORD,
                "new_password": "another long one",
            },
        )
        assert changed.status_code == 303
        assert (await client.get("/console/me")).status_code == 303  # every session ended
    actions = [e.action for e in await list_audit(console.gateway.store)]
    assert actions[:2] == ["operator.password", "operator.totp"]


async def test_an_admin_ends_every_session_of_an_operator(console: Console) -> None:
    sam, _ = await console.signed_in("sam")
    admin, csrf = await console.signed_in("alice")
    async with contextlib.aclosing(sam), contextlib.aclosing(admin):
        assert (await sam.get("/console/accounts")).status_code == 200
        ended = await admin.post("/console/operators/sam/signout", data={"csrf_token": csrf})
        assert ended.status_code == 303
        assert (await sam.get("/console/accounts")).status_code == 303
        assert "sam" in (await admin.get("/console/operators")).text
        assert (await sam.get("/console/operators")).status_code == 303


async def test_the_password_asked_again_is_throttled_like_sign_in(console: Console) -> None:
    """A taken-over session cannot guess the operator's password without limit through
    the APIKEY reveal (or the own-password page): after the sign-in's failure limit even
    the right password reveals nothing for a while."""
    client, csrf = await console.signed_in("alice")
    async with contextlib.aclosing(client):
        for n in range(5):
            wrong = await client.post(
                "/console/accounts/V10000001/apikey",
                data={"csrf_token": csrf, "password": f"guess-{n:06d}", "op": "reveal"},
            )
            assert wrong.status_code == 403
        right = await client.post(
            "/console/accounts/V10000001/apikey",
            data={"csrf_token": csrf, "password": PASSWORD, "op": "reveal"},
        )
        assert right.status_code in (403, 429)
        assert 'aria-label="APIKEY"' not in right.text
        again = await client.post(
            "/console/me/password",
            data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": "x" * 12},
        )
        assert again.status_code in (403, 429)


async def test_a_malformed_totp_secret_is_a_400_not_a_500(console: Console) -> None:
    client, csrf = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        form = {"csrf_token": csrf, "current_password": PASSWORD, "op": "enable"}
        for secret in ("!" * 32, "a" * 31 + "1", "é" * 32):
            answer = await client.post(
                "/console/me/totp", data={**form, "secret": secret, "otp": "123456"}
            )
            assert answer.status_code == 400, secret
