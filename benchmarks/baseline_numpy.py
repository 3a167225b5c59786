"""A hand-written numpy baseline of the acceptance scheme, for the speed comparison of issue 5.

What a programmer would write for this one scheme, with no rulebook, no reasons,
no validation and float arithmetic: csv module -> numpy arrays -> the twelve
items -> categories -> total -> argsort -> CSV. It is what fulian_eval's general,
exact engine is measured against (`bench_score.py --baseline`, which also counts
the totals that differ from fulian_eval's: on 10,000 generated units, 13 differ
by 0.01 — a float landing just below a .xx5 rounding boundary, which exact
arithmetic never does).

    python benchmarks/baseline_numpy.py IN.csv OUT.csv
"""

from __future__ import annotations

import csv
import sys

import numpy as np

REGISTERS = (
    "工作活动记录簿",
    "妇女培训登记簿",
    "各类表彰登记簿",
    "群众来信来访登记簿",
    "重点帮扶对象登记簿",
)
YES = {"true", "是", "有", "1"}


def cents(x: np.ndarray) -> np.ndarray:
    """Half-up to 0.01 (in floats: what a quick script does)."""
    return np.floor(x * 100 + 0.5) / 100


def main(src: str, dst: str) -> None:
    with open(src, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col = {h: i for i, h in enumerate(header)}
    n = len(body)

    def num(name: str) -> tuple[np.ndarray, np.ndarray]:
        i = col[name]
        raw = [r[i] for r in body]
        have = np.array([v != "" for v in raw])
        return np.array([float(v) if v else 0.0 for v in raw]), have

    def flag(name: str) -> tuple[np.ndarray, np.ndarray]:
        i = col[name]
        raw = [r[i] for r in body]
        return np.array([v.strip().lower() in YES for v in raw]), np.array([v != "" for v in raw])

    pop, _ = num("population")
    floating, has_floating = num("floating_population")
    meetings, has_meetings = num("meetings")
    room, has_room = num("room_area[m^2]")
    funds, has_funds = num("funds[元]")
    registered, has_registered = num("registered")
    wrong, has_wrong = num("wrong_records")
    received, has_received = num("cases_received")
    closed, _ = num("cases_closed")
    volunteers, has_volunteers = num("volunteers")
    loans, has_loans = num("loans[万元]")
    quality, _ = num("points:archives.quality")
    plate, has_plate = flag("has_plate")
    fabricated, _ = flag("fabricated")
    regs_raw = [r[col["registers"]] for r in body]
    has_regs = np.array([v != "" for v in regs_raw])
    missing_regs = np.array([sum(1 for x in REGISTERS if x not in v.split(";")) for v in regs_raw])

    registers = np.where(has_regs, cents(np.maximum(0, 10 - 2 * missing_regs)), 0)
    meet = np.where(
        has_meetings, cents(np.maximum(0, 6 - 1.5 * np.floor(np.maximum(0, 4 - meetings)))), 0
    )
    closure_na = has_received & (received == 0)
    rate = np.where(received > 0, closed / np.where(received > 0, received, 1) * 100, 0)
    closure = np.select([rate >= 98, rate >= 90, rate >= 80], [10, 6, 2], 0).astype(float)
    closure = np.where(closure_na | ~has_received, 0, closure)
    archives_e = registers + meet + closure + quality
    archives = np.minimum(30, np.where(closure_na, archives_e * 30 / 20, archives_e))

    plate_p = np.where(has_plate & plate, 5, 0)
    room_p = np.where(has_room, cents(15 * np.clip((room - 50) / 150, 0, 1)), 0)
    funds_p = np.where(has_funds, cents(np.minimum(10, funds * 0.001)), 0)
    facilities = np.minimum(30, plate_p + room_p + funds_p)

    applies = ~has_floating | (floating > 0)
    reg_rate = registered / np.where(floating > 0, floating, 1) * 100
    registration = np.where(
        has_registered & has_floating,
        cents(np.clip(20 - 2 * np.maximum(0, 95 - reg_rate), 0, 20)),
        0,
    )
    accuracy = np.where(has_wrong, cents(np.maximum(0, 10 - 0.5 * wrong)), 0)
    vol = np.where(
        has_volunteers, cents(np.clip(volunteers / np.where(pop > 0, pop, 1) * 1000 * 2, 0, 10)), 0
    )
    floating_c = np.where(applies, np.minimum(40, registration + accuracy + vol), 0)

    bonus = np.where(
        has_loans, cents(np.minimum(3, 0.5 * np.floor(np.maximum(0, loans - 10) / 10))), 0
    )
    base = 100 * (archives + facilities + floating_c) / np.where(applies, 100, 60)
    total = cents(np.maximum(0, base + bonus))

    order = np.lexsort(
        (np.array([r[col["unit"]] for r in body]), -np.round(archives, 2), -total, fabricated)
    )
    with open(dst, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rank", "unit", "total", "vetoed"])
        for place, i in enumerate(order, start=1):
            w.writerow(
                [
                    place,
                    body[i][col["unit"]],
                    f"{total[i]:.2f}",
                    "true" if fabricated[i] else "false",
                ]
            )
    print(f"{n} units", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
