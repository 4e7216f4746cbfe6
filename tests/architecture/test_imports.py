"""The layout's one-way flow, computed from the source (ast): no import cycle between
packages, none between modules at run time, and no stage imports one above it
(docs/architecture.md)."""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = SRC / "voiceotp"

# stage -> stages it must never import (directly or through a lazy import inside a function)
FORBIDDEN = {
    "protocol": {"errors", "client", "testing", "store", "gateway", "delivery", "cli", "web"},
    "errors": {"client", "testing", "store", "gateway", "delivery", "cli", "web"},
    "client": {"gateway", "store", "delivery", "cli", "web", "testing"},
    "testing": {"gateway", "store", "delivery", "cli", "web"},
    "store": {"gateway", "delivery", "cli", "web", "client", "testing"},
    "delivery": {"gateway", "cli", "web"},
    "gateway": {"cli", "web"},
    "web": {"cli"},
}


def module_of(path: Path) -> tuple[str, bool]:
    """(dotted module name, is a package ``__init__``)."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def imports_of(path: Path, *, typing_only: bool = True) -> Iterator[str]:
    """Every ``voiceotp`` module ``path`` imports, at any depth of its code (lazy imports
    in functions too); with ``typing_only=False`` not those under ``if TYPE_CHECKING:``."""
    name, is_package = module_of(path)
    yield from imports_in(path.read_text("utf-8"), name, is_package, typing_only=typing_only)


def imports_in(source: str, name: str, is_package: bool, *, typing_only: bool) -> Iterator[str]:
    tree = ast.parse(source)
    for node in ast.walk(tree) if typing_only else runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names]
            yield from (n if is_module(n) else target for n in names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` without the bodies of ``if TYPE_CHECKING:`` (their ``else`` stays)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                stack.extend(child.orelse)
            else:
                stack.append(child)


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    if isinstance(test, ast.Attribute):
        return test.attr == "TYPE_CHECKING"
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def is_module(dotted: str) -> bool:
    path = SRC.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def package_of(module: str) -> str:
    """The package a module lives in (a package's ``__init__`` is its own package; the
    top-level modules, such as ``voiceotp.errors``, are each a node of their own)."""
    if (SRC.joinpath(*module.split(".")) / "__init__.py").exists():
        return module
    parent = module.rpartition(".")[0]
    return module if parent == "voiceotp" else parent


def stage_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "voiceotp"


@functools.cache  # read-only for its callers: parsing every module once is enough
def module_graph(*, typing_only: bool = True) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted(ROOT.rglob("*.py")):
        name, _ = module_of(path)
        found = imports_of(path, typing_only=typing_only)
        graph[name] |= {t for t in found if t.startswith("voiceotp")}
    return graph


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        mine = package_of(module)
        for target in targets:
            theirs = package_of(target)
            # within one stage a package and its own sub-packages share code both ways
            # (a parent's settings, a child's parts); cycles between siblings are the smell
            if not related(mine, theirs):
                packages[mine].add(theirs)
    return packages


def related(one: str, other: str) -> bool:
    """The same package, or one inside the other."""
    return one == other or one.startswith(other + ".") or other.startswith(one + ".")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_no_cycle_between_packages() -> None:
    assert cycles(package_graph(module_graph())) == []


def test_no_cycle_between_modules_at_run_time() -> None:
    """Modules that need each other at run time (imports under ``if TYPE_CHECKING:`` do
    not count: annotations only) are one module in two files, or a half-done split."""
    found = cycles(module_graph(typing_only=False))
    assert found == []


def test_no_stage_imports_one_above_it() -> None:
    bad = sorted(
        f"{module} -> {target}"
        for module, targets in module_graph().items()
        for target in targets
        if stage_of(target) in FORBIDDEN.get(stage_of(module), set())
    )
    assert bad == []


def test_only_the_store_knows_its_backends() -> None:
    """Above the store, code talks to the :class:`Store` interface (``read``, ``transact``,
    ``row_lock``), never to SQLite or PostgreSQL specifics; ``make_store`` picks one."""
    backends = {"voiceotp.store.sqlite", "voiceotp.store.postgres"}
    bad = sorted(
        f"{module} -> {target}"
        for module, targets in module_graph().items()
        for target in targets & backends
        if stage_of(module) != "store"
    )
    assert bad == []


def test_the_checker_sees_cycles_and_forbidden_edges() -> None:
    """The two checks above can fail: a made-up graph with a cycle is caught."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    siblings = {"voiceotp.x.a.m": {"voiceotp.x.b.n"}, "voiceotp.x.b.n": {"voiceotp.x.a.m"}}
    assert cycles(package_graph(siblings)) == [["voiceotp.x.a", "voiceotp.x.b"]]
    assert stage_of("voiceotp.store.sqlite") == "store"
    source = (
        "from typing import TYPE_CHECKING\n"
        "import voiceotp.errors\n"
        "if TYPE_CHECKING:\n    import voiceotp.protocol\nelse:\n    import voiceotp.cli\n"
        "def f():\n    if typing.TYPE_CHECKING:\n        import voiceotp.store\n"
        "    import voiceotp.client\n"
    )
    everything = set(imports_in(source, "voiceotp.m", False, typing_only=True))
    at_run_time = set(imports_in(source, "voiceotp.m", False, typing_only=False))
    assert everything - at_run_time == {"voiceotp.protocol", "voiceotp.store"}
    assert at_run_time == {"typing", "voiceotp.errors", "voiceotp.cli", "voiceotp.client"}
    assert "gateway" in FORBIDDEN["store"]


@pytest.mark.parametrize("module", ["voiceotp.store.base", "voiceotp.delivery.queue.worker"])
def test_the_graph_is_computed_from_the_source(module: str) -> None:
    graph = module_graph()
    assert module in graph
    assert any(t.startswith("voiceotp.") for t in graph[module])
