"""The fake clock of the delivery tests: the tests' shared one (tests/clock.py)."""

from __future__ import annotations

from tests.clock import FakeClock

__all__ = ["FakeClock"]
