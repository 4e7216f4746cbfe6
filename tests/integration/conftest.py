"""Fixtures the integration tests borrow from the gateway's suites."""

from tests.delivery.dialer.conftest import media_pair, rtp_sink, sipp  # noqa: F401 - fixtures
from tests.stores import pg_url, sqlite_template  # noqa: F401 - fixtures
