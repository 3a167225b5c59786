"""Tailoring (SPEC §2.4): extends, override, disable, additions; errors name the right file and line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction as F
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fulian_eval import RulebookError, load_evidence, load_rulebook, parse_evidence, score
from fulian_eval.io.load import parse_rulebook
from fulian_eval.testing import evidence_data, rulebook_texts

DATA = Path(__file__).parent / "data" / "acceptance"


@pytest.fixture
def county(tmp_path: Path) -> Path:
    shutil.copy(DATA / "town-2026.toml", tmp_path / "county.toml")
    return tmp_path / "county.toml"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def scores(rulebook: Path) -> dict[str, tuple[str, list[tuple[str, F, str]]]]:
    rb = load_rulebook(rulebook)
    loaded = load_evidence(rb, [DATA / "evidence"])
    out = {}
    for ev in loaded.evidence:
        r = score(rb, ev)
        out[r.unit.id] = (str(r.total), [(i.id, i.points, i.status) for i in r.items])
    return out


def test_extending_without_changes_scores_identically(county: Path) -> None:
    child = write(county.parent / "town.toml", 'extends = "county.toml"\n')
    assert scores(child) == scores(county)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_extends_with_no_overrides_is_the_same_scheme(data: st.DataObject) -> None:
    text = data.draw(rulebook_texts(max_categories=2, max_items=3))
    with tempfile.TemporaryDirectory() as tmp:
        base_path = write(Path(tmp) / "base.toml", text)
        child_path = write(Path(tmp) / "child.toml", 'extends = "base.toml"\n')
        base, child = load_rulebook(base_path), load_rulebook(child_path)
        raw = data.draw(evidence_data(base))
        a, b = score(base, parse_evidence(base, raw)), score(child, parse_evidence(child, raw))
    assert (a.total, a.grade, a.vetoed) == (b.total, b.grade, b.vetoed)
    assert [(i.id, i.points, i.status) for i in a.items] == [
        (i.id, i.points, i.status) for i in b.items
    ]
    assert [s.sha256 for s in child.sources][1] == base.sha256


def test_override_disable_and_additions(county: Path) -> None:
    child = write(
        county.parent / "town.toml",
        """\
extends = "county.toml"
id = "town-tailored"
version = "2026.2"
disable = ["facilities.plate"]

[override."archives.registers"]
each = 1

[fields.trainings]
type = "count"
unit = "次"

[[categories]]
id = "facilities"
max = 25

[[categories]]
id = "archives"
  [[categories.items]]
  id = "training"
  title = "培训每次1分，最高3分"
  max = 3
  kind = "count"
  field = "trainings"
  each = 1
""",
    )
    rb = load_rulebook(child)
    assert rb.id == "town-tailored"
    assert [s.path for s in rb.sources] == [str(child), str(county.resolve())]
    assert "facilities.plate" not in [i.id for i in rb.items()]
    assert rb.category("facilities").max == 25
    assert rb.item("archives.training").max == 3
    ningfeng = next(
        ev for ev in load_evidence(rb, [DATA / "evidence"]).evidence if ev.unit.id == "ningfeng"
    )
    r = score(rb, ningfeng)
    # 2 of 5 registers missing, now 1 point each: 10 − 2 = 8 (was 6 with 2 each)
    assert r.item("archives.registers").points == 8
    # no trainings given: the new item is missing, not excused
    assert r.item("archives.training").status == "missing"
    # facilities without the plate: room 2 + funds 4.2 = 6.2 of 25
    assert r.category("facilities").score == F(62, 10)


@pytest.mark.usefixtures("english")
def test_unknown_override_and_disable_are_located_in_the_child(county: Path) -> None:
    child = write(
        county.parent / "town.toml",
        """\
extends = "county.toml"
disable = ["facilities.plat"]

[override."archives.meetngs"]
target = 6
""",
    )
    with pytest.raises(RulebookError) as info:
        load_rulebook(child)
    got = {(p.file, p.line, p.path) for p in info.value.problems}
    assert (str(child), 4, 'override."archives.meetngs"') in got
    assert (str(child), 2, "disable[0]") in got
    text = str(info.value)
    assert "did you mean 'archives.meetings'?" in text
    assert "did you mean 'facilities.plate'?" in text


@pytest.mark.usefixtures("english")
def test_error_in_an_extended_item_names_the_file_that_wrote_it(county: Path) -> None:
    child = write(
        county.parent / "town.toml",
        """\
extends = "county.toml"

[override."archives.meetings"]
partial = "half"
""",
    )
    with pytest.raises(RulebookError) as info:
        load_rulebook(child)
    (problem,) = info.value.problems
    assert problem.file == str(child)
    assert problem.line == 4
    assert "'half' is not allowed" in problem.message


def test_base_problems_point_at_the_base(county: Path) -> None:
    # disabling an item leaves the category's max above its items: the max is in the base
    child = write(
        county.parent / "town.toml", 'extends = "county.toml"\ndisable = ["facilities.plate"]\n'
    )
    with pytest.raises(RulebookError) as info:
        load_rulebook(child)
    (problem,) = info.value.problems
    assert problem.file == str(county.resolve())
    assert problem.line is not None
    assert county.read_text(encoding="utf-8").splitlines()[problem.line - 1].strip() == "max = 30"


def test_cycle_is_an_error_naming_the_loop(tmp_path: Path) -> None:
    a = write(tmp_path / "a.toml", 'extends = "b.toml"\nid = "a"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\nid = "b"\n')
    with pytest.raises(RulebookError) as info:
        load_rulebook(a)
    cycle = [p for p in info.value.problems if "cycle" in p.message]
    assert cycle and cycle[0].line == 1
    assert "a.toml → b.toml → a.toml" in cycle[0].message


def test_missing_base_is_named(tmp_path: Path) -> None:
    a = write(tmp_path / "a.toml", 'extends = "nowhere.toml"\n')
    with pytest.raises(RulebookError) as info:
        load_rulebook(a)
    assert info.value.problems[0].line == 1
    assert "nowhere.toml" in info.value.problems[0].message


def test_override_without_extends_is_an_error() -> None:
    with pytest.raises(RulebookError, match="add extends"):
        parse_rulebook('id = "x"\n[override."a.b"]\nmax = 2\n')


def test_json_names_the_chain_with_sha256s(county: Path) -> None:
    child = write(county.parent / "town.toml", 'extends = "county.toml"\nversion = "2026.9"\n')
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "score",
            str(child),
            str(DATA / "evidence"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    doc = json.loads(proc.stdout)
    chain = doc["rulebook"]["chain"]
    assert [c["path"] for c in chain] == [str(child), str(county.resolve())]
    assert all(len(c["sha256"]) == 64 for c in chain)
    assert doc["rulebook"]["version"] == "2026.9"
