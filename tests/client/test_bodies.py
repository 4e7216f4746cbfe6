"""Odd response bodies: tolerated when they are ihuyi documents, a clear ProtocolError
(never retried for a Submit) when they are not."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from tests.client.conftest import MakeTwin
from voiceotp import errors
from voiceotp.protocol import SubmitResult

MOBILE = "13800138000"


def fixed(body: bytes, calls: list[str]) -> Callable[[str, Mapping[str, str]], bytes]:
    def handler(url: str, form: Mapping[str, str]) -> bytes:
        calls.append(url)
        return body

    return handler


GOOD = {
    "gbk": (
        '<?xml version="1.0" encoding="gbk"?>\n<SubmitResult>\n<code>2</code>\n'
        "<msg>提交成功</msg>\n<voiceid>7</voiceid>\n</SubmitResult>\n"
    ).encode("gbk"),
    "namespaced": (
        b'<?xml version="1.0" encoding="utf-8"?>\n<SubmitResult xmlns="http://106.ihuyi.com/">'
        + "<code>2</code><msg>提交成功</msg><voiceid>7</voiceid></SubmitResult>".encode()
    ),
    "whitespace": "\r\n  <SubmitResult>\n <code> 2 </code> <msg>提交成功</msg>"
    "<voiceid>7</voiceid></SubmitResult>\n\n".encode(),
    "bom": b"\xef\xbb\xbf" + '{"code":2,"msg":"提交成功","voiceid":"7"}'.encode(),
    "json_strings": '{"code":"2","msg":"提交成功","voiceid":7}'.encode(),
}


@pytest.mark.parametrize("body", GOOD.values(), ids=GOOD.keys())
async def test_tolerated_bodies(make_twin: MakeTwin, body: bytes) -> None:
    calls: list[str] = []
    result = await make_twin(handler=fixed(body, calls)).send(MOBILE, "1234")
    assert result == SubmitResult(2, "提交成功", "7")


BAD = {
    "empty": b"",
    "blank": b"  \n",
    "html": b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "text": b"Service Unavailable",
    "truncated": b'<?xml version="1.0"?>\n<SubmitResult>\n<code>2</co',
    "no_code": b"<SubmitResult><msg>x</msg></SubmitResult>",
    "getnum_for_submit": b"<GetNumResult><code>2</code><msg>m</msg><num>5</num></GetNumResult>",
    "json_list": b"[1, 2]",
}


@pytest.mark.parametrize("body", BAD.values(), ids=BAD.keys())
async def test_unreadable_bodies_are_protocol_errors_and_not_resent(
    make_twin: MakeTwin, body: bytes
) -> None:
    calls: list[str] = []
    twin = make_twin(handler=fixed(body, calls))
    report = await twin.submit(MOBILE, "1234")
    assert isinstance(report.error, errors.ProtocolError)
    assert report.result is None
    assert len(calls) == 1  # the Submit may have been accepted behind that page
    with pytest.raises(errors.ProtocolError) as caught:
        await twin.send(MOBILE, "1234")
    assert caught.value.excerpt == body[:200].decode("utf-8", "replace")


async def test_html_page_to_a_read_only_request_is_retried(make_twin: MakeTwin) -> None:
    calls: list[str] = []
    with pytest.raises(errors.ProtocolError):
        await make_twin(handler=fixed(BAD["html"], calls)).balance()
    assert len(calls) == 3


async def test_unknown_code_is_a_request_error(make_twin: MakeTwin) -> None:
    body = b"<SubmitResult><code>777</code><msg>new</msg><voiceid>0</voiceid></SubmitResult>"
    with pytest.raises(errors.RequestError) as caught:
        await make_twin(handler=fixed(body, [])).send(MOBILE, "1234")
    assert (caught.value.code, caught.value.msg) == (777, "new")
