"""Reports saved beside the evidence (as a clerk would copy them there), and a units list."""

import shutil
import subprocess
import sys
from pathlib import Path

src = Path(__import__("fulian_eval").__file__).resolve().parents[2]
rules = src / "rules" / "town-village-2026.toml"
for fmt, name in (("csv", "scores.csv"), ("xlsx", "scores.xlsx")):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "score",
            str(rules),
            "evidence",
            "--format",
            fmt,
            "-o",
            name,
        ],
        check=True,
        timeout=60,
    )
    shutil.copy(name, Path("evidence") / name)
shutil.copy(src / "examples" / "town" / "units.csv", "evidence/units.csv")
