from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def load_vectors() -> dict[str, Any]:
    """The project's copy of the golden vectors (../shared/protocol/vectors.json)."""
    data: dict[str, Any] = json.loads((FIXTURES / "vectors.json").read_text("utf-8"))
    return data


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    return load_vectors()
