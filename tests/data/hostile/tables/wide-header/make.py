"""A header of a million columns (it took 68 s and printed a million warnings)."""

from pathlib import Path

Path("wide.csv").write_text(
    "unit," + ",".join(f"c{k}" for k in range(999_999)) + "\na\n", encoding="utf-8"
)
