"""A tailored rulebook (town.toml extends county/base.toml) scored with --audit in work/; then the base is
deleted there and a different base is planted here, where a replay reading the disk would find it."""

import shutil
import subprocess
import sys
from pathlib import Path

import fulian_eval

ROOT = Path(fulian_eval.__file__).resolve().parents[2]
rules = ROOT / "rules" / "town-village-2026.toml"
work = Path("work")
(work / "county").mkdir(parents=True)
shutil.copy(rules, work / "county" / "base.toml")
(work / "town.toml").write_text(
    'extends = "county/base.toml"\nversion = "2026-town"\n', encoding="utf-8"
)
subprocess.run(
    [
        sys.executable,
        "-m",
        "fulian_eval",
        "score",
        "town.toml",
        str(ROOT / "examples" / "town" / "town.csv"),
        "--audit",
        "../s.db",
    ],
    check=True,
    timeout=60,
    capture_output=True,
    cwd=work,
)
shutil.rmtree(work / "county")
planted = rules.read_text(encoding="utf-8").replace("points = 4 }", "points = 1 }")
Path("county").mkdir()
Path("county", "base.toml").write_text(planted, encoding="utf-8")
(Path("rulebook") / "county").mkdir(parents=True)
Path("rulebook", "county", "base.toml").write_text(planted, encoding="utf-8")
