"""The public names: voiceotp and voiceotp.client export the same objects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import voiceotp
import voiceotp.client
import voiceotp.errors

SRC = Path(__file__).resolve().parents[2] / "src"


def test_top_level_exports_resolve_to_the_client_and_errors() -> None:
    for name in voiceotp.__all__:
        if name == "__version__":
            continue
        value = getattr(voiceotp, name)
        source = voiceotp.client if hasattr(voiceotp.client, name) else voiceotp.errors
        assert value is getattr(source, name), name
    for name in ("Client", "AsyncClient", "SendReport", "RetryPolicy", "Timeout", "UnknownOutcome"):
        assert name in voiceotp.__all__
        assert name in voiceotp.client.__all__


def test_unknown_attribute() -> None:
    import pytest

    with pytest.raises(AttributeError):
        _ = voiceotp.NoSuchThing  # type: ignore[attr-defined]


def test_import_voiceotp_does_not_load_http_libraries() -> None:
    code = "import sys, voiceotp; print('aiohttp' in sys.modules, 'httpx2' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split() == ["False", "False"]
