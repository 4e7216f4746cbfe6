"""Test helpers for voiceotp users: a fake ihuyi endpoint, in memory or over HTTP.

::

    from voiceotp import Client
    from voiceotp.testing import FakeIhuyi, DEFAULT_ACCOUNT, DEFAULT_APIKEY

    fake = FakeIhuyi()
    client = Client(DEFAULT_ACCOUNT, DEFAULT_APIKEY, transport=fake.transport())
    client.send("13800138000", "1234")
    assert fake.submits["13800138000"] == 1

    with fake.serve() as server:          # real HTTP on 127.0.0.1, any language
        print(server.url)

    client.verify("13800138000")          # Verify/Check (voiceotp extensions):
    code = fake.spoken_code("13800138000")  # the code the fake "spoke"
    assert client.check("13800138000", code).ok
"""

from voiceotp.testing.fake import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeAccount, FakeCall, FakeIhuyi
from voiceotp.testing.server import FakeServer

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_APIKEY",
    "FakeAccount",
    "FakeCall",
    "FakeIhuyi",
    "FakeServer",
]
