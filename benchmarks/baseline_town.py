"""A hand-written numpy baseline of the bundled town-village scheme, for the speed comparison.

What a competent programmer would write for ``rules/town-village-2026.toml`` alone,
with no rulebook engine, no reasons, no validation and float arithmetic: csv module ->
one numpy column per field -> the 33 items -> four weighted base categories (the
floating-population one dropping out where a village has none; archives and
facilities rescaled when an item is not applicable), bonus and penalty -> total,
veto, grade -> np.lexsort -> competition ranks overall and per group -> CSV with
the columns and row order of ``fulian-eval rank RULEBOOK IN.csv --format csv``.

It is the yardstick fulian_eval's general, exact engine is measured against. Being
floats, a few item points land just below a .xx5 rounding boundary and come out a
cent lower than the exact engine's: on 10,000 generated units (bench_score.make_rows),
4 totals differ by 0.01, all from 工作经费 0.0005 × funds landing on a half cent
(4890 元 -> 2.445 -> 2.44), and 22 ranks shift with them; every other column of every
row is the same.

Input: a table like ``examples/town/town.csv`` (units in brackets in the header,
sets ``;``-separated, 是/否, ``points:archives.quality``); an empty cell is missing
evidence (无资料不得分); approximate figures (``1000余``, ``160多``, ``近100``) are
read as the stated number.

    python benchmarks/baseline_town.py IN.csv OUT.csv
"""

from __future__ import annotations

import csv
import gc
import sys

import numpy as np

REGISTERS = (
    "工作活动记录簿",
    "妇女培训登记簿",
    "各类表彰登记簿",
    "群众来信来访登记簿",
    "重点帮扶对象登记簿",
)
ROSTERS = (
    "妇女干部花名册",
    "妇女代表花名册",
    "巾帼志愿者花名册",
    "留守妇女花名册",
    "困难妇女花名册",
)
STATION = ("办公场所", "标牌", "公示栏", "来访登记簿")
YES = {"true", "是", "有", "1"}
APPROX = " 近约大将余多左右以上来"  # 近100, 约50, 1000余, 160多, 100左右 ...
ROLE_ORDER = {"town": 0, "field": 1, "peer": 2, "self": 3}
NAN = float("nan")


def cents(x: np.ndarray) -> np.ndarray:
    """Half-up to 0.01 (in floats: what a quick script does)."""
    return np.floor(x * 100 + 0.5) / 100


def number(v: str) -> float:
    """One cell: '' is missing (NaN); approximate figures count as the number stated."""
    if not v:
        return NAN
    try:
        return float(v)
    except ValueError:
        return float(v.strip(APPROX))


def main(src: str, dst: str) -> None:
    gc.disable()  # a short-lived script; the cyclic collector only slows building 100k rows
    with open(src, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], [r for r in rows[1:] if any(r)]
    n = len(body)
    cols = dict(
        zip((h.split("[")[0].strip() for h in header), zip(*body, strict=True), strict=True)
    )

    def num(name: str) -> np.ndarray:
        """A numeric column, NaN where missing."""
        raw = cols[name]
        try:
            return np.array([float(v) if v else NAN for v in raw])
        except ValueError:
            return np.array([number(v) for v in raw])

    def flag(name: str) -> np.ndarray:
        """A yes/no column (a missing yes/no scores like 否)."""
        return np.array([v.strip().lower() in YES for v in cols[name]])

    def absent(name: str, required: tuple[str, ...]) -> np.ndarray:
        """How many required names a set column lacks; NaN where the cell is empty.

        Such cells repeat a lot, so each distinct one is parsed once.
        """
        lacking = {}
        for v in set(cols[name]):
            have = {x.strip() for x in v.replace("；", ";").split(";")}
            lacking[v] = sum(1 for r in required if r not in have) if v else NAN
        return np.array([lacking[v] for v in cols[name]], dtype=float)

    def ok(*xs: np.ndarray) -> np.ndarray:
        """Rows where every input is present."""
        m = np.ones(n, dtype=bool)
        for x in xs:
            m &= ~np.isnan(x)
        return m

    def safe(d: np.ndarray) -> np.ndarray:
        """A divisor with 0 and NaN replaced by 1 (the result is masked out anyway)."""
        return np.where((d == 0) | np.isnan(d), 1, d)

    def given(x: np.ndarray, points: np.ndarray, missing: float = 0.0) -> np.ndarray:
        """Item points where the field is present, else what missing evidence scores."""
        return np.where(np.isnan(x), missing, points)

    pop, floating_pop = num("population"), num("floating_population")
    meetings, trainings, trainees = num("meetings"), num("trainings"), num("trainees")
    received, closed, violence = num("cases_received"), num("cases_closed"), num("cases_violence")
    room, books, computers, funds = num("room_area"), num("books"), num("computers"), num("funds")
    registered, matched = num("registered"), num("address_matched")
    wrong, wrong_women = num("wrong_records"), num("wrong_records_women")
    rentals, rental_registered, activities = (
        num("rentals"),
        num("rental_registered"),
        num("migrant_activities"),
    )
    lectures, satisfaction, visits = num("lectures"), num("satisfaction"), num("visits")
    job_seekers, reemployed, families = num("job_seekers"), num("reemployed"), num("model_families")
    loans, award, hosted = num("loans"), num("award_level"), num("hosted_events")
    late, petitions = num("late_reports"), num("petitions")
    quality = num("points:archives.quality")
    fabricated, plate = flag("fabricated"), flag("has_plate")
    contracts, parent_school = flag("rental_contracts"), flag("parent_school")
    miss_registers, miss_rosters = absent("registers", REGISTERS), absent("rosters", ROSTERS)
    miss_station = absent("station", STATION)

    # 一、档案台帐 (max 25, weight 30). No cases received: closure not applicable, rescale.
    registers = given(miss_registers, np.maximum(0, 5 - miss_registers))
    rosters = given(miss_rosters, np.maximum(0, 2.5 - 0.5 * miss_rosters))
    meet = given(meetings, np.maximum(0, 3 - np.floor(np.maximum(0, 4 - meetings))))
    train = given(trainings, np.minimum(4, trainings))
    trainees_p = given(trainees, np.where(trainees >= 100, 2, 0))
    have_cases = ok(closed, received)
    closure_na = have_cases & (received == 0)
    rate = closed / safe(received) * 100
    closure = np.select([rate >= 98, rate >= 90, rate >= 80], [4, 2.5, 1], 0)
    closure = np.where(have_cases & ~closure_na, closure, 0)
    quality_p = given(quality, quality)
    archives_e = registers + rosters + meet + train + trainees_p + closure + quality_p
    archives = np.clip(np.where(closure_na, archives_e * 25 / 21, archives_e), 0, 25)

    # 二、硬件设施 (max 25, weight 25). Nobody living there: funds per head not applicable.
    plate_p = np.where(plate, 3, 0)
    station = given(miss_station, np.maximum(0, 4 - miss_station))
    room_p = given(room, cents(5 * np.clip((room - 30) / 70, 0, 1)))
    books_p = given(books, np.select([books >= 2000, books >= 1000, books >= 500], [4, 3, 2], 0))
    computers_p = given(computers, np.minimum(2, computers))
    funds_p = given(funds, cents(np.minimum(4, funds * 0.0005)))
    heads = pop + floating_pop
    have_heads = ok(funds, heads)
    per_head_na = have_heads & (heads == 0)
    per_head = np.where(
        have_heads & ~per_head_na, cents(np.clip(3 * funds / (2 * safe(heads)), 0, 3)), 0
    )
    facilities_e = plate_p + station + room_p + books_p + computers_p + funds_p + per_head
    facilities = np.clip(np.where(per_head_na, facilities_e * 25 / 22, facilities_e), 0, 25)

    # 三、流动人口 (max 25, weight 25; applies unless floating_population is 0).
    applies = ~(floating_pop == 0)  # a missing figure never excuses the category
    collection_rate = registered / safe(floating_pop) * 100
    collection = np.where(
        ok(registered, floating_pop),
        cents(np.clip(8 - np.maximum(0, 95 - collection_rate), 0, 8)),
        0,
    )
    have_match = ok(matched, registered)
    match_rate = np.where(registered == 0, 0, matched / safe(registered) * 100)
    address = np.where(
        have_match, np.maximum(0, 4 - 0.5 * np.ceil(np.maximum(0, 90 - match_rate))), 0
    )
    accuracy = np.where(ok(wrong, wrong_women), np.clip(5 - 0.5 * wrong - wrong_women, -2, 5), -2)
    ledger = np.where(ok(rentals, rental_registered) & (rental_registered >= rentals), 3, 0)
    contracts_p = np.where(contracts, 2, 0)
    services = given(activities, np.minimum(3, 0.5 * activities))
    floating_e = collection + address + accuracy + ledger + contracts_p + services
    floating = np.where(applies, np.clip(floating_e, 0, 25), 0)

    # 四、家庭建设与妇儿维权 (max 25, weight 20).
    school = np.where(parent_school, 3, 0)
    lectures_p = given(lectures, np.where(lectures >= 2, 3, 0))
    satisfaction_p = given(
        satisfaction, np.maximum(0, 6 - 2 * np.floor(np.maximum(0, 90 - satisfaction)))
    )
    visits_p = given(visits, np.minimum(3, 0.5 * visits))
    have_jobs = ok(job_seekers, reemployed) & (job_seekers > 0)  # nobody seeking work: missing
    reemployment_rate = reemployed / safe(job_seekers) * 100
    reemployment = np.where(
        have_jobs,
        np.select(
            [reemployment_rate >= 50, reemployment_rate >= 40, reemployment_rate >= 30],
            [4, 3, 2],
            0,
        ),
        0,
    )
    violence_p = given(violence, cents(3 * np.clip((4 - violence) / 4, 0, 1)))
    families_p = given(families, np.minimum(3, np.floor(np.maximum(0, families - 5) / 5)))
    family_e = (
        school + lectures_p + satisfaction_p + visits_p + reemployment + violence_p + families_p
    )
    family = np.clip(family_e, 0, 25)

    # 加分项 (max 5) and 扣分项 (max 10): added and subtracted as they are.
    loans_p = given(loans, np.minimum(2, 0.5 * np.floor(np.maximum(0, loans - 10) / 10)))
    awards = given(award, np.select([award >= 3, award >= 2, award >= 1], [5, 3, 1], 0))
    hosted_p = given(hosted, np.minimum(2, hosted))
    bonus = np.minimum(5, loans_p + awards + hosted_p)
    penalty = np.minimum(
        10, given(late, np.minimum(10, 2 * late)) + given(petitions, np.minimum(6, 3 * petitions))
    )

    # Weighted over the applicable base categories: w·score/max summed, over Σw (75 without floating).
    weighted = 30 * archives / 25 + 25 * facilities / 25 + 25 * floating / 25 + 20 * family / 25
    base = 100 * weighted / np.where(applies, 100, 75)
    total = cents(np.maximum(0, base + bonus - penalty))
    grade = np.select(
        [total >= 90, total >= 80, total >= 60], ["优秀", "合格", "基本合格"], "不合格"
    )
    grade = np.where(fabricated, "不合格", grade)  # 一票否决: keeps the total, lowest grade

    # Ranking: within each role; vetoed last; total, then archives, then floating (rounded,
    # higher first); ties share a rank (1, 2, 2, 4) and are listed by unit id.
    total_h = np.floor(total * 100 + 0.5).astype(np.int64)
    archives_h = np.floor(archives * 100 + 0.5).astype(np.int64)
    floating_h = np.floor(floating * 100 + 0.5).astype(np.int64)
    units = np.array(cols["unit"])
    roles = [v or "self" for v in cols["role"]] if "role" in cols else ["self"] * n
    role_code = np.array([ROLE_ORDER.get(r, 9) for r in roles])
    _, group_code = np.unique(np.array(cols["group"]), return_inverse=True)
    keys = np.stack([fabricated.astype(np.int64), -total_h, -archives_h, -floating_h])

    def competition(order: np.ndarray, segment: np.ndarray) -> np.ndarray:
        """Competition ranks within runs of equal ``segment`` of rows sorted by key."""
        seg, k = segment[order], keys[:, order]
        new_seg = np.r_[True, seg[1:] != seg[:-1]]
        new_key = new_seg | np.r_[True, (k[:, 1:] != k[:, :-1]).any(axis=0)]
        pos = np.arange(n)
        start = np.maximum.accumulate(np.where(new_seg, pos, 0))
        out = np.empty(n, dtype=np.int64)
        out[order] = np.maximum.accumulate(np.where(new_key, pos, 0)) - start + 1
        return out

    order = np.lexsort((units, *keys[::-1], role_code))
    rank = competition(order, role_code)
    group_rank = competition(
        np.lexsort((units, *keys[::-1], group_code, role_code)),
        role_code * (group_code.max(initial=0) + 1) + group_code,
    )

    def shown(x: np.ndarray) -> list[str]:
        return [f"{v:.2f}" for v in x[order].tolist()]

    def by_rank(x: np.ndarray | tuple[str, ...] | list[str]) -> list[object]:
        return np.asarray(x)[order].tolist()

    out_cols = [
        by_rank(rank),
        by_rank(group_rank),
        by_rank(units),
        by_rank(cols["name"]),
        by_rank(cols["group"]),
        by_rank(roles),
        shown(total),
        by_rank(grade),
        by_rank(np.where(fabricated, "true", "false")),
        shown(cents(archives)),
        shown(cents(floating)),
    ]
    with open(dst, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(
            [
                "rank",
                "group_rank",
                "unit",
                "name",
                "group",
                "role",
                "total",
                "grade",
                "vetoed",
                "archives",
                "floating",
            ]
        )
        w.writerows(zip(*out_cols, strict=True))
    print(f"{n} units", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
