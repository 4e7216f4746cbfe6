"""python-multipart logs a warning per malformed body; with no handler of the host's, Python
prints it as a bare stderr line: a client could fill the server's log at will."""

from __future__ import annotations

import pytest

from tests.gateway.harness import FIXTURE, VOICE, running
from voiceotp.gateway.settings import Settings
from voiceotp.store import Store

NOW = float(FIXTURE["now"])
BROKEN = [
    b'--xyz\r\nContent-Disposition: form-data; name="method"\r\n\r\nGetNum\r\n--xyz--garbage',
    b"--xyz\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--xyz--\r\n",
    b"garbage before\r\n--xyz\r\n\r\n",
]


@pytest.mark.parametrize("body", BROKEN)
async def test_a_broken_multipart_body_writes_nothing_to_stderr(
    store: Store, settings: Settings, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(store, settings, now=NOW) as harness:
        response = await harness.client().post(
            VOICE, content=body, headers={"Content-Type": "multipart/form-data; boundary=xyz"}
        )
    assert response.status_code == 200
    assert [r for r in caplog.records if r.name.startswith("python_multipart")] == []
