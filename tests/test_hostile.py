"""The hostile corpus: careless and hostile inputs, each with its exact expected outcome.

Every case is a folder ``tests/data/hostile/<area>/<case>/`` with its inputs and a
``case.toml`` (format in ``tests/data/hostile/README.md``). The folder is copied to a
temporary directory and the command line is run there in a subprocess under a timeout,
so a hang fails the test instead of stalling CI. Whatever a case says, no run may print
a traceback or an internal error, and none may leave the case's protected files changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

# The corpus gives the English wording of the messages (their Chinese: the catalog,
# tests/test_messages.py).
pytestmark = pytest.mark.usefixtures("english")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "hostile"
KEYS = {
    "description",
    "issue_case",
    "args",
    "exit",
    "stdout",
    "stderr",
    "not_stdout",
    "not_stderr",
    "unchanged",
    "absent",
    "timeout",
    "setup",
    "env",
    "slow",
}


def _cases() -> list[Any]:
    found = []
    for spec in sorted(CORPUS.glob("*/*/case.toml")):
        case = tomllib.loads(spec.read_text(encoding="utf-8"))
        marks = [pytest.mark.slow] if case.get("slow") else []
        found.append(
            pytest.param(
                spec.parent, case, id=f"{spec.parent.parent.name}/{spec.parent.name}", marks=marks
            )
        )
    return found


def _arg(text: str) -> str:
    return str(ROOT / text[1:]) if text.startswith("@") else text


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONIOENCODING", None)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def test_corpus_is_not_empty() -> None:
    assert len(_cases()) >= 1


@pytest.mark.parametrize(("folder", "case"), _cases())
def test_hostile_case(folder: Path, case: dict[str, Any], tmp_path: Path) -> None:
    assert set(case) <= KEYS, f"unknown keys in {folder}/case.toml: {set(case) - KEYS}"
    assert isinstance(case.get("issue_case"), int), "every case names its issue case"
    work = tmp_path / folder.name
    shutil.copytree(folder, work, symlinks=True)
    timeout = float(case.get("timeout", 60))
    env = _env(case.get("env", {}))
    if "setup" in case:
        made = subprocess.run(
            [sys.executable, case["setup"]],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert made.returncode == 0, f"setup failed:\n{made.stdout}\n{made.stderr}"
    before = {name: (work / name).read_bytes() for name in case.get("unchanged", [])}
    try:
        run = subprocess.run(
            [sys.executable, "-m", "fulian_eval", *map(_arg, case["args"])],
            cwd=work,
            env=env,
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{folder.name}: no answer within {timeout:g} s (a hang)")
    out = run.stdout.decode("utf-8", "replace")
    err = run.stderr.decode("utf-8", "replace")
    shown = f"\n--- exit {run.returncode}\n--- stdout\n{out[:3000]}\n--- stderr\n{err[:3000]}"
    assert "Traceback" not in err, shown
    assert "internal error" not in err, shown
    assert run.returncode == case["exit"], shown
    for text in case.get("stdout", []):
        assert text in out, f"stdout lacks {text!r}" + shown
    for text in case.get("stderr", []):
        assert text in err, f"stderr lacks {text!r}" + shown
    for text in case.get("not_stdout", []):
        assert text not in out, f"stdout has {text!r}" + shown
    for text in case.get("not_stderr", []):
        assert text not in err, f"stderr has {text!r}" + shown
    for name, data in before.items():
        assert (work / name).read_bytes() == data, f"{name} was changed by the run" + shown
    for name in case.get("absent", []):
        assert not (work / name).exists(), f"{name} exists after the run" + shown
