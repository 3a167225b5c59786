"""The bundled town-village scheme in polars, as a data engineer would write it.

The same scheme as ``baseline_town.py`` (the numpy baseline) and the same output
(the columns and row order of ``fulian-eval rank RULEBOOK IN.csv --format csv``),
written the way one writes a polars job: the CSV read with a schema given (every
column text, so ``1000余`` and ``是`` survive the read), numbers cast in one vectorized
pass after stripping the approximation words, every item an expression, floats
throughout, half-up rounding by ``floor(x * 100 + 0.5) / 100``, ties ranked with
``rank("min")`` over a struct of the sort keys, per role and per role and group.

No rulebook engine, no reasons, no validation: it knows this one scheme only. Being
floats, it gets a few totals a cent off where an item lands on a half cent, as the
numpy baseline does; ``bench_national.py`` counts them against the exact engine.

    python benchmarks/baseline_polars.py IN.csv OUT.csv     # needs polars (the bench extra)
"""

from __future__ import annotations

import sys

import polars as pl

# The scheme's names and words, shared with the numpy baseline (one copy of the scheme's facts).
from baseline_town import APPROX, REGISTERS, ROLE_ORDER, ROSTERS, STATION, YES

C = pl.col


def cents(x: pl.Expr) -> pl.Expr:
    return (x * 100 + 0.5).floor() / 100


def given(x: str, points: pl.Expr, missing: float = 0.0) -> pl.Expr:
    """Item points where the field is present, else what missing evidence scores."""
    return pl.when(C(x).is_null()).then(missing).otherwise(points)


def lacking(col: str, required: tuple[str, ...]) -> pl.Expr:
    """How many required names a ;-separated cell lacks (null where the cell is empty)."""
    names = (
        C(col).str.replace_all("；", ";").str.split(";").list.eval(pl.element().str.strip_chars())
    )
    return pl.sum_horizontal([(~names.list.contains(r)).cast(pl.Int32) for r in required])


def clip(x: pl.Expr, lo: float, hi: float) -> pl.Expr:
    return x.clip(lo, hi)


def first(pairs: list[tuple[pl.Expr, float | str]], default: float | str = 0.0) -> pl.Expr:
    """The value of the first condition that holds (a tier table)."""
    (c0, p0), *rest = pairs
    expr = pl.when(c0).then(pl.lit(p0))
    for c, p in rest:
        expr = expr.when(c).then(pl.lit(p))
    return expr.otherwise(pl.lit(default))


def main(src: str, dst: str) -> None:
    header = pl.read_csv(src, n_rows=0).columns
    plain = {h: h.split("[")[0].strip() for h in header}
    df = pl.read_csv(src, schema={h: pl.String for h in header}).rename(plain)
    numeric = [
        c
        for c in df.columns
        if c not in {"unit", "name", "group", "role", "assessor", "registers", "rosters", "station"}
        and c
        not in {"fabricated", "has_plate", "rental_contracts", "parent_school", "women_director"}
    ]
    df = df.with_columns(
        [C(c).str.strip_chars(APPROX).cast(pl.Float64, strict=False) for c in numeric]
        + [
            C(c).str.strip_chars().str.to_lowercase().is_in(sorted(YES)).fill_null(False)
            for c in ("fabricated", "has_plate", "rental_contracts", "parent_school")
        ]
        + [
            lacking("registers", REGISTERS).alias("miss_registers"),
            lacking("rosters", ROSTERS).alias("miss_rosters"),
            lacking("station", STATION).alias("miss_station"),
        ]
    )

    have_cases = C("closed_ok")
    rate = C("cases_closed") / C("cases_received") * 100
    archives_e = (
        given("miss_registers", (5 - C("miss_registers")).clip(0))
        + given("miss_rosters", (2.5 - 0.5 * C("miss_rosters")).clip(0))
        + given("meetings", (3 - (4 - C("meetings")).clip(0).floor()).clip(0))
        + given("trainings", C("trainings").clip(upper_bound=4))
        + given("trainees", pl.when(C("trainees") >= 100).then(2.0).otherwise(0.0))
        + pl.when(have_cases & ~C("closure_na"))
        .then(first([(rate >= 98, 4), (rate >= 90, 2.5), (rate >= 80, 1)]))
        .otherwise(0.0)
        + given("points:archives.quality", C("points:archives.quality"))
    )
    heads = C("population") + C("floating_population")
    facilities_e = (
        pl.when(C("has_plate")).then(3.0).otherwise(0.0)
        + given("miss_station", (4 - C("miss_station")).clip(0))
        + given("room_area", cents(5 * ((C("room_area") - 30) / 70).clip(0, 1)))
        + given(
            "books",
            first([(C("books") >= 2000, 4), (C("books") >= 1000, 3), (C("books") >= 500, 2)]),
        )
        + given("computers", C("computers").clip(upper_bound=2))
        + given("funds", cents((C("funds") * 0.0005).clip(upper_bound=4)))
        + pl.when(C("heads_ok") & ~C("per_head_na"))
        .then(cents((3 * C("funds") / (2 * heads)).clip(0, 3)))
        .otherwise(0.0)
    )
    collection_rate = C("registered") / C("floating_population") * 100
    match_rate = (
        pl.when(C("registered") == 0)
        .then(0.0)
        .otherwise(C("address_matched") / C("registered") * 100)
    )
    floating_e = (
        pl.when(C("registered").is_not_null() & C("floating_population").is_not_null())
        .then(cents((8 - (95 - collection_rate).clip(0)).clip(0, 8)))
        .otherwise(0.0)
        + pl.when(C("address_matched").is_not_null() & C("registered").is_not_null())
        .then((4 - 0.5 * (90 - match_rate).clip(0).ceil()).clip(0))
        .otherwise(0.0)
        + pl.when(C("wrong_records").is_not_null() & C("wrong_records_women").is_not_null())
        .then((5 - 0.5 * C("wrong_records") - C("wrong_records_women")).clip(-2, 5))
        .otherwise(-2.0)
        + pl.when(C("rental_registered") >= C("rentals")).then(3.0).otherwise(0.0).fill_null(0.0)
        + pl.when(C("rental_contracts")).then(2.0).otherwise(0.0)
        + given("migrant_activities", (0.5 * C("migrant_activities")).clip(upper_bound=3))
    )
    reemployment_rate = C("reemployed") / C("job_seekers") * 100
    family_e = (
        pl.when(C("parent_school")).then(3.0).otherwise(0.0)
        + given("lectures", pl.when(C("lectures") >= 2).then(3.0).otherwise(0.0))
        + given("satisfaction", (6 - 2 * (90 - C("satisfaction")).clip(0).floor()).clip(0))
        + given("visits", (0.5 * C("visits")).clip(upper_bound=3))
        + pl.when(C("reemployed").is_not_null() & (C("job_seekers") > 0))
        .then(
            first(
                [
                    (reemployment_rate >= 50, 4),
                    (reemployment_rate >= 40, 3),
                    (reemployment_rate >= 30, 2),
                ]
            )
        )
        .otherwise(0.0)
        + given("cases_violence", cents(3 * ((4 - C("cases_violence")) / 4).clip(0, 1)))
        + given(
            "model_families", ((C("model_families") - 5).clip(0) / 5).floor().clip(upper_bound=3)
        )
    )
    bonus = (
        given("loans", (0.5 * ((C("loans") - 10).clip(0) / 10).floor()).clip(upper_bound=2))
        + given(
            "award_level",
            first(
                [(C("award_level") >= 3, 5), (C("award_level") >= 2, 3), (C("award_level") >= 1, 1)]
            ),
        )
        + given("hosted_events", C("hosted_events").clip(upper_bound=2))
    ).clip(upper_bound=5)
    penalty = (
        given("late_reports", (2 * C("late_reports")).clip(upper_bound=10))
        + given("petitions", (3 * C("petitions")).clip(upper_bound=6))
    ).clip(upper_bound=10)

    scored = (
        df.with_columns(
            (C("cases_closed").is_not_null() & C("cases_received").is_not_null()).alias(
                "closed_ok"
            ),
            (
                C("funds").is_not_null()
                & (C("population") + C("floating_population")).is_not_null()
            ).alias("heads_ok"),
        )
        .with_columns(
            (C("closed_ok") & (C("cases_received") == 0)).alias("closure_na"),
            (C("heads_ok") & (heads == 0)).alias("per_head_na"),
            (C("floating_population") != 0).fill_null(True).alias("applies"),
        )
        .with_columns(
            pl.when(C("closure_na"))
            .then(archives_e * 25 / 21)
            .otherwise(archives_e)
            .clip(0, 25)
            .alias("archives"),
            pl.when(C("per_head_na"))
            .then(facilities_e * 25 / 22)
            .otherwise(facilities_e)
            .clip(0, 25)
            .alias("facilities"),
            pl.when(C("applies")).then(floating_e.clip(0, 25)).otherwise(0.0).alias("floating"),
            family_e.clip(0, 25).alias("family"),
            bonus.alias("bonus"),
            penalty.alias("penalty"),
        )
        .with_columns(
            (
                100
                * (
                    30 * C("archives") / 25
                    + 25 * C("facilities") / 25
                    + 25 * C("floating") / 25
                    + 20 * C("family") / 25
                )
                / pl.when(C("applies")).then(100.0).otherwise(75.0)
            ).alias("base")
        )
        .with_columns(cents((C("base") + C("bonus") - C("penalty")).clip(0)).alias("total"))
        .with_columns(
            pl.when(C("fabricated"))
            .then(pl.lit("不合格"))
            .otherwise(
                first(
                    [
                        (C("total") >= 90, "优秀"),
                        (C("total") >= 80, "合格"),
                        (C("total") >= 60, "基本合格"),
                    ],
                    "不合格",
                )
            )
            .alias("grade"),
            C("role").fill_null("self"),
            ((C("total") * 100 + 0.5).floor().cast(pl.Int64)).alias("total_h"),
            ((C("archives") * 100 + 0.5).floor().cast(pl.Int64)).alias("archives_h"),
            ((C("floating") * 100 + 0.5).floor().cast(pl.Int64)).alias("floating_h"),
        )
        .with_columns(
            C("role").replace_strict(ROLE_ORDER, default=9).alias("role_code"),
            pl.struct(C("fabricated"), -C("total_h"), -C("archives_h"), -C("floating_h")).alias(
                "key"
            ),
        )
        .with_columns(
            C("key").rank("min").over("role_code").alias("rank"),
            C("key").rank("min").over("role_code", "group").alias("group_rank"),
        )
        .sort(
            ["role_code", "fabricated", "total_h", "archives_h", "floating_h", "unit"],
            descending=[False, False, True, True, True, False],
        )
    )
    scored.select(
        "rank",
        "group_rank",
        "unit",
        "name",
        "group",
        "role",
        "total",
        "grade",
        pl.when(C("fabricated")).then(pl.lit("true")).otherwise(pl.lit("false")).alias("vetoed"),
        cents(C("archives")).alias("archives"),
        cents(C("floating")).alias("floating"),
    ).write_csv(dst, float_precision=2)
    print(f"{scored.height} units", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
