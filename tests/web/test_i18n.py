"""Every text the console translates has a Chinese entry (English is the source)."""

from __future__ import annotations

import re
from pathlib import Path

from voiceotp.delivery.audio import recording
from voiceotp.web import face, filetypes
from voiceotp.web.console import (
    calls,
    certifications,
    dashboard,
    rules,
    session_pages,
    template_audio_page,
    templates_page,
)
from voiceotp.web.console.core import _CSRF_MESSAGE
from voiceotp.web.i18n import ZH, translator
from voiceotp.web.usercenter import (
    account_settings,
    certification,
    me,
    notice_templates,
    overview,
    records,
    signup,
)

WEB = Path(__file__).resolve().parents[2] / "src" / "voiceotp" / "web"
CALL = re.compile(r"""\bt\(\s*(?:"([^"]+)"|'([^']+)')\s*\)""")


def texts_in_templates() -> set[str]:
    found = set()
    for path in WEB.rglob("*.html"):
        for match in CALL.finditer(path.read_text("utf-8")):
            found.add(match.group(1) or match.group(2))
    return found


def texts_in_code() -> set[str]:
    found = {_CSRF_MESSAGE, "Forbidden", "Your role cannot do this.", "Refused", "Not found"}
    found |= set(session_pages.MESSAGES.values())
    found |= set(dashboard.WINDOW_LABELS.values()) | set(rules.KIND_LABELS.values())
    found |= {"Submitted", "Queued", "Dialing", "Ringing", "Answered", "Ended", "Saved."}
    found |= {"No recording of this call.", "Wrong password.", "active", "frozen", "abuse_frozen"}
    found |= {"Carrier recording", "Wrong one-time code."}
    found |= {calls.CODE_STILL_VALID, calls.NO_RECORDING}
    found |= set(signup.MESSAGES) | {"voiceotp console", "voiceotp user center"}
    found |= {"a password has at least 10 characters", "a password has at most 1024 characters"}
    # ucpages: the user center's APIKEY, records, settings and own-password pages
    found |= set(overview.MESSAGES) | set(records.MESSAGES) | set(account_settings.MESSAGES)
    found |= set(me.MESSAGES) | set(records.STATE_LABELS.values())
    # 企业认证 (certification)
    found |= {"Too large", face.UPLOAD_TOO_LARGE} | set(filetypes.MESSAGES)
    found |= {"Bad request", face.BAD_FORM, face.FORM_TOO_LARGE, "Signed out", face.SESSION_ENDED}
    found |= set(certification.MESSAGES) | set(certifications.MESSAGES)
    found |= set(templates_page.MESSAGES) | set(notice_templates.MESSAGES)  # notifications
    found |= set(template_audio_page.MESSAGES) | set(recording.MESSAGES)
    return found


def test_every_text_has_chinese() -> None:
    texts = texts_in_templates() | texts_in_code()
    assert len(texts) > 100
    assert sorted(texts - set(ZH)) == []


def test_english_is_the_source_and_chinese_the_default() -> None:
    assert translator("en")("Sign in") == "Sign in"
    assert translator("zh")("Sign in") == "登录"
