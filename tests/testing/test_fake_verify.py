"""FakeIhuyi's Verify/Check behave like the gateway's, and tell a test the spoken code."""

from __future__ import annotations

import pytest

from voiceotp import errors
from voiceotp.client import Client
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

MOBILE = "13800138000"


@pytest.fixture
def clock() -> list[float]:
    return [1_700_000_000.0]


@pytest.fixture
def fake(clock: list[float]) -> FakeIhuyi:
    return FakeIhuyi(clock=lambda: clock[0])


@pytest.fixture
def client(fake: FakeIhuyi) -> Client:
    return Client(
        DEFAULT_ACCOUNT, DEFAULT_APIKEY, transport=fake.transport(), dynamic_password=False
    )


def test_superseded_expired_and_balance(
    fake: FakeIhuyi, client: Client, clock: list[float]
) -> None:
    first = client.verify(MOBILE)
    old = fake.spoken_code(MOBILE)
    second = client.verify(MOBILE, ttl=60)
    new = fake.spoken_code(MOBILE)
    assert fake.spoken_code(voiceid=first.voiceid) == old
    with pytest.raises(errors.NoPendingCode):
        client.check(MOBILE, old, voiceid=first.voiceid)
    assert client.query(first.voiceid).verify_status == "superseded"
    clock[0] += 61
    with pytest.raises(errors.CodeExpired):
        client.check(MOBILE, new)
    assert client.query(second.voiceid).verify_status == "expired"
    assert fake.balance_of() == 98
    assert [c.content for c in fake.calls] == [old, new]  # what the callee heard


def test_unknown_number_and_bad_options(fake: FakeIhuyi, client: Client) -> None:
    with pytest.raises(KeyError):
        fake.spoken_code(MOBILE)
    with pytest.raises(errors.RequestError) as caught:
        client.verify(MOBILE, ttl=10)
    assert caught.value.code == 4508
