"""Invalid rulebooks (SPEC §2.3): a corpus read by glob, each file with its exact problems.

Every file in ``tests/data/invalid`` holds one kind of mistake. ``EXPECTED`` maps it
to the problems :func:`fulian_eval.load_rulebook` must raise, as
``(line, path, message)``; the file is always the path the loader was given.
Entries in ``BUGS`` state the message the loader *should* give and are strict
xfails until src is fixed.
"""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from fulian_eval import RulebookError, load_rulebook, parse_rulebook

# These tests are about the English wording of the messages (their Chinese: the catalog,
# tests/test_messages.py).
pytestmark = pytest.mark.usefixtures("english")

ROOT = Path(__file__).resolve().parent.parent
INVALID = Path("tests") / "data" / "invalid"  # relative to ROOT, so messages are stable
VALID = Path("tests") / "data" / "acceptance" / "town-2026.toml"

Expected = tuple[int | None, str, str]

_FW = "提示：此行有全角标点，请改为半角（英文）标点："
_FW_EN = (
    " (hint: TOML needs ASCII quotes and punctuation; switch the input method to English for them)"
)

EXPECTED: dict[str, list[Expected]] = {
    "approximate-bound.toml": [
        (
            19,
            'categories[0].items[0] "service.volunteers".at_least',
            "'100余' is approximate; a rulebook needs exact bounds",
        ),
    ],
    "bad-toml-syntax.toml": [
        (17, "", "invalid TOML: Invalid value (column 11)"),
    ],
    "bool-field-in-numeric-item.toml": [
        (
            17,
            'categories[0].items[0] "facilities.plate".field',
            "'has_plate' is a bool field; this item needs a number field (count, number, quantity or derived)",
        ),
    ],
    "category-max-above-items.toml": [
        (
            12,
            'categories[0] "facilities".max',
            "30 is above the sum of its items' max (10); lower it to 10 or add items",
        ),
    ],
    "check-field-and-when.toml": [
        (
            13,
            'categories[0].items[0] "facilities.plate"',
            "a check item needs exactly one of 'field' (a bool field) or 'when' (an expression)",
        ),
    ],
    "derived-refers-to-later.toml": [
        (
            14,
            "derived.closure_pct.expr",
            "'closure_ratio' is a derived value defined later; define it before 'closure_pct'",
        ),
    ],
    "duplicate-category-id.toml": [
        (
            20,
            'categories[1] "facilities".id',
            "category id 'facilities' is used twice (first at categories[0])",
        ),
    ],
    "duplicate-grade-min.toml": [
        (13, "grades[1].min", "two grades have min 60; each grade needs its own"),
    ],
    "duplicate-item-id.toml": [
        (
            20,
            'categories[0].items[1] "facilities.plate".id',
            "item id 'facilities.plate' is used twice (first at items[0])",
        ),
    ],
    "empty-items.toml": [
        (
            9,
            'categories[0] "archives".items',
            "a category needs at least one [[categories.items]] (or [[categories.groups]])",
        ),
    ],
    "expression-syntax-error.toml": [
        (
            22,
            'categories[0].items[0] "service.volunteers".points',
            "expression error: expected ')' but found the end (at column 39)\n    min(10, volunteers / population * 1000\n                                          ^",
        ),
    ],
    "expression-type-error.toml": [
        (
            13,
            'categories[0] "service".applies_when',
            "expression error: count() needs a set, not a number (at column 7)\n    count(population) > 0\n          ^",
        ),
    ],
    "item-key-feild.toml": [  # in line order since issue 10 (SPEC §10.8): the item's line before its key's
        (14, 'categories[0].items[0] "facilities.room"', "'field' is required (a string)"),
        (
            18,
            'categories[0].items[0] "facilities.room".feild',
            "unknown key 'feild' in a threshold item (did you mean 'field'?)",
        ),
    ],
    "item-max-zero.toml": [
        (15, 'categories[0].items[0] "facilities.plate".max', "0 must be above 0"),
    ],
    "key-of-another-kind.toml": [
        (
            21,
            'categories[0].items[0] "facilities.room".tiers',
            "'tiers' is not used by a linear item (it belongs to tiers); a linear item takes field, full_at, zero_at",
        ),
    ],
    "linear-zero-equals-full.toml": [
        (
            20,
            'categories[0].items[0] "facilities.room".full_at',
            "full_at equals zero_at (50); they must differ",
        ),
    ],
    "manual-step-zero.toml": [
        (14, 'categories[0].items[0] "archives.quality".step', "0 must be above 0"),
    ],
    "not-applicable-policy.toml": [
        (
            6,
            "not_applicable",
            "'rescal' is not allowed; expected 'rescale' or 'award' (did you mean 'rescale'?)",
        ),
    ],
    "only-item-invalid.toml": [
        (
            14,
            'categories[0].items[0] "facilities.plate".max',
            "'ten' is a string; expected a number",
        ),
    ],
    "quantity-without-unit.toml": [
        (7, "fields.area", 'a quantity field needs a unit, e.g. unit = "m^2" or "元"'),
    ],
    "set-field-with-unit.toml": [
        (9, "fields.registers.unit", "a set field has no unit (got '册')"),
    ],
    "shortfall-partial-half.toml": [
        (
            22,
            'categories[0].items[0] "archives.meetings".partial',
            "'half' is not allowed; expected 'exact', 'whole' or 'any'",
        ),
    ],
    "threshold-without-bounds.toml": [
        (
            14,
            'categories[0].items[0] "facilities.room"',
            "a threshold item needs 'at_least' and/or 'at_most'",
        ),
    ],
    "tie-break-unknown-category.toml": [
        (
            6,
            "tie_break[0]",
            "unknown category 'archive' (did you mean 'archives'?); known: archives",
        ),
    ],
    "tier-points-above-max-multiline.toml": [
        (
            20,
            'categories[0].items[0] "service.closure".tiers[0].points',
            "12 is above the item's max 10",
        ),
    ],
    "tier-points-above-max.toml": [
        (
            19,
            'categories[0].items[0] "service.closure".tiers[0].points',
            "12 is above the item's max 10",
        ),
    ],
    "tier-unknown-key.toml": [
        (
            19,
            'categories[0].items[0] "service.closure".tiers[0].at_leest',
            "unknown key 'at_leest' in a tier (did you mean 'at_least'?)",
        ),
        (
            19,
            'categories[0].items[0] "service.closure".tiers[0]',
            "'at_least' is required (a number, or a string with a unit like \"20 m^2\")",
        ),
    ],
    "tiers-out-of-order.toml": [
        (
            19,
            'categories[0].items[0] "service.closure".tiers[1].at_least',
            "tiers must go from the highest at_least down; 98 is not below 80",
        ),
    ],
    "unit-mismatch-bound.toml": [
        (
            19,
            'categories[0].items[0] "facilities.room".at_least',
            "'5 kg': 'kg' cannot be converted to 'm^2' ([mass] vs [length] ** 2); the field is in 'm^2'",
        ),
    ],
    "unknown-category-type.toml": [
        (
            9,
            'categories[0] "extra".type',
            "'bonsu' is not a category type; expected 'base', 'deduction', 'bonus' or 'penalty' (did you mean 'bonus'?)",
        ),
    ],
    "unknown-field-in-item.toml": [
        (
            18,
            'categories[0].items[0] "facilities.room".field',
            "unknown field 'aera' (did you mean 'area'?); declare it under [fields.aera] or [derived.aera]",
        ),
    ],
    "unknown-field-type.toml": [
        (
            8,
            "fields.population.type",
            "unknown field type 'cout' (did you mean 'count'?); expected one of count, number, quantity, bool, set, text, choice",
        ),
    ],
    "unknown-kind.toml": [
        (
            16,
            'categories[0].items[0] "archives.accuracy".kind',
            "unknown kind 'dedcut' (did you mean 'deduct'?); expected one of check, threshold, tiers, linear, count, deduct, shortfall, surplus, expr, manual, veto, choice",
        ),
    ],
    "unknown-name-in-expression.toml": [
        (
            22,
            'categories[0].items[0] "service.volunteers".points',
            "expression error: unknown name 'populaton' (did you mean 'population'?) (at column 22)\n    min(10, volunteers / populaton * 1000)\n                         ^",
        ),
    ],
    "unknown-top-key.toml": [
        (6, "titel", "unknown key 'titel' in the rulebook (did you mean 'title'?)"),
    ],
    "unknown-unit-field.toml": [
        (
            9,
            "fields.farmland.unit",
            "unknown unit '顷亩'; expected a unit such as 人 户 元 万元 % m^2 册 件",
        ),
    ],
    "veto-with-max.toml": [
        (
            24,
            'categories[0].items[1] "archives.fraud".max',
            "a veto item scores no points; remove max = 5",
        ),
    ],
    "weights-on-some-categories.toml": [
        (
            20,
            'categories[1] "archives"',
            "either every base category has a weight or none has; no weight on: archives",
        ),
    ],
    "wrong-type-max.toml": [
        (
            15,
            'categories[0].items[0] "facilities.plate".max',
            "'ten' is a string; expected a number",
        ),
    ],
    "wrong-type-scale.toml": [
        (5, "scale", "'100' is a string; expected a number"),
    ],
    # issue 13: values that crashed or hung validate (nan/inf, huge numbers, arithmetic in units, devices)
    "non-finite-numbers.toml": [  # in line order since issue 10: scale (line 5) first
        (5, "scale", "nan is not a number"),
        (
            21,
            'categories[0].items[0] "facilities.room".at_least',
            "1e400 is too large; numbers below 1e31 are read (check the figure, or use a larger unit); the field is in 'm^2'",
        ),
        (
            28,
            'categories[0].items[1] "facilities.size".at_least',
            "1e999999999 is too large; numbers below 1e31 are read (check the figure, or use a larger unit); the field is in 'm^2'",
        ),
        (
            35,
            'categories[0].items[2] "facilities.faults".faults.wrong_records',
            "-inf is not a finite number; write the figure",
        ),
        (
            39,
            'categories[0].items[3] "facilities.sign".max',
            "inf is not a finite number; write the figure",
        ),
    ],
    "points-beyond-limit.toml": [  # in line order since issue 10: scale (line 5) first
        (
            5,
            "scale",
            "100000000000000000000 points is beyond 10000; a score this large is almost certainly a slip (items, categories and the scale take at most 10000 points)",
        ),
        (
            15,
            'categories[0].items[0] "facilities.plate".max',
            "100000000000000000 points is beyond ±10000; a score this large is almost certainly a slip (items, categories and the scale take at most 10000 points)",
        ),
        (
            21,
            'categories[0].items[1] "facilities.sign".max',
            "20000000 points is beyond ±10000; a score this large is almost certainly a slip (items, categories and the scale take at most 10000 points)",
        ),
    ],
    "scale-zero.toml": [
        (
            5,
            "scale",
            "0 must be above 0 (or leave scale out for the sum of the base categories' max, 5)",
        ),
    ],
    "unit-with-arithmetic.toml": [
        (
            9,
            "fields.room_area.unit",
            "unit 'm*10**10**10' cannot be read at '10**10**10'; a unit is names such as m, hectare, 万元 joined by '*', '·' or '/', with whole powers up to 4 (m^2, m**3, m²); expected a unit such as 人 户 元 万元 % m^2 册 件",
        ),
        (
            22,
            'categories[0].items[0] "facilities.hall".at_least',
            "'120 m*10**10**10': unit 'm*10**10**10' cannot be read at '10**10**10'; a unit is names such as m, hectare, 万元 joined by '*', '·' or '/', with whole powers up to 4 (m^2, m**3, m²); the field is in 'm^2'",
        ),
    ],
    "expression-huge-constant.toml": [
        (
            17,
            'categories[0].items[0] "facilities.books".points',
            "expression error: the number 100000000000000000000000…(401 characters) is out of range: numbers take at most 60 digits and stay below 1e31 (at column 16)\n    min(5, books / 10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000)\n                   ^",
        ),
    ],
    "number-thousands-of-digits.toml": [
        (
            15,
            "",
            "invalid TOML: a number of thousands of digits; at most 60 significant digits are read",
        ),
    ],
    "nested-too-deep.toml": [
        (None, "", "invalid TOML: tables or arrays are nested too deeply (at most 32 levels)"),
    ],
    "extends-a-device.toml": [
        (
            5,
            "extends",
            "cannot use '/dev/zero' (/dev/zero): a character device, not a regular file; a rulebook must be a file",
        ),
        (None, "categories", "the rulebook has no [[categories]]; a scheme needs at least one"),
    ],
    # issue 10 (SPEC §10.8): unknown keys beside a missing kind, the % trap, no follow-on problems,
    # hints for TOML typed with a Chinese keyboard, [crosscheck] checked at load
    "kind-typo-beside-missing-kind.toml": [  # and no "max 25 is above the sum of its items' max (23)"
        (14, 'categories[0].items[0] "facilities.plate"', "'kind' is required (a string)"),
        (
            18,
            'categories[0].items[0] "facilities.plate".kindd',
            "unknown key 'kindd' in an item (did you mean 'kind'?)",
        ),
    ],
    "unknown-kind-beside-unknown-key.toml": [
        (
            15,
            'categories[0].items[0] "facilities.plate".kind',
            "unknown kind 'chek' (did you mean 'check'?); expected one of check, threshold, tiers, linear, count, deduct, shortfall, surplus, expr, manual, veto, choice",
        ),
        (
            16,
            'categories[0].items[0] "facilities.plate".feild',
            "unknown key 'feild' in an item (did you mean 'field'?)",
        ),
    ],
    "percent-bound-without-unit.toml": [  # the field in '%' (closure) takes "92 %" as 92
        (
            22,
            'categories[0].items[0] "service.match".at_least',
            "'92 %' on a field without a unit would be 0.92; declare unit = \"%\"",
        ),
        (
            38,
            'categories[0].items[2] "service.match_tiers".tiers[1].at_least',
            "'90%' on a field without a unit would be 0.9; declare unit = \"%\"",
        ),
    ],
    "follow-on-broken-field.toml": [  # not: unknown name 'population' (derived, applies_when), unknown field, category max
        (
            7,
            "fields.population.type",
            "unknown field type 'cout' (did you mean 'count'?); expected one of count, number, quantity, bool, set, text, choice",
        ),
        (21, "categories[0].tie", "unknown key 'tie' in a category (did you mean 'title'?)"),
    ],
    "follow-on-unknown-category-type.toml": [  # read as base only to go on: not "10 is above …", not "no weight on"
        (
            16,
            'categories[1] "extra".type',
            "'bonsu' is not a category type; expected 'base', 'deduction', 'bonus' or 'penalty' (did you mean 'bonus'?)",
        ),
    ],
    "items-of-a-broken-category.toml": [  # a category that fails still has its items checked, for their own problems
        (6, 'categories[0] "archives".max', "'ten' is a string; expected a number"),
        (7, 'categories[0].items[0] "archives.x"', "'field' is required (a string)"),
        (
            11,
            'categories[0].items[0] "archives.x".feild',
            "unknown key 'feild' in a threshold item (did you mean 'field'?)",
        ),
        (20, 'categories[1] "pen".max', "'x' is a string; expected a number"),
        (
            21,
            'categories[1].items[0] "pen.late"',
            'an item without max deducts without a cap, so missing evidence cannot deduct \'the most it could\' (on_missing = "worst", the default); give it a max (本条最高扣X分) or on_missing = "none" or "reject"',
        ),
        (28, 'categories[1].items[1] "pen.late2".max', "'y' is a string; expected a number"),
    ],
    "crosscheck-misspelt.toml": [
        (
            6,
            "crosscheck.precedance",
            "unknown key 'precedance' in [crosscheck] (did you mean 'precedence'?); expected precedence, combine, role_weights, tolerance",
        ),
        (
            7,
            "crosscheck.combine",
            "'weigthed': expected 'precedence' or 'weighted' (did you mean 'weighted'?)",
        ),
        (
            12,
            "crosscheck.role_weights.peers",
            "unknown role 'peers' (did you mean 'peer'?); roles are self, peer, field, town",
        ),
    ],
    "toml-full-width-quotes.toml": [
        (4, "", "invalid TOML: Invalid value (column 9); " + _FW + '“ → "、” → "' + _FW_EN),
    ],
    "toml-full-width-closing-quote.toml": [
        (4, "", "invalid TOML: Illegal character '\\n' (column 15); " + _FW + '” → "' + _FW_EN),
    ],
    "toml-full-width-colon.toml": [
        (
            6,
            "",
            "invalid TOML: Expected '=' after a key in a key/value pair (column 5); "
            + _FW
            + "： → ="
            + _FW_EN,
        ),
    ],
    "toml-chinese-bare-key.toml": [
        (
            5,
            "",
            "invalid TOML: Invalid initial character for a key part (column 9); 提示：不加引号的键名只能用英文字母、数字、_ 和 -，"
            '字段名和 id 请用英文，如 [fields.women_home]，中文名称写在 title = "妇女之家" 里 '
            "(hint: a bare key takes only A-Z a-z 0-9 _ -; name it in English and put '妇女之家' in title)",
        ),
    ],
}

BUGS: dict[str, str] = {}


def _render(file: str, line: int | None, path: str, message: str) -> str:
    """How one problem prints: ``file:line: path: message`` (parts left out when empty)."""
    where = f"{file}:{line}" if line is not None else file
    return ": ".join(p for p in (where, path, message) if p)


def _corpus() -> list[str]:
    return sorted(p.name for p in (ROOT / INVALID).glob("*.toml"))


def _cases() -> list[object]:
    out: list[object] = []
    for name in _corpus():
        marks = [pytest.mark.xfail(strict=True, reason=BUGS[name])] if name in BUGS else []
        out.append(pytest.param(name, marks=marks, id=name.removesuffix(".toml")))
    return out


def test_corpus_and_expectations_match() -> None:
    names = _corpus()
    assert len(names) >= 25
    assert set(names) == set(EXPECTED)
    assert set(BUGS) <= set(EXPECTED)
    for name in names:
        assert EXPECTED[name], f"{name}: an invalid rulebook needs at least one expected problem"


@pytest.mark.parametrize("name", _cases())
def test_invalid_rulebook_reports_exact_problems(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    rel = INVALID / name
    file = str(rel)
    with pytest.raises(RulebookError) as info:
        load_rulebook(rel)
    got = [(p.file, p.line, p.path, p.message) for p in info.value.problems]
    want = [(file, line, path, message) for line, path, message in EXPECTED[name]]
    assert got == want
    assert str(info.value) == "\n".join(_render(file, *e) for e in EXPECTED[name])
    assert [str(p) for p in info.value.problems] == [_render(file, *e) for e in EXPECTED[name]]


@pytest.mark.parametrize("name", _corpus())
def test_parse_rulebook_reports_the_same_problems_as_load(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    rel = INVALID / name
    outcomes: list[tuple[object, ...]] = []
    for load in (
        lambda: load_rulebook(rel),
        lambda: parse_rulebook(rel.read_text(encoding="utf-8"), file=str(rel)),
    ):
        try:
            rb = load()
        except RulebookError as exc:
            outcomes.append(exc.problems)
        else:
            outcomes.append((rb.id, rb.version, rb.scale, rb.categories))
    assert outcomes[0] == outcomes[1]


def test_rulebook_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown kind 'dedcut'"):
        load_rulebook(ROOT / INVALID / "unknown-kind.toml")


def test_problem_lines_point_at_the_named_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a problem's path ends in a key, its line is the one that sets that key."""
    monkeypatch.chdir(ROOT)
    checked = 0
    for name, expected in EXPECTED.items():
        if name in BUGS:
            continue
        lines = (INVALID / name).read_text(encoding="utf-8").splitlines()
        for line, path, _ in expected:
            key = path.rsplit(".", 1)[-1] if "." in path else path
            if line is None or not key.isidentifier():
                continue
            text = lines[line - 1].strip()
            sets_key = text.startswith((f"{key} =", "tiers =")) or (
                text.startswith("{") and f"{key} =" in text
            )
            opens_table = text.startswith("[") and key in text
            assert sets_key or opens_table, (name, line, path, text)
            checked += 1
    assert checked >= 20


MANY_MISTAKES = """\
schema = "fulian-eval/rulebook/1"
id = "many"
version = "1"
titel = "多处错误"
scale = 100
tie_break = ["archive"]

[fields.population]
type = "cout"
unit = "人"

[fields.area]
type = "quantity"
unit = "m^2"

[[consistency]]
when = "area >= 0 and"

[[categories]]
id = "archives"

  [[categories.items]]
  id = "kind"
  max = 10
  kind = "dedcut"

  [[categories.items]]
  id = "size"
  max = 10
  kind = "threshold"
  field = "area"
  at_least = "5 kg"

  [[categories.items]]
  id = "plate"
  max = "ten"
  kind = "manual"

  [[categories.items]]
  id = "ok"
  max = 5
  kind = "manual"

[[categories]]
id = "facilities"
type = "bonsu"

  [[categories.items]]
  id = "other"
  max = 5
  kind = "manual"
"""


def test_validation_reports_every_mistake_not_only_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "many.toml").write_text(MANY_MISTAKES, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RulebookError) as info:
        load_rulebook("many.toml")
    got = [(p.file, p.line, p.path, p.message) for p in info.value.problems]
    assert got == [
        ("many.toml", 4, "titel", "unknown key 'titel' in the rulebook (did you mean 'title'?)"),
        (
            "many.toml",
            6,
            "tie_break[0]",
            "unknown category 'archive' (did you mean 'archives'?); known: archives, facilities",
        ),
        (
            "many.toml",
            9,
            "fields.population.type",
            "unknown field type 'cout' (did you mean 'count'?); expected one of count, number, "
            "quantity, bool, set, text, choice",
        ),
        (
            "many.toml",
            17,
            "consistency[0].when",
            "expression error: expression ends too early (at column 14)\n"
            "    area >= 0 and\n"
            "                 ^",
        ),
        (
            "many.toml",
            25,
            'categories[0].items[0] "archives.kind".kind',
            "unknown kind 'dedcut' (did you mean 'deduct'?); expected one of check, threshold, "
            "tiers, linear, count, deduct, shortfall, surplus, expr, manual, veto, choice",
        ),
        (
            "many.toml",
            32,
            'categories[0].items[1] "archives.size".at_least',
            "'5 kg': 'kg' cannot be converted to 'm^2' ([mass] vs [length] ** 2); the field is in 'm^2'",
        ),
        (
            "many.toml",
            36,
            'categories[0].items[2] "archives.plate".max',
            "'ten' is a string; expected a number",
        ),
        (
            "many.toml",
            46,
            'categories[1] "facilities".type',
            "'bonsu' is not a category type; expected 'base', 'deduction', 'bonus' or 'penalty' "
            "(did you mean 'bonus'?)",
        ),
    ]  # in line order (SPEC §10.8)


# ------------------------------------------------------------------ command line


def _validate(*paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", "validate", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )


def test_cli_validate_invalid_exits_2_with_problems_on_stderr() -> None:
    name = "unknown-kind.toml"
    file = str(INVALID / name)
    proc = _validate(file)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = [f"  {_render(file, *e)}" for e in EXPECTED[name]]
    assert proc.stderr == "\n".join([f"{file}: 1 problem", *lines]) + "\n"


def test_cli_validate_prints_every_problem_of_a_file() -> None:
    name = "item-key-feild.toml"
    file = str(INVALID / name)
    proc = _validate(file)
    assert proc.returncode == 2
    lines = [f"  {_render(file, *e)}" for e in EXPECTED[name]]
    assert proc.stderr == "\n".join([f"{file}: 2 problems", *lines]) + "\n"


def test_cli_validate_valid_rulebook_exits_0() -> None:
    proc = _validate(str(VALID))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.startswith(f"{VALID}: ok")
    assert "town-2026" in proc.stdout


def test_cli_validate_checks_every_file_and_fails_if_any_is_invalid() -> None:
    bad = str(INVALID / "duplicate-item-id.toml")
    proc = _validate(bad, str(VALID))
    assert proc.returncode == 2
    assert proc.stdout.startswith(f"{VALID}: ok")
    assert proc.stderr.startswith(f"{bad}: 1 problem\n")
    assert "item id 'facilities.plate' is used twice" in proc.stderr


def test_cli_validate_whole_corpus_names_every_file() -> None:
    files = [str(INVALID / n) for n in _corpus()]
    proc = _validate(*files)
    assert proc.returncode == 2
    headers = [ln for ln in proc.stderr.splitlines() if not ln.startswith(" ")]
    for name in _corpus():
        if name in BUGS:
            continue
        n = len(EXPECTED[name])
        assert f"{INVALID / name}: {n} problem{'s' if n != 1 else ''}" in headers


# ------------------------------------------------------------------ issue 10 (SPEC §10.8)


def test_a_percent_bound_on_a_percent_field_reads_as_written() -> None:
    rb = parse_rulebook(
        'id = "p"\n[fields.rate]\ntype = "number"\nunit = "%"\n[fields.share]\ntype = "number"\nunit = "％"\n'
        '[[categories]]\nid = "c"\n'
        '  [[categories.items]]\n  id = "a"\n  max = 5\n  kind = "threshold"\n  field = "rate"\n  at_least = "92 %"\n'
        '  [[categories.items]]\n  id = "b"\n  max = 5\n  kind = "threshold"\n  field = "share"\n  at_least = "92.5％"\n'
    )
    assert [getattr(i.rule, "at_least", None) for i in rb.items()] == [92, Fraction(185, 2)]


def test_a_plain_number_bound_on_a_unitless_field_is_not_the_percent_trap() -> None:
    rb = parse_rulebook(
        'id = "p"\n[fields.ratio]\ntype = "number"\n[[categories]]\nid = "c"\n'
        '  [[categories.items]]\n  id = "a"\n  max = 5\n  kind = "threshold"\n  field = "ratio"\n  at_least = 0.92\n'
    )
    assert getattr(rb.items()[0].rule, "at_least", None) == Fraction(23, 25)


def test_an_unterminated_string_at_the_end_names_the_line_with_the_full_width_quote() -> None:
    text = 'id = "t"\nversion = "1"\ntitle = "测试细则”'  # no newline: tomllib reports "at end of document"
    with pytest.raises(RulebookError) as info:
        parse_rulebook(text, file="q.toml")
    (p,) = info.value.problems
    assert (p.file, p.line) == ("q.toml", 3)
    assert p.message.startswith("invalid TOML: Unterminated string")
    assert '” → "' in p.message


def test_a_bare_chinese_key_is_a_toml_error_with_a_hint() -> None:
    with pytest.raises(RulebookError) as info:
        parse_rulebook('id = "t"\n名称 = "某镇细则"\n', file="k.toml")
    assert [(p.line, p.message) for p in info.value.problems] == [
        (
            2,
            "invalid TOML: Invalid statement (column 1); 提示：不加引号的键名只能用英文字母、数字、_ 和 -，"
            '评分细则的键名用英文（id、title、max …），中文写在值里，如 title = "名称"；确需中文键名时加英文引号：'
            '"名称" = … (hint: a bare key takes only A-Z a-z 0-9 _ -; use an English key, or quote it: "名称")',
        )
    ]


def test_a_quoted_chinese_key_is_legal_toml_and_gets_no_syntax_hint() -> None:
    with pytest.raises(RulebookError) as info:
        parse_rulebook(
            'id = "t"\n"名称" = 1\n[[categories]]\nid = "c"\n  [[categories.items]]\n'
            '  id = "a"\n  max = 5\n  kind = "manual"\n',
            file="k.toml",
        )
    assert [(p.line, p.path, p.message) for p in info.value.problems] == [
        (2, '"名称"', "unknown key '名称' in the rulebook")
    ]


def test_problems_of_a_chain_come_file_by_file_in_line_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "county.toml").write_text(
        'id = "county"\nversion = "1"\n\n[[categories]]\nid = "archives"\n\n'
        '  [[categories.items]]\n  id = "plate"\n  max = "ten"\n  kind = "manual"\n',
        encoding="utf-8",
    )
    (tmp_path / "town.toml").write_text(
        'id = "town"\nversion = "1"\nextends = "county.toml"\ntitel = "镇"\non_missing = "nothing"\n\n'
        '[[categories]]\nid = "extra"\ntype = "bonsu"\n\n  [[categories.items]]\n  id = "x"\n  max = 1\n'
        '  kind = "manual"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RulebookError) as info:
        load_rulebook("town.toml")
    got = [(Path(p.file).name, p.line, p.path) for p in info.value.problems]
    assert (
        got
        == [  # a child's own top-level keys are checked too (they were dropped by the merge before)
            ("town.toml", 4, "titel"),
            ("town.toml", 5, "on_missing"),
            ("town.toml", 9, 'categories[1] "extra".type'),
            ("county.toml", 9, 'categories[0].items[0] "archives.plate".max'),
        ]
    )


NOTES_BOOK = """\
id = "notes"
version = "2026"
scale = 100

[[categories]]
id = "archives"
title = "档案管理"
max = 30

  [[categories.items]]
  id = "a"
  max = 20
  kind = "manual"

  [[categories.items]]
  id = "b"
  max = 20
  kind = "manual"

[[categories]]
id = "business"
title = "业务工作"
type = "deduction"
max = 50
floor = -10

  [[categories.items]]
  id = "late"
  max = 5
  kind = "manual"

[[categories]]
id = "extra"
title = "加分项"
type = "bonus"
max = 5

  [[categories.items]]
  id = "award"
  max = 3
  kind = "manual"

[[categories]]
id = "penalty"
title = "扣分项"
type = "penalty"
max = 10

  [[categories.items]]
  id = "late"
  max = 10
  kind = "manual"
"""


def test_cli_validate_prints_notes_that_are_not_errors(tmp_path: Path) -> None:
    (tmp_path / "notes.toml").write_text(NOTES_BOOK, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "fulian_eval", "validate", "notes.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines() == [
        "notes.toml: ok — notes 2026: 4 categories, 5 items, 0 fields, scale 100",
        "  提示：最高可得总分 103 分（基础类别满分合计 80 分，折算为 100 分，加分类别最多加 3 分）",
        "  提示：类别 archives「档案管理」：满分 30 分，低于各项满分之和 40 分，得分以 30 分封顶",
        "  提示：扣分类别 business「业务工作」：基本分 50 分，各项扣分从基本分中扣除，最低 -10 分",
        "  提示：加分类别 extra「加分项」：满分 5 分，但各项满分之和只有 3 分，最多加 3 分",
        "  提示：减分类别 penalty「扣分项」：从总分中最多减 10 分",
    ]


@pytest.mark.parametrize(
    "text",
    [
        'id = "t"\ntitle = "妇联，优秀" x\n',  # full-width punctuation only inside a string
        'id = "t"\n[fields."妇女之家"\ntype = "bool"\n',  # a quoted Chinese key, the bracket left open
        'id = "t"\nx = 1 2\n',
    ],
)
def test_a_toml_error_not_from_a_chinese_keyboard_gets_no_hint(text: str) -> None:
    with pytest.raises(RulebookError) as info:
        parse_rulebook(text, file="n.toml")
    (p,) = info.value.problems
    assert p.line == 2
    assert p.message.startswith("invalid TOML: ")
    assert "提示" not in p.message and "hint" not in p.message


def test_unknown_keys_of_an_item_without_id_are_reported_beside_the_missing_id() -> None:
    with pytest.raises(RulebookError) as info:
        parse_rulebook(
            'id = "t"\n[[categories]]\nid = "c"\nmax = 5\n  [[categories.items]]\n  kind = "manual"\n'
            "  mx = 5\n  max = 5\n  each = 1\n",
            file="i.toml",
        )
    assert [(p.line, p.path, p.message) for p in info.value.problems] == [
        (5, "categories[0].items[0]", "'id' is required (a string)"),
        (7, "categories[0].items[0].mx", "unknown key 'mx' in a manual item (did you mean 'max'?)"),
        (
            9,
            "categories[0].items[0].each",
            "'each' is not used by a manual item (it belongs to count, deduct, shortfall, surplus); a manual item takes step",
        ),
    ]
