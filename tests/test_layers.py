"""The import direction of STYLE.md: data flows one way, the scoring core never does I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "fulian_eval"

# Lower layers first; a module may import only from layers before its own.
LAYERS = [
    ["errors", "_version", "_text"],
    ["units", "_locate", "_tables"],
    ["_values", "expr"],
    ["model"],
    ["_tailor"],
    ["load", "evidence", "sampling"],
    ["waivers"],
    ["score"],
    ["rank", "agreement", "columnar"],
    ["crosscheck", "sensitivity"],
    ["batch", "report", "testing", "audit"],
    ["stream"],
    ["cli"],
    ["__init__", "__main__"],
]
LEVEL = {name: i for i, names in enumerate(LAYERS) for name in names}
IO_MODULES = {"os", "sys", "io", "pathlib", "csv", "subprocess", "multiprocessing", "sqlite3", "tomllib", "openpyxl"}


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(package-internal modules, top-level external modules) imported by a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside: set[str] = set()
    outside: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level >= 1:
                if node.module:
                    inside.add(node.module.split(".")[0])
                else:
                    inside.update(a.name for a in node.names)
            elif node.module:
                outside.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            outside.update(a.name.split(".")[0] for a in node.names)
    return inside, outside


def test_every_module_has_a_layer() -> None:
    modules = {p.stem for p in SRC.glob("*.py")}
    assert modules == set(LEVEL), "add new modules to LAYERS"


@pytest.mark.parametrize("module", sorted(LEVEL))
def test_imports_point_down(module: str) -> None:
    inside, _ = _imports(SRC / f"{module}.py")
    for dep in inside:
        assert LEVEL[dep] < LEVEL[module] or (module in ("__init__", "__main__") and dep != module), (
            f"{module} imports {dep}, which is not below it"
        )


def test_nothing_imports_the_command_line() -> None:
    for path in SRC.glob("*.py"):
        if path.stem in ("cli", "__main__"):
            continue
        inside, _ = _imports(path)
        assert "cli" not in inside, path.name


@pytest.mark.parametrize("module", ["expr", "model", "score", "rank", "agreement", "columnar"])
def test_pure_core_does_no_io(module: str) -> None:
    inside, outside = _imports(SRC / f"{module}.py")
    assert not (outside & IO_MODULES), f"{module} imports {outside & IO_MODULES}"
    assert not (inside & {"load", "evidence", "batch", "report", "cli"})
