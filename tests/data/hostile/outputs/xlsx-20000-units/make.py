"""20,000 units: the example town's 21 villages again and again under new ids."""

import csv
import io
from pathlib import Path

import fulian_eval

town = Path(fulian_eval.__file__).resolve().parents[2] / "examples" / "town" / "town.csv"
head, *body = list(csv.reader(io.StringIO(town.read_text(encoding="utf-8-sig"))))
unit = head.index("unit")
with open("big.csv", "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(head)
    for k in range(20_000):
        row = list(body[k % len(body)])
        row[unit] = f"{row[unit]}{k:05d}"
        w.writerow(row)
