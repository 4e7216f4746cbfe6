"""What the worker needs of every Dialer, checked without placing a call: ``dial(call)``
and ``aclose()`` are coroutine functions the worker can call as it does."""

from __future__ import annotations

import inspect
from typing import get_type_hints

from voiceotp.delivery.dialer import CallOutcome, CallRequest, Dialer

CALL = CallRequest("v1", "13800138000", {}, code="1125")


def check_dialer(dialer: object) -> None:
    """AssertionError unless ``dialer`` can serve the worker (see the module docstring)."""
    assert isinstance(dialer, Dialer), f"{dialer!r} lacks name, dial() or aclose()"
    assert isinstance(dialer.name, str)
    assert dialer.name, "call records name the dialer that placed each call"
    for method in (dialer.dial, dialer.aclose):
        assert inspect.iscoroutinefunction(method), f"{method.__qualname__} is not async"
    inspect.signature(dialer.dial).bind(CALL)  # TypeError: the worker's call would fail
    inspect.signature(dialer.aclose).bind()
    assert get_type_hints(dialer.dial)["return"] is CallOutcome
