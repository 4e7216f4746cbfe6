"""Two trunks cannot share a fixed local SIP port through a wildcard address: binding
0.0.0.0:5070 and 127.0.0.1:5070 fails (EADDRINUSE) just as 127.0.0.1:5070 twice does.
Before, check_trunks compared (host, port) pairs only, let the list through, and the
second trunk could never start (its pings failed: down for good, found only in a log)."""

from __future__ import annotations

import pytest

from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.trunks import check_trunks


@pytest.mark.parametrize("wildcard", ["0.0.0.0", ""])
def test_a_wildcard_bind_and_another_on_its_port_are_refused(wildcard: str) -> None:
    trunks = [
        SipTrunk(host="a.example", name="a", bind_host=wildcard, bind_port=5070),
        SipTrunk(host="b.example", name="b", bind_host="127.0.0.1", bind_port=5070),
    ]
    with pytest.raises(ValueError, match="bind_port"):
        check_trunks(trunks)


def test_distinct_addresses_may_share_a_port() -> None:
    check_trunks(
        [
            SipTrunk(host="a.example", name="a", bind_host="127.0.0.1", bind_port=5070),
            SipTrunk(host="b.example", name="b", bind_host="127.0.0.2", bind_port=5070),
            SipTrunk(host="c.example", name="c", bind_host="0.0.0.0", bind_port=0),
            SipTrunk(host="d.example", name="d", bind_host="0.0.0.0", bind_port=0),
        ]
    )
