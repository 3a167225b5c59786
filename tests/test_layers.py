"""The import direction of STYLE.md: data flows one way, the scoring core never does I/O.

The package reads as the data flow: ``lang`` (numbers, units, values, the
expression language) → ``model`` → ``kinds`` (each item kind defined once) → ``io`` (files, tables, rulebooks, evidence)
→ ``scoring`` (exact, columnar, streamed) → ``analysis`` (ranking, cross-checks)
→ ``report`` → ``audit`` → ``testing`` → ``cli``. A module may import only from
modules listed before its own group; a subpackage's ``__init__`` may gather its
own package's modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "fulian_eval"

# Lower layers first; groups in the same list entry may not import each other.
LAYERS: list[list[str]] = [
    ["lang.messages"],
    ["errors", "_version", "_runtime"],
    ["lang.text"],
    ["lang.units"],
    ["lang.values", "lang.expr"],
    ["model.formats", "model.roles"],
    ["model.status"],
    ["model.rulebook"],
    ["model.notes"],
    ["kinds.base"],
    [
        "kinds.check",
        "kinds.threshold",
        "kinds.tiers",
        "kinds.linear",
        "kinds.count",
        "kinds.deduct",
        "kinds.steps",
        "kinds.formula",
        "kinds.manual",
        "kinds.veto",
        "kinds.choice",
    ],
    ["io.locate", "io.tables"],
    ["io.crosscheck_table", "io.parquet"],
    ["io.tailor"],
    ["io.surveys"],
    ["io.load", "io.evidence"],
    ["io.waivers"],
    ["scoring.exact"],
    ["scoring.columnar"],
    ["scoring.parallel", "scoring.stream"],
    ["analysis.awards"],
    ["analysis.rank", "analysis.agreement", "analysis.sampling"],
    ["analysis.crosscheck", "analysis.sensitivity"],
    ["report.files", "report.sheets", "report.pdf", "report.workbook", "report.arrow"],
    ["report.render"],
    ["report.json_memo"],
    ["report.columns", "report.form", "report.json_stream", "report.rank_json"],
    ["report.json_columns"],
    ["audit.blocks"],
    ["audit.store"],
    ["audit.sink"],
    ["audit.reproduce"],
    ["testing", "pipeline"],
    ["frames"],
    ["dask"],
    ["cli.template", "cli.sheets"],
    ["cli.app"],
    ["__init__", "__main__"],
]
LEVEL = {name: i for i, names in enumerate(LAYERS) for name in names}
PACKAGES = {name.split(".")[0] for name in LEVEL if "." in name}
for _pkg in PACKAGES:  # a facade sits just above its package's own modules
    LEVEL[f"{_pkg}.__init__"] = max(v for k, v in LEVEL.items() if k.startswith(_pkg + ".")) + 0.5
IO_MODULES = {
    "os",
    "sys",
    "io",
    "pathlib",
    "csv",
    "subprocess",
    "multiprocessing",
    "sqlite3",
    "tomllib",
    "openpyxl",
}


def _module_files() -> dict[str, Path]:
    out = {}
    for p in SRC.rglob("*.py"):
        rel = p.relative_to(SRC).with_suffix("")
        out[".".join(rel.parts)] = p
    return out


FILES = _module_files()


def _resolve(module: str, level: int, target: str | None, names: list[str]) -> set[str]:
    """The package modules a relative ``from`` import of ``module`` reads."""
    parts = module.split(".")
    base = parts[: len(parts) - level]
    prefix = ".".join(p for p in base if p != "__init__")
    full = ".".join(x for x in (prefix, target or "") if x)
    out = set()
    if target is None or full in PACKAGES or full == "":
        for n in names:  # `from .. import audit`, `from ..analysis import sampling`
            cand = ".".join(x for x in (full, n) if x)
            if cand in FILES:
                out.add(cand)
            elif cand in PACKAGES:
                out.add(f"{cand}.__init__")
            elif full in PACKAGES:
                out.add(f"{full}.__init__")
            else:
                out.add("__init__")
        return out
    if full in FILES:
        return {full}
    raise AssertionError(f"{module}: cannot resolve import of {full!r}")


def _imports(module: str) -> tuple[set[str], set[str]]:
    """(package-internal modules, top-level external modules) imported by a module."""
    tree = ast.parse(FILES[module].read_text(encoding="utf-8"))
    inside: set[str] = set()
    outside: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level >= 1:
                inside |= _resolve(module, node.level, node.module, [a.name for a in node.names])
            elif node.module:
                outside.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            outside.update(a.name.split(".")[0] for a in node.names)
    return inside, outside


def test_every_module_has_a_layer() -> None:
    known = set(LEVEL)
    assert set(FILES) == known, f"add new modules to LAYERS: {sorted(set(FILES) - known)}"


@pytest.mark.parametrize("module", sorted(FILES))
def test_imports_point_down(module: str) -> None:
    inside, _ = _imports(module)
    for dep in inside:
        ok = LEVEL[dep] < LEVEL[module] or (module in ("__init__", "__main__") and dep != module)
        if module.endswith(".__init__"):
            ok = ok or dep.startswith(module.rsplit(".", 1)[0] + ".")
        assert ok, f"{module} imports {dep}, which is not below it"


def test_nothing_imports_the_command_line() -> None:
    for module in FILES:
        if module.startswith("cli.") or module == "__main__":
            continue
        inside, _ = _imports(module)
        assert not any(d.startswith("cli.") for d in inside), module


def test_the_audit_store_does_not_score() -> None:
    """Only replay runs the scoring pipeline; the store keeps and checks records."""
    inside, _ = _imports("audit.store")
    assert not inside & {
        "scoring.columnar",
        "scoring.stream",
        "scoring.parallel",
        "io.load",
        "io.waivers",
    }, inside
    tree = ast.parse(FILES["audit.store"].read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert not names & {"score", "score_all", "load_evidence", "score_tables"}, names & {
        "score",
        "load_evidence",
    }


@pytest.mark.parametrize(
    "module",
    [
        "lang.expr",
        "model.rulebook",
        "scoring.exact",
        "analysis.rank",
        "analysis.agreement",
        "scoring.columnar",
    ],
)
def test_pure_core_does_no_io(module: str) -> None:
    inside, outside = _imports(module)
    assert not (outside & IO_MODULES), f"{module} imports {outside & IO_MODULES}"
    assert not any(d.startswith(("io.", "report.", "cli.", "audit.")) for d in inside), inside
