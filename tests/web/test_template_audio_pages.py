"""The console's template page: an admin uploads a recording of a fixed part (the
format from the content, bounded), listens, removes it, and sets how many times the
notices are said; support only looks and listens; customers and forged forms get
nowhere. Every change is audited; the files are 0600 under the data directory."""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import soundfile

from tests.web.conftest import CUSTOMER_A, PASSWORD, UserCenter
from voiceotp.delivery.audio.recording import MAX_RECORDING_BYTES
from voiceotp.store.recordings import list_recordings
from voiceotp.store.web import create_web_user, list_audit
from voiceotp.web.passwords import hash_password

TEXT = "您的快递【变量】已到达,请取件。"


def wav(seconds: float = 0.6, rate: int = 22_050) -> bytes:
    t = np.arange(round(rate * seconds)) / rate
    out = io.BytesIO()
    soundfile.write(out, 0.5 * np.sin(2 * np.pi * 500 * t), rate, format="WAV")
    return out.getvalue()


async def approved(user_center: UserCenter) -> int:
    account = await user_center.gateway.store.get_account(CUSTOMER_A.account)
    assert account is not None
    filed = await user_center.gateway.templates.file(account.id, TEXT, by="test")
    await user_center.gateway.templates.decide(filed.id, approve=True, by="test")
    return filed.id


async def test_an_admin_records_listens_and_removes(user_center: UserCenter) -> None:
    template_id = await approved(user_center)
    base = f"/console/templates/{template_id}"
    data_dir = user_center.gateway.settings.data_dir
    olga, csrf = await user_center.signed_in("olga")
    async with contextlib.aclosing(olga):
        listed = await olga.get("/console/templates")
        assert f'href="{base}"' in listed.text
        page = await olga.get(base)
        assert page.status_code == 200
        assert "您的快递" in page.text
        assert "已到达,请取件。" in page.text
        assert f"{base}/parts/0" in page.text
        # the name and the declared type say PNG: the content is a WAV, and decides
        files = {"recording": ("scan.png", wav(), "image/png")}
        saved = await olga.post(f"{base}/parts/0", data={"csrf_token": csrf}, files=files)
        assert saved.status_code == 303, saved.text
        page = await olga.get(saved.headers["location"])
        assert "WAV, 0.6 s" in page.text
        audio = await olga.get(f"{base}/parts/0/audio")
        assert audio.status_code == 200
        assert audio.headers["content-type"] == "audio/wav"
        heard, rate = soundfile.read(io.BytesIO(audio.content))
        assert rate == 8000
        assert abs(len(heard) / 8000 - 0.6) < 0.03
        [kept] = await list_recordings(user_center.gateway.store, template_id=template_id)
        path = data_dir / "uploads" / kept.file_ref
        assert path.stat().st_mode & 0o777 == 0o600
        assert (data_dir / "uploads").stat().st_mode & 0o777 == 0o700
        # refused: not audio (whatever its name), a part that is not there, too large
        png = {"recording": ("hello.wav", b"\x89PNG\r\n\x1a\n" + bytes(500), "audio/wav")}
        bad = await olga.post(f"{base}/parts/1", data={"csrf_token": csrf}, files=png)
        assert bad.status_code == 400
        assert "文件须为 WAV、FLAC、Ogg 或 MP3 录音" in bad.text  # (translated: zh is the default)
        nowhere = await olga.post(
            f"{base}/parts/7", data={"csrf_token": csrf}, files={"recording": ("a.wav", wav())}
        )
        assert nowhere.status_code == 400
        huge = {"recording": ("big.wav", bytes(MAX_RECORDING_BYTES + 70_000))}
        assert (await olga.post(f"{base}/parts/1", data={"csrf_token": csrf}, files=huge)
                ).status_code == 413  # fmt: skip
        # replaced: the old file is deleted at once
        again = await olga.post(
            f"{base}/parts/0", data={"csrf_token": csrf}, files={"recording": ("b.wav", wav(1))}
        )
        assert again.status_code == 303
        assert not path.exists()
        [kept] = await list_recordings(user_center.gateway.store, template_id=template_id)
        times = await olga.post(f"{base}/play_times", data={"csrf_token": csrf, "play_times": "2"})
        assert times.status_code == 303
        too_many = await olga.post(
            f"{base}/play_times", data={"csrf_token": csrf, "play_times": "4"}
        )
        assert too_many.status_code == 400
        template = await user_center.gateway.templates.get(template_id)
        assert template.play_times == 2
        removed = await olga.post(f"{base}/parts/0/delete", data={"csrf_token": csrf})
        assert removed.status_code == 303
        assert not (data_dir / "uploads" / kept.file_ref).exists()
        assert await list_recordings(user_center.gateway.store, template_id=template_id) == []
        assert (await olga.get(f"{base}/parts/0/audio")).status_code == 404
    actions = [e.action for e in await list_audit(user_center.gateway.store)]
    assert actions.count("templates.recording") == 2
    assert {"templates.recording_removed", "templates.play_times"} <= set(actions)


async def test_a_pending_template_is_not_recorded(user_center: UserCenter) -> None:
    account = await user_center.gateway.store.get_account(CUSTOMER_A.account)
    assert account is not None
    filed = await user_center.gateway.templates.file(account.id, TEXT, by="test")
    olga, csrf = await user_center.signed_in("olga")
    async with contextlib.aclosing(olga):
        answer = await olga.post(
            f"/console/templates/{filed.id}/parts/0",
            data={"csrf_token": csrf},
            files={"recording": ("a.wav", wav())},
        )
        assert answer.status_code == 400
        assert "只有已通过的模板可以上传录音。" in answer.text


async def test_support_listens_but_changes_nothing(user_center: UserCenter) -> None:
    template_id = await approved(user_center)
    base = f"/console/templates/{template_id}"
    await user_center.gateway.template_audio.record(template_id, 0, wav(), by="test")
    await create_web_user(
        user_center.gateway.store, kind="operator", login="sam", role="support",
        password_hash=hash_password(PASSWORD), now=0.0,
    )  # fmt: skip
    sam, csrf = await user_center.signed_in("sam")
    async with contextlib.aclosing(sam):
        page = await sam.get(base)
        assert page.status_code == 200
        assert "/parts/0/delete" not in page.text
        assert 'type="file"' not in page.text
        assert (await sam.get(f"{base}/parts/0/audio")).status_code == 200
        files = {"recording": ("a.wav", wav())}
        assert (await sam.post(f"{base}/parts/1", data={"csrf_token": csrf}, files=files)
                ).status_code == 403  # fmt: skip
        for path, form in (
            (f"{base}/parts/0/delete", {}),
            (f"{base}/play_times", {"play_times": "3"}),
        ):
            assert (await sam.post(path, data={"csrf_token": csrf, **form})).status_code == 403
    [kept] = await list_recordings(user_center.gateway.store, template_id=template_id)
    assert kept.part == 0
    assert (await user_center.gateway.templates.get(template_id)).play_times == 1


async def test_customers_anonymous_and_forged_forms_get_nowhere(user_center: UserCenter) -> None:
    template_id = await approved(user_center)
    base = f"/console/templates/{template_id}"
    files = {"recording": ("a.wav", wav())}
    a, a_csrf = await user_center.customer(CUSTOMER_A)  # the template's own customer
    async with contextlib.aclosing(a):
        page = await a.get(base)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/console/signin")
        sent = await a.post(f"{base}/parts/0", data={"csrf_token": a_csrf}, files=files)
        assert sent.status_code in (401, 403)
    async with user_center.client() as anonymous:
        assert (await anonymous.get(f"{base}/parts/0/audio")).status_code == 303
        sent = await anonymous.post(f"{base}/parts/0", files=files)
        assert sent.status_code == 401
    olga, _ = await user_center.signed_in("olga")
    async with contextlib.aclosing(olga):
        for token in (None, "forged"):
            form = {} if token is None else {"csrf_token": token}
            answer = await olga.post(f"{base}/parts/0", data=form, files=files)
            assert answer.status_code == 403
    assert await list_recordings(user_center.gateway.store, template_id=template_id) == []


async def test_deleting_a_template_deletes_its_recordings(user_center: UserCenter) -> None:
    template_id = await approved(user_center)
    kept = await user_center.gateway.template_audio.record(template_id, 1, wav(), by="test")
    path = user_center.gateway.settings.data_dir / "uploads" / kept.file_ref
    assert path.is_file()
    await user_center.gateway.templates.delete(template_id)
    assert not path.exists()
    assert await list_recordings(user_center.gateway.store, template_id=template_id) == []
    assert re.fullmatch(r"[0-9a-f]{32}", kept.file_ref)
