from __future__ import annotations

from pathlib import Path

import pytest

from tests.delivery.dialer.contract import check_dialer
from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.dialer import (
    OUTCOME_TABLE,
    CallOutcome,
    CallRequest,
    CallStatus,
    canonical_row,
    outcome_for_sip,
)
from voiceotp.delivery.dialer.relay import Upstream
from voiceotp.delivery.dialer.sip import SipTrunk
from voiceotp.delivery.factory import make_dialer


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (200, CallStatus.ANSWERED),
        (486, CallStatus.BUSY),
        (600, CallStatus.BUSY),
        (487, CallStatus.NO_ANSWER),
        (408, CallStatus.NO_ANSWER),
        (480, CallStatus.NO_ANSWER),
        (603, CallStatus.REJECTED),
        (404, CallStatus.FAILED),
        (484, CallStatus.FAILED),
        (500, CallStatus.FAILED),
        (503, CallStatus.FAILED),
        (599, CallStatus.FAILED),
    ],
)
def test_protocol_readme_section_7_mapping(code: int, status: CallStatus) -> None:
    assert outcome_for_sip(code)[0] is status


def test_q850_causes_follow_rfc_3398() -> None:
    assert outcome_for_sip(486)[1] == 17  # user busy
    assert outcome_for_sip(404)[1] == 1  # unallocated number
    assert outcome_for_sip(480)[1] == 18  # no user responding
    assert outcome_for_sip(603)[1] == 21  # call rejected


def test_codes_outside_the_table_fall_back_by_class() -> None:
    assert outcome_for_sip(202) == (CallStatus.ANSWERED, 16)
    assert outcome_for_sip(302) == (CallStatus.FAILED, 31)
    assert outcome_for_sip(418) == (CallStatus.FAILED, 31)
    assert outcome_for_sip(599) == (CallStatus.FAILED, 41)


@pytest.mark.parametrize("code", [100, 183, 199, 700, 0])
def test_non_final_codes_are_refused(code: int) -> None:
    with pytest.raises(ValueError, match="final"):
        outcome_for_sip(code)


@pytest.mark.parametrize("status", list(CallStatus))
def test_every_status_has_exactly_one_canonical_row(status: CallStatus) -> None:
    rows = [r for r in OUTCOME_TABLE if r.status is status and r.canonical]
    assert len(rows) == 1
    assert canonical_row(status) is rows[0]


@pytest.mark.parametrize(
    "status",
    [
        CallStatus.ANSWERED,
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
        CallStatus.REJECTED,
        CallStatus.FAILED,
    ],
)
def test_canonical_rows_map_back_to_their_status(status: CallStatus) -> None:
    row = canonical_row(status)
    assert row.sip_code is not None
    assert outcome_for_sip(row.sip_code) == (status, row.q850)


def test_canceled_and_expired_are_not_reachable_from_a_sip_code_alone() -> None:
    assert canonical_row(CallStatus.EXPIRED).sip_code is None
    # 487 only says "we cancelled"; why (ring timeout or shutdown) is the dialer's to say.
    assert canonical_row(CallStatus.CANCELED).sip_code == 487
    assert outcome_for_sip(487)[0] is CallStatus.NO_ANSWER


class _SyncDial:
    def dial(self, call: CallRequest) -> CallOutcome:
        return CallOutcome(CallStatus.FAILED, None, None)

    async def aclose(self) -> None:
        return None


class _TwoArgDial:
    async def dial(self, call: CallRequest, trunk: str) -> CallOutcome:
        return CallOutcome(CallStatus.FAILED, None, None)

    async def aclose(self) -> None:
        return None


class _NoClose:
    async def dial(self, call: CallRequest) -> CallOutcome:
        return CallOutcome(CallStatus.FAILED, None, None)


@pytest.mark.parametrize(
    "conf",
    [
        DeliverySettings(),
        DeliverySettings(dialer="sip", trunk=SipTrunk(host="127.0.0.1")),
        DeliverySettings(
            dialer="relay", upstreams=(Upstream("u", "http://127.0.0.1:9/", "C1", "k"),)
        ),
    ],
    ids=["simulated", "sip", "relay"],
)
async def test_every_dialer_the_factory_makes_keeps_the_contract(
    conf: DeliverySettings, tmp_path: Path
) -> None:
    dialer = make_dialer(conf, tmp_path)
    try:
        check_dialer(dialer)
    finally:
        await dialer.aclose()


@pytest.mark.parametrize("broken", [_SyncDial(), _TwoArgDial(), _NoClose(), object()])
def test_the_dialer_contract_can_fail(broken: object) -> None:
    with pytest.raises((AssertionError, TypeError)):
        check_dialer(broken)


@pytest.mark.parametrize(
    ("conf", "name"),
    [
        (DeliverySettings(), "simulated"),
        (
            DeliverySettings(
                dialer="sip",
                trunk=SipTrunk(host="trunk.example.net", username="u1", password="s3cret"),
            ),
            "sip:trunk.example.net",
        ),
        (
            DeliverySettings(dialer="sip", trunk=SipTrunk(host="trunk.example.net", port=5070)),
            "sip:trunk.example.net:5070",
        ),
        (
            DeliverySettings(
                dialer="relay",
                upstreams=(
                    Upstream("main", "http://u:pw@127.0.0.1:9/", "C1", "k3y"),
                    Upstream("backup", "http://127.0.0.1:8/", "C2", "k3y"),
                ),
            ),
            "relay:main,backup",
        ),
    ],
)
async def test_each_dialer_names_itself_for_the_call_records(
    conf: DeliverySettings, name: str, tmp_path: Path
) -> None:
    dialer = make_dialer(conf, tmp_path)
    try:
        assert dialer.name == name  # no user, password, APIKEY or URL
    finally:
        await dialer.aclose()
