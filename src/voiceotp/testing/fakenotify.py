"""Voice notifications (语音通知) for :class:`~voiceotp.testing.fake.FakeIhuyi`: ihuyi's
api.vm.ihuyi.com product, reached on an ``api.vm.`` host or voiceotp's
``/vm/webservice/voice.php`` path.

::

    fake = FakeIhuyi()
    template_id = fake.add_template("您的快递【变量】已到达,请取件。")   # approved at once
    client = Client(DEFAULT_ACCOUNT, DEFAULT_APIKEY, transport=fake.transport())
    client.notify("02151290000", "您的快递SF123已到达,请取件。")
    assert fake.spoken_notice("02151290000") == "您的快递SF123已到达,请取件。"

Templates are matched with the gateway's own code (protocol/notice.py): 4071, 4072 (with
what failed), 40722, 4073 and landlines behave as on the gateway. Quiet hours are not
simulated (every notice is "spoken" at once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voiceotp.protocol import Code, IncomingRequest, Method, SubmitResult, message_for
from voiceotp.protocol.notice import (
    MAX_CONTENT,
    Match,
    Mismatch,
    Template,
    TooLong,
    fill_template,
    is_valid_callee,
    match_template,
    parse_template,
)

if TYPE_CHECKING:
    from voiceotp.testing.fake import FakeIhuyi

__all__ = ["FakeNotices"]


class FakeNotices:
    """The fake's templates (per account) and the notices it "spoke"."""

    def __init__(self, fake: FakeIhuyi) -> None:
        self.fake = fake
        self.templates: dict[str, list[Template]] = {}
        self.spoken: dict[str, str] = {}  # voiceid -> text

    def add_template(self, text: str, account: str, *, var_max: int = 8) -> int:
        """An approved template of ``account``; its id (TemplateSyntaxError if bad)."""
        template_id = 1 + sum(len(t) for t in self.templates.values())
        template = parse_template(text, template_id, var_max=var_max)
        self.templates.setdefault(account, []).append(template)
        return template_id

    def submit(self, request: IncomingRequest) -> tuple[SubmitResult, bool]:
        fake = self.fake
        mobile, content = request.get("mobile"), request.get("content")
        fake.received[mobile] += 1
        code = fake._auth(request, Method.SUBMIT, mobile=mobile, content=content)
        if code is None and not is_valid_callee(mobile):
            code = Code.MOBILE_INVALID
        if code is None and len(content) > MAX_CONTENT:
            code = Code.NOTICE_TOO_LONG
        if code is not None:
            return _failed(code), False
        filled = self._fill(request)
        if not isinstance(filled, str):
            return filled, False
        scripted = fake._scripts[mobile].popleft() if fake._scripts[mobile] else 2
        if scripted != 2:
            return _failed(scripted), False
        key = (request.get("account"), mobile, filled, request.get("time"))
        result, dropped = fake._accept(request, key)
        if result.code == 2:
            self.spoken[result.voiceid] = filled
        return result, dropped

    def _fill(self, request: IncomingRequest) -> str | SubmitResult:
        """The notice's text, or the refusal (4071, 4072, 40722, 4073)."""
        templates = self.templates.get(request.get("account"), [])
        content, chosen = request.get("content"), request.get("templateid").strip()
        if chosen:
            template = next((t for t in templates if str(t.id) == chosen), None)
            if template is None:
                return _failed(Code.TEMPLATE_NONE)
            found: str | Match | TooLong | Mismatch = fill_template(template, content.split("|"))
        elif not templates:
            return _failed(Code.TEMPLATE_NONE)
        else:
            found = match_template(content, templates)
        if isinstance(found, Match):
            found = content
        if isinstance(found, TooLong):
            return _failed(Code.VARIABLE_TOO_LONG, n=found.variable.max_len)
        if isinstance(found, Mismatch):
            detail = found.describe()
            msg = message_for(Code.TEMPLATE_MISMATCH) + (f"({detail})" if detail else "")
            return SubmitResult(Code.TEMPLATE_MISMATCH, msg, "0")
        if len(found) > MAX_CONTENT:
            return _failed(Code.NOTICE_TOO_LONG)
        return found


def _failed(code: int, *, n: int | None = None) -> SubmitResult:
    return SubmitResult(code, message_for(code, n=n), "0")
