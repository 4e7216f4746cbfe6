"""Every exception class lives in voiceotp.errors, in one tree under VoiceOTPError."""

from __future__ import annotations

import ast
import inspect

import voiceotp.errors as errors
from tests.architecture.test_imports import ROOT

# The core's two (protocol/errors.py: the core imports nothing else) and the CLI's click
# exceptions (click's own usage-error flow) are the only classes defined elsewhere.
ELSEWHERE = {"protocol/errors.py", "cli"}


def exception_classes_outside_errors() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "errors.py" or rel in ELSEWHERE or rel.split("/")[0] in ELSEWHERE:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                _name(base).endswith(("Error", "Exception")) for base in node.bases
            ):
                found.append(f"{rel}: {node.name}")
    return found


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


def test_no_exception_class_is_defined_outside_errors() -> None:
    assert exception_classes_outside_errors() == []


def test_every_exported_exception_is_a_voiceotp_error() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
    exceptions = [c for c in classes if inspect.isclass(c)]
    assert len(exceptions) > 30
    assert [c.__name__ for c in exceptions if not issubclass(c, errors.VoiceOTPError)] == []


def test_the_docstring_draws_every_class() -> None:
    doc = errors.__doc__ or ""
    drawn = [name for name in errors.__all__ if inspect.isclass(getattr(errors, name))]
    assert [name for name in drawn if name not in doc] == []
