"""The golden vectors: every render and dynamic-password entry, byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, load_vectors
from voiceotp.protocol import (
    Format,
    GetNumResult,
    Method,
    Result,
    SubmitResult,
    dynamic_password,
    message_for,
    parse_result,
    render_result,
)

VECTORS = load_vectors()
SHARED = Path(__file__).resolve().parents[3] / "shared" / "protocol" / "vectors.json"
REFERENCE_COPY = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_fixture_copy_matches_shared_contract() -> None:
    """The copies in tests/fixtures and docs/protocol.md must never drift from ../shared
    when that exists."""
    if not SHARED.exists():
        pytest.skip("../shared is not beside this clone (a user's clone)")
    assert (FIXTURES / "vectors.json").read_bytes() == SHARED.read_bytes()
    # docs/protocol.md = our preface + the shared README from its first section on.
    reference = (SHARED.parent / "README.md").read_text(encoding="utf-8")
    body = reference[reference.index("## 1. ") :]
    copy = REFERENCE_COPY.read_text(encoding="utf-8")
    assert copy.endswith(body), "docs/protocol.md differs from ../shared/protocol/README.md"


def _result(entry: dict[str, Any]) -> Result:
    if entry["method"] == "Submit":
        return SubmitResult(entry["code"], entry["msg"], entry["id"])
    return GetNumResult(entry["code"], entry["msg"], int(entry["id"]))


def _render_id(entry: dict[str, Any]) -> str:
    return f"{entry['method']}-{entry['code']}"


@pytest.mark.parametrize("entry", VECTORS["render"], ids=_render_id)
def test_render_is_byte_exact(entry: dict[str, Any]) -> None:
    result = _result(entry)
    namespace = VECTORS["namespace_optional"]
    assert render_result(result, Format.XML).decode() == entry["xml"]
    assert (
        render_result(result, Format.XML, namespace=namespace).decode()
        == entry["xml_with_namespace"]
    )
    assert render_result(result, Format.JSON).decode() == entry["json"]


@pytest.mark.parametrize("entry", VECTORS["render"], ids=_render_id)
def test_parse_reads_every_rendered_form(entry: dict[str, Any]) -> None:
    expected = _result(entry)
    for key in ("xml", "xml_with_namespace", "json"):
        assert parse_result(entry[key].encode()) == expected


@pytest.mark.parametrize("entry", VECTORS["render"], ids=_render_id)
def test_message_table_matches_vectors(entry: dict[str, Any]) -> None:
    assert message_for(entry["code"], Method(entry["method"])) == entry["msg"]


def test_every_message_in_the_vectors_is_in_the_table() -> None:
    for method_name, table in VECTORS["messages"].items():
        method = Method.GETNUM if method_name == "GetNum" else Method.SUBMIT
        for code, msg in table.items():
            assert message_for(int(code), method) == msg


@pytest.mark.parametrize("entry", VECTORS["dynamic_password"], ids=lambda e: e["kind"])
def test_dynamic_password(entry: dict[str, Any]) -> None:
    password = dynamic_password(
        entry["account"],
        entry["apikey"],
        entry["time"],
        mobile=entry.get("mobile"),
        content=entry.get("content"),
    )
    assert password == entry["password"]
