"""What the audit tests do to a store behind its back: plain SQL, and a forger's re-chaining."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from fulian_eval.audit.store import GENESIS


def sql(path: Path, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Run one SQL statement on the store at ``path`` (autocommit) and return its rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def rechain(path: Path) -> None:
    """What a forger with the tools does after an edit: every hash and link made again."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        prev = GENESIS
        rows = conn.execute("SELECT seq, body FROM records ORDER BY seq").fetchall()
        conn.execute("BEGIN")
        for seq, body in rows:
            h = hashlib.sha256((prev + body).encode("utf-8")).hexdigest()
            conn.execute("UPDATE records SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, seq))
            prev = h
        conn.execute("COMMIT")
    finally:
        conn.close()
