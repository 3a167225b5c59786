"""Groups: a category's sub-clauses with their own subtotal and cap (SPEC §10.3, §10.10).

Every example runs through both engines (the ``engine`` fixture of test_kinds); every
expected number is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fulian_eval import RulebookError, parse_evidence, parse_rulebook, rank, score
from fulian_eval.report.render import explain_report, score_json
from fulian_eval.testing import evidence_data, rulebook_texts
from test_kinds import HEAD, book, engine, evidence, run  # noqa: F401  (engine: both engines)

F = Fraction

# 优质服务: a direct item (4) and two groups: 重视教育 capped at 6 over 5 + 3,
# 阵地建设 with its default max 2 + 2 = 4. Category max: 4 + 6 + 4 = 14.
SERVICE = """
[fields.meetings]
type = "count"
unit = "次"
title = "例会次数"
[fields.boards]
type = "count"
unit = "块"
title = "宣传栏"
[fields.has_room]
type = "bool"
title = "有家长学校"
[fields.has_sign]
type = "bool"
title = "有标牌"
[fields.has_rules]
type = "bool"
title = "制度上墙"
[fields.floating]
type = "count"
unit = "人"
title = "流动人口"

[[categories]]
id = "service"
title = "优质服务"

  [[categories.items]]
  id = "meet"
  title = "按时召开例会"
  kind = "count"
  field = "meetings"
  each = 1
  max = 4

  [[categories.groups]]
  id = "edu"
  title = "重视教育（6分）"
  max = 6

    [[categories.groups.items]]
    id = "board"
    title = "宣传栏每块得1分，最高5分"
    kind = "count"
    field = "boards"
    each = 1
    max = 5

    [[categories.groups.items]]
    id = "school"
    title = "办好家长学校"
    kind = "check"
    field = "has_room"
    max = 3

  [[categories.groups]]
  id = "site"
  title = "阵地建设"

    [[categories.groups.items]]
    id = "sign"
    title = "有标牌"
    kind = "check"
    field = "has_sign"
    max = 2

    [[categories.groups.items]]
    id = "rules"
    title = "制度上墙"
    kind = "check"
    field = "has_rules"
    max = 2
    applies_when = "floating > 0"
"""

FULL = {
    "meetings": 4,
    "boards": 5,
    "has_room": True,
    "has_sign": True,
    "has_rules": True,
    "floating": 10,
}


def test_the_loader_keeps_groups_and_full_ids() -> None:
    rb = book(SERVICE)
    cat = rb.category("service")
    assert [i.id for i in cat.items] == [
        "service.meet",
        "service.board",
        "service.school",
        "service.sign",
        "service.rules",
    ]
    assert [i.group for i in cat.items] == [None, "edu", "edu", "site", "site"]
    assert [(g.id, g.max) for g in cat.groups] == [("edu", 6), ("site", 4)]
    assert cat.max == 14  # 4 + 6 (the group's cap, not 5 + 3) + 4
    assert rb.scale == 14
    assert rb.item("service.board").group == "edu"


def test_a_group_caps_its_sum() -> None:
    rb = book(SERVICE)
    # meet 4; edu: board 5 + school 3 = 8, capped at 6; site 2 + 2 = 4 -> 4 + 6 + 4 = 14
    r = run(rb, FULL)
    c = r.category("service")
    assert [(g.id, g.score) for g in c.groups] == [("edu", 6), ("site", 4)]
    assert c.score == 14 and r.total == 14
    # meet 1; edu: board 2 + school 0 = 2; site 2 + 0 = 2 -> 5
    r = run(rb, dict(FULL, meetings=1, boards=2, has_room=False, has_rules=False))
    assert [g.score for g in r.category("service").groups] == [2, 2]
    assert r.category("service").score == 5
    # the items keep their own points: the cap is the group's
    assert [i.points for i in r.items] == [F(1), F(2), F(0), F(2), F(0)]


def test_rescaling_inside_a_group_first_then_in_the_category() -> None:
    rb = book(SERVICE)
    # floating 0: site.rules not applicable. site: a = 2 of A = 4, e = 2 -> 2 × 4 / 2 = 4.
    # The category has everything applicable (each group counted at its max): 4 + 6 + 4 = 14.
    r = run(rb, dict(FULL, floating=0))
    assert r.item("service.rules").status == "not_applicable"
    site = r.category("service").groups[1]
    assert site.score == 4 and site.applicable
    assert r.category("service").score == 14
    # has_sign false as well: site = 0 × 4 / 2 = 0 -> 4 + 6 + 0 = 10
    r = run(rb, dict(FULL, floating=0, has_sign=False))
    assert r.category("service").groups[1].score == 0
    assert r.category("service").score == 10
    # a rescaled group rounds as items do: board 1 of an edu with school not applicable ...
    odd = book(
        SERVICE.replace(
            '    field = "has_room"\n    max = 3\n',
            '    field = "has_room"\n    max = 3\n    applies_when = "floating > 0"\n',
        )
    )
    # floating 0: edu: e = 1 (board), a = 5, A = 8 -> 1 × 8 / 5 = 1.6; site: 2 × 4 / 2 = 4
    # category: 4 + 1.6 + 4 = 9.6
    r = run(odd, dict(FULL, floating=0, boards=1))
    assert [g.score for g in r.category("service").groups] == [F(8, 5), 4]
    assert r.category("service").score == F(48, 5)


def test_a_rescaled_group_is_rounded_before_the_category_adds_it() -> None:
    rb = book(
        """
        [fields.x]
        type = "count"
        [fields.open]
        type = "bool"
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "d"
          kind = "check"
          field = "open"
          max = 1
          [[categories.groups]]
          id = "g"
            [[categories.groups.items]]
            id = "a"
            kind = "count"
            field = "x"
            each = 1
            max = 3
            [[categories.groups.items]]
            id = "b"
            kind = "check"
            field = "open"
            max = 3
            applies_when = "x > 5"
            [[categories.groups.items]]
            id = "e"
            kind = "check"
            field = "open"
            max = 3
            applies_when = "x > 5"
        """
    )
    # x = 2, open: b and e not applicable; a 2 × 9 / 3 = 6; category 1 + 6 = 7
    assert run(rb, {"x": 2, "open": True}).category("c").score == 7
    # a group of 3 + 4 with only the 3-point item applicable: 1 × 7 / 3 = 2.333… -> 2.33,
    # which the category adds as printed: 1 + 2.33 = 3.33
    capped = book(
        """
        [fields.x]
        type = "count"
        [fields.open]
        type = "bool"
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "d"
          kind = "check"
          field = "open"
          max = 1
          [[categories.groups]]
          id = "g"
            [[categories.groups.items]]
            id = "a"
            kind = "count"
            field = "x"
            each = 1
            max = 3
            [[categories.groups.items]]
            id = "b"
            kind = "check"
            field = "open"
            max = 4
            applies_when = "x > 5"
        """
    )
    r = run(capped, {"x": 1, "open": True})
    assert r.category("c").groups[0].score == F(233, 100)
    assert r.category("c").score == F(333, 100)


def test_a_group_with_nothing_applicable_drops_out_of_its_category() -> None:
    rb = book(
        SERVICE.replace(
            '    field = "has_sign"\n',
            '    field = "has_sign"\n    applies_when = "floating > 0"\n',
        )
    )
    # floating 0: site has nothing applicable: it drops out. A = 14, a = 4 + 6 = 10,
    # e = 4 + 6 = 10 -> 10 × 14 / 10 = 14
    r = run(rb, dict(FULL, floating=0))
    site = r.category("service").groups[1]
    assert not site.applicable and site.score == 0
    assert r.category("service").score == 14
    # meet 2 instead: e = 2 + 6 = 8 -> 8 × 14 / 10 = 11.2
    r = run(rb, dict(FULL, floating=0, meetings=2))
    assert r.category("service").score == F(56, 5)
    assert r.rounded_total == F(56, 5)


# ----------------------------------------------------------- deduction categories

BUSINESS = """
[fields.late]
type = "count"
unit = "次"
title = "迟报次数"
[fields.wrong]
type = "count"
unit = "处"
title = "数据差错"
[fields.lost]
type = "count"
unit = "份"
title = "缺失报表"
[fields.rules_ok]
type = "bool"
title = "制度健全"

[[categories]]
id = "business"
title = "业务工作"
type = "deduction"
max = 100

  [[categories.items]]
  id = "rules"
  title = "制度不健全的扣2分"
  kind = "check"
  when = "not rules_ok"
  max = 2

  [[categories.groups]]
  id = "reports"
  title = "统计报表（本条最高扣10分）"
  max = 10

    [[categories.groups.items]]
    id = "late"
    title = "每迟报一次扣2分"
    kind = "count"
    field = "late"
    each = 2
    max = 6

    [[categories.groups.items]]
    id = "wrong"
    title = "每处差错扣1分"
    kind = "count"
    field = "wrong"
    each = 1
    max = 5

    [[categories.groups.items]]
    id = "lost"
    title = "每缺一份扣3分"
    kind = "count"
    field = "lost"
    each = 3
"""


def test_a_deduction_group_caps_its_total_deduction() -> None:
    rb = book(BUSINESS)
    assert rb.scale == 100
    # late 2 × 2 = 4, wrong 3 × 1 = 3, lost 1 × 3 = 3: 10, at the cap; rules 2 -> 100 − 12 = 88
    r = run(rb, {"late": 2, "wrong": 3, "lost": 1, "rules_ok": False})
    assert r.category("business").groups[0].score == 10
    assert r.total == 88
    # late 3 × 2 = 6, wrong 5, lost 2 × 3 = 6: 17, capped at 10 (本条最高扣10分) -> 100 − 10 = 90
    r = run(rb, {"late": 3, "wrong": 5, "lost": 2, "rules_ok": True})
    assert [i.points for i in r.items] == [F(0), F(6), F(5), F(6)]
    assert r.category("business").groups[0].score == 10
    assert r.category("business").score == 90 and r.total == 90
    # nothing wrong: 100
    assert run(rb, {"late": 0, "wrong": 0, "lost": 0, "rules_ok": True}).total == 100


def test_an_uncapped_item_in_a_capped_group_deducts_the_groups_max_when_missing() -> None:
    # lost has no max of its own: under on_missing = "worst" it deducts its group's max (§10.10)
    rb = book(BUSINESS)
    lost = rb.item("business.lost")
    assert not lost.capped and lost.max == 10
    r = run(rb, {"late": 0, "wrong": 0, "rules_ok": True})
    assert r.item("business.lost").status == "missing"
    assert r.item("business.lost").points == 10
    assert r.total == 90


@pytest.mark.usefixtures("english")
def test_a_group_without_a_max_over_an_uncapped_item_is_uncapped() -> None:
    text = BUSINESS.replace("  max = 10\n\n", "\n").replace(
        "    each = 3\n", '    each = 3\n    on_missing = "none"\n'
    )
    rb = book(text)
    g = rb.category("business").groups[0]
    assert not g.capped
    # late 3 × 2 = 6, wrong 5, lost 10 × 3 = 30: 41, no cap -> 100 − 41 = 59
    r = run(rb, {"late": 3, "wrong": 5, "lost": 10, "rules_ok": True})
    assert r.category("business").groups[0].score == 41
    assert r.total == 59
    # without on_missing = "none" the uncapped item cannot deduct "the most it could"
    with pytest.raises(RulebookError, match="without max"):
        book(BUSINESS.replace("  max = 10\n\n", "\n"))


def test_on_missing_at_group_level_nearest_wins() -> None:
    text = BUSINESS.replace("  max = 10\n\n", '  max = 10\n  on_missing = "none"\n\n').replace(
        "    each = 1\n    max = 5\n", '    each = 1\n    max = 5\n    on_missing = "worst"\n'
    )
    rb = book(text)
    assert rb.item("business.late").on_missing == "none"  # the group's
    assert rb.item("business.wrong").on_missing == "worst"  # its own
    assert rb.item("business.rules").on_missing == "worst"  # the rulebook's
    # all missing: rules worst 2; late none 0; wrong worst 5; lost none 0 -> 100 − 7 = 93
    r = run(rb, {})
    assert [i.points for i in r.items] == [F(2), F(0), F(5), F(0)]
    assert r.total == 93


def test_not_applicable_at_group_level() -> None:
    text = SERVICE.replace(
        '  title = "阵地建设"\n', '  title = "阵地建设"\n  not_applicable = "award"\n'
    )
    rb = book(text)
    assert rb.item("service.rules").not_applicable == "award"
    # floating 0: rules is awarded its max 2: site 2 + 2 = 4, no rescale anywhere
    r = run(rb, dict(FULL, floating=0, has_sign=False))
    assert r.item("service.rules").points == 2
    assert r.category("service").groups[1].score == 2  # sign 0 + rules 2
    assert r.category("service").score == 12  # 4 + 6 + 2


def test_a_penalty_group() -> None:
    rb = book(
        """
        [fields.late]
        type = "count"
        [fields.wrong]
        type = "count"
        [[categories]]
        id = "base"
          [[categories.items]]
          id = "x"
          kind = "count"
          field = "late"
          each = 1
          max = 10
        [[categories]]
        id = "minus"
        type = "penalty"
        max = 8
          [[categories.groups]]
          id = "g"
          max = 3
            [[categories.groups.items]]
            id = "late"
            kind = "count"
            field = "late"
            each = 1
            max = 5
            [[categories.groups.items]]
            id = "wrong"
            kind = "count"
            field = "wrong"
            each = 1
            max = 5
        """
    )
    # base x: 8 of 10; penalty: late 8 (capped 5) + wrong 2 = 7, the group caps it at 3
    # total 8 − 3 = 5
    r = run(rb, {"late": 8, "wrong": 2})
    assert r.category("minus").groups[0].score == 3
    assert r.category("minus").score == 3
    assert r.total == 5


# ----------------------------------------------------------------- validation


def _problems(body: str) -> list[str]:
    with pytest.raises(RulebookError) as info:
        parse_rulebook(HEAD + body)
    return [f"{p.path}: {p.message} (line {p.line})" for p in info.value.problems]


@pytest.mark.usefixtures("english")
def test_validation_of_groups() -> None:
    body = SERVICE.replace("  max = 6\n", '  max = 9\n  titel = "x"\n')
    msgs = _problems(body)
    assert any("max: 9 is above the sum of its items' max (8)" in m for m in msgs), msgs
    assert any("unknown key 'titel' in a group" in m and "did you mean 'title'" in m for m in msgs)
    # a group id the same as an item id
    msgs = _problems(SERVICE.replace('  id = "edu"\n', '  id = "meet"\n'))
    assert any("'meet' is used twice in category 'service'" in m for m in msgs), msgs
    # an item id used in two groups
    msgs = _problems(SERVICE.replace('    id = "sign"\n', '    id = "board"\n'))
    assert any(
        "item id 'service.board' is used twice (first at groups[0].items[0])" in m for m in msgs
    ), msgs


@pytest.mark.usefixtures("english")
def test_nested_and_empty_groups_are_refused_with_their_lines() -> None:
    nested = SERVICE.replace(
        '  id = "site"\n  title = "阵地建设"\n',
        '  id = "site"\n  title = "阵地建设"\n\n    [[categories.groups.groups]]\n    id = "deep"\n',
    )
    msgs = _problems(nested)
    assert any("one level only" in m for m in msgs), msgs
    line = next(m for m in msgs if "one level only" in m)
    text = (HEAD + nested).splitlines()
    assert "[[categories.groups.groups]]" in text[int(line.rsplit("line ", 1)[1].rstrip(")")) - 1]
    empty = SERVICE + '\n  [[categories.groups]]\n  id = "none"\n'
    msgs = _problems(empty)
    assert any(
        'groups[2] "service.none": a group needs at least one [[categories.groups.items]]' in m
        for m in msgs
    ), msgs


@pytest.mark.usefixtures("english")
def test_category_only_keys_on_a_group_say_where_they_belong() -> None:
    msgs = _problems(
        SERVICE.replace("  max = 6\n", '  max = 6\n  applies_when = "floating > 0"\n  weight = 2\n')
    )
    assert any(
        "\"service.edu\".applies_when: a group takes no 'applies_when'; put the condition on its items"
        in m
        for m in msgs
    ), msgs
    assert any("a group takes no 'weight'" in m for m in msgs), msgs


@pytest.mark.usefixtures("english")
def test_a_deduction_group_has_no_floor() -> None:
    msgs = _problems(BUSINESS.replace("  max = 10\n\n", "  max = 10\n  floor = -2\n\n"))
    assert any("has no floor" in m for m in msgs), msgs


# ----------------------------------------------------------------- output


def test_json_gives_groups_and_each_items_group() -> None:
    rb = book(SERVICE)
    results = [score(rb, evidence(rb, dict(FULL, boards=1, floating=0)))]
    doc = score_json(rb, rank(rb, results), [])
    unit = doc["units"][0]
    cat = unit["categories"][0]
    # edu: board 1 + school 3 = 4; site: sign 2 of 2 applicable -> 2 × 4 / 2 = 4
    assert cat["groups"] == [
        {
            "id": "edu",
            "title": "重视教育（6分）",
            "score": "4.00",
            "max": "6.00",
            "applicable": True,
        },
        {"id": "site", "title": "阵地建设", "score": "4.00", "max": "4.00", "applicable": True},
    ]
    assert cat["score"] == "12.00"  # 4 + 4 + 4
    assert [i["group"] for i in unit["items"]] == [None, "edu", "edu", "site", "site"]


def test_json_of_an_uncapped_deduction_group_has_no_max() -> None:
    text = BUSINESS.replace("  max = 10\n\n", "\n").replace(
        "    each = 3\n", '    each = 3\n    on_missing = "none"\n'
    )
    rb = book(text)
    results = [score(rb, evidence(rb, {"late": 1, "wrong": 0, "lost": 0, "rules_ok": True}))]
    [g] = score_json(rb, rank(rb, results), [])["units"][0]["categories"][0]["groups"]
    assert g == {
        "id": "reports",
        "title": "统计报表（本条最高扣10分）",
        "score": "2.00",
        "max": None,
        "applicable": True,
    }


def test_explain_shows_group_subtotals() -> None:
    rb = book(BUSINESS)
    results = [score(rb, evidence(rb, {"late": 3, "wrong": 5, "lost": 2, "rules_ok": True}))]
    text = explain_report(rb, rank(rb, results)[0], "table")
    line = next(x for x in text.splitlines() if "business.reports" in x)
    assert "小计：统计报表（本条最高扣10分）" in line
    assert "10.00" in line and "各项合计扣17分，本组最高扣10分" in line
    # the subtotal comes right after the group's last item
    lines = text.splitlines()
    k = next(n for n, x in enumerate(lines) if "business.reports" in x)
    assert "business.lost" in lines[k - 1]


# ----------------------------------------------------------------- CLI


def test_a_csv_of_grouped_rulebook_end_to_end(tmp_path: Path) -> None:
    rb_path = tmp_path / "rb.toml"
    rb_path.write_text(HEAD + BUSINESS, encoding="utf-8")
    table = tmp_path / "units.csv"
    table.write_text(
        "unit,name,迟报次数,数据差错,缺失报表,制度健全\n"
        "a,甲村,3,5,2,是\n"  # 17 capped 10 -> 90
        "b,乙村,1,1,0,否\n"  # 2 + 1 = 3, rules 2 -> 95
        "c,丙村,0,0,0,是\n",  # 100
        encoding="utf-8",
    )
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", "rank", str(rb_path), str(table), "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    rows = [line.split(",") for line in p.stdout.splitlines()[1:]]
    assert [(r[2], r[6]) for r in rows] == [("c", "100.00"), ("b", "95.00"), ("a", "90.00")]
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "score",
            str(rb_path),
            str(table),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    units = {u["unit"]: u for u in json.loads(p.stdout)["units"]}
    assert units["a"]["categories"][0]["groups"][0]["score"] == "10.00"
    assert units["b"]["categories"][0]["groups"][0]["score"] == "3.00"


def test_validate_notes_mention_groups(tmp_path: Path) -> None:
    rb_path = tmp_path / "rb.toml"
    rb_path.write_text(HEAD + SERVICE, encoding="utf-8")
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", "validate", str(rb_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert "重视教育（6分）" in p.stdout and "封顶" in p.stdout


# ----------------------------------------------------------------- tailoring


@pytest.mark.usefixtures("english")
def test_tailoring_addresses_grouped_items_by_their_full_id(tmp_path: Path) -> None:
    from fulian_eval import load_rulebook

    (tmp_path / "county.toml").write_text(HEAD + SERVICE, encoding="utf-8")
    child = tmp_path / "town.toml"
    child.write_text(
        """\
extends = "county.toml"
disable = ["service.rules"]

[override."service.board"]
each = 2

[override."service.edu"]
max = 7

[[categories]]
id = "service"

  [[categories.groups]]
  id = "edu"

    [[categories.groups.items]]
    id = "visit"
    title = "家访"
    kind = "check"
    field = "has_sign"
    max = 1
""",
        encoding="utf-8",
    )
    rb = load_rulebook(child)
    cat = rb.category("service")
    assert [i.id for i in cat.items] == [
        "service.meet",
        "service.board",
        "service.school",
        "service.visit",
        "service.sign",
    ]
    assert rb.item("service.visit").group == "edu"
    assert cat.group("edu").max == 7 and cat.group("site").max == 2
    # board 2 × 2 = 4 (each overridden), school 3, visit 1: 8, capped at 7; meet 4; site sign 2
    r = run(rb, dict(FULL, boards=2))
    assert [g.score for g in r.category("service").groups] == [7, 2]
    assert r.category("service").score == 13
    # disabling every item of a group drops the group; a whole group can be disabled by its id
    child.write_text(
        'extends = "county.toml"\ndisable = ["service.sign", "service.rules", "service.edu"]\n',
        encoding="utf-8",
    )
    rb = load_rulebook(child)
    assert [g.id for g in rb.category("service").groups] == []
    assert [i.id for i in rb.category("service").items] == ["service.meet"]
    # a typo names what there is
    child.write_text(
        'extends = "county.toml"\n[override."service.bord"]\neach = 2\n', encoding="utf-8"
    )
    with pytest.raises(RulebookError, match=r"did you mean 'service\.board'"):
        load_rulebook(child)


# ----------------------------------------------------------------- properties


def _wrap_in_groups(text: str, data: st.DataObject) -> tuple[str, int]:
    """The same rulebook with a suffix of some categories' items put into a group whose max is
    its items' sum (the default); returns the text and how many groups it made."""
    head, *cats = text.split("\n[[categories]]\n")
    out = [head]
    made = 0
    for c in cats:
        keys, *items = c.split("  [[categories.items]]\n")
        k = data.draw(st.integers(0, len(items)), label="items kept direct")
        if k == len(items):
            out.append(c)
            continue
        made += 1
        out.append(
            keys
            + "".join("  [[categories.items]]\n" + i for i in items[:k])
            + '  [[categories.groups]]\n  id = "wrap"\n\n'
            + "".join("    [[categories.groups.items]]\n" + i for i in items[k:])
        )
    return "\n[[categories]]\n".join(out), made


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_groups_capped_at_their_sums_score_as_the_same_category_ungrouped(
    data: st.DataObject,
) -> None:
    # At precision 0.01 (item points are whole hundredths, so a group capped at its items'
    # maxes never cuts). At 0.1 or 1 items round up one by one (0.5 → 1 at precision 1),
    # and a group capped at the sum of its maxes may then cut what the category keeps.
    text = data.draw(
        rulebook_texts(groups=False, floors=False, applies_when=False, precision=F(1, 100))
    )
    grouped_text, made = _wrap_in_groups(text, data)
    flat, grouped = parse_rulebook(text), parse_rulebook(grouped_text)
    assert sum(len(c.groups) for c in grouped.categories) == made
    assert [c.max for c in flat.categories] == [c.max for c in grouped.categories]
    for raw in data.draw(st.lists(evidence_data(flat), min_size=1, max_size=3)):
        a = score(flat, parse_evidence(flat, raw))
        b = score(grouped, parse_evidence(grouped, raw))
        # a not-applicable item rescales inside its group first: that may differ (SPEC §10.3)
        rescaled = any(
            i.status == "not_applicable" and not (i.points and c.type == "base")
            for c in flat.categories
            for i in a.items
            if i.id.startswith(c.id + ".")
        )
        if rescaled:
            continue
        assert [(i.id, i.points, i.status) for i in a.items] == [
            (i.id, i.points, i.status) for i in b.items
        ]
        assert [c.score for c in a.categories] == [c.score for c in b.categories]
        assert (a.total, a.grade, a.vetoed) == (b.total, b.grade, b.vetoed)
        for c in b.categories:
            for g in c.groups:  # a group at its sum: the sum of its items, as printed
                added = sum(
                    (i.points for i in b.items if i.group == g.id and i.id.startswith(c.id + ".")),
                    F(0),
                )
                assert g.score == added or not g.applicable


# ----------------------------------------------------------------- sheets, audit


def test_record_sheets_print_a_subtotal_row_per_group() -> None:
    from fulian_eval.report.sheets import record_sheets_html

    rb = book(BUSINESS)
    results = [score(rb, evidence(rb, {"late": 3, "wrong": 5, "lost": 2, "rules_ok": False}))]
    html = record_sheets_html(rb, rank(rb, results))
    rows = html.split("<tr")
    k = next(n for n, r in enumerate(rows) if "小计（统计报表（本条最高扣10分））" in r)
    assert 'class="gsum"' in rows[k] and "-10.00" in rows[k]
    assert "各项合计扣17分，本组最高扣10分" in rows[k]
    assert "每缺一份扣3分" in rows[k - 1]  # right after the group's last item
    # the category re-adds by hand: rules −2 and the group −10 from 100
    assert "88.00" in html


def test_an_audited_grouped_run_replays(tmp_path: Path) -> None:
    rb_path = tmp_path / "rb.toml"
    rb_path.write_text(HEAD + BUSINESS, encoding="utf-8")
    table = tmp_path / "units.csv"
    table.write_text(
        "unit,迟报次数,数据差错,缺失报表,制度健全\na,3,5,2,是\nb,1,1,,否\n", encoding="utf-8"
    )
    ev = tmp_path / "c.toml"
    ev.write_text('[unit]\nid = "c"\n[values]\nlate = 4\nwrong = 9\nlost = 0\nrules_ok = true\n')
    store = str(tmp_path / "audit.db")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fulian_eval", *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
        )

    assert cli("rank", str(rb_path), str(table), "--audit", store).returncode == 0
    assert cli("score", str(rb_path), str(ev), "--format", "json", "--audit", store).returncode == 0
    assert cli("audit", "verify", store).returncode == 0
    replay = cli("audit", "replay", store)
    assert replay.returncode == 0 and "重算：0处差异" in replay.stdout, replay.stdout
    shown = json.loads(cli("audit", "show", store, "1", "--unit", "b", "--format", "json").stdout)
    # b: late 2 + wrong 1 + lost missing (worst: the group's 10) = 13, capped 10; rules 2 -> 88
    assert shown[0]["total"] == "88.00"


def test_the_workbook_notes_each_grouped_items_group() -> None:
    from fulian_eval.report.workbook import score_columns

    cols, _ = score_columns(book(BUSINESS))
    notes = {c.title: c.sub for c in cols}
    assert notes["每迟报一次扣2分"].endswith("属「统计报表（本条最高扣10分）」（本组最多扣10.00）")
    assert "属「" not in notes["制度不健全的扣2分"]
