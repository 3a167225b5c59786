"""Find the line of a key inside TOML text, since tomllib does not report positions.

A light scan of headers (``[a.b]``, ``[[a.b]]``) and ``key =`` lines is enough to
point a clerk at the right line; values spanning lines are skipped over.
"""

from __future__ import annotations

import re

PathKey = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def split_keys(text: str) -> list[str]:
    """Split a dotted TOML key (``a."b.c".d``) into its parts."""
    parts: list[str] = []
    i = 0
    text = text.strip()
    while i < len(text):
        ch = text[i]
        if ch in " \t.":
            i += 1
            continue
        if ch in "\"'":
            end = text.find(ch, i + 1)
            if end < 0:
                return parts
            parts.append(text[i + 1 : end])
            i = end + 1
            continue
        m = _BARE.match(text, i)
        if not m:
            return parts
        parts.append(m.group())
        i = m.end()
    return parts


class Locator:
    """Maps key paths such as ``("categories", 0, "items", 2, "field")`` to lines."""

    def __init__(self, text: str) -> None:
        self._text: str | None = text  # scanned on the first question: only errors ask
        self._lines: dict[PathKey, int] = {}

    @property
    def lines(self) -> dict[PathKey, int]:
        if self._text is not None:
            text, self._text = self._text, None
            self._scan(text)
        return self._lines

    def _scan(self, text: str) -> None:
        aot: dict[PathKey, int] = {}  # array-of-tables path -> count so far
        current: PathKey = ()
        depth = 0  # open brackets/braces of a multi-line value
        in_ml: str | None = None  # multi-line string delimiter
        value: _ValueScan | None = None  # the multi-line array being read
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if in_ml:
                if in_ml in line:
                    in_ml = None
                continue
            if depth > 0:
                if value is not None:
                    value.feed(line, lineno, self._lines)
                depth += _balance(line)
                continue
            if not line or line.startswith("#"):
                continue
            if line.startswith("[["):
                keys = split_keys(line[2 : line.find("]]")])
                base = self._resolve(keys, aot)
                idx = aot.get(base, 0)
                aot[base] = idx + 1
                current = (*base, idx)
                self._lines.setdefault(current, lineno)
                continue
            if line.startswith("["):
                keys = split_keys(line[1 : line.find("]")])
                current = self._resolve(keys, aot)
                self._lines.setdefault(current, lineno)
                continue
            eq = _find_eq(line)
            if eq < 0:
                continue
            keys = split_keys(line[:eq])
            if keys:
                self._lines.setdefault((*current, *keys), lineno)
            rhs = line[eq + 1 :].strip()
            for delim in ('"""', "'''"):
                if rhs.startswith(delim) and rhs.count(delim) == 1:
                    in_ml = delim
            value = None
            if not in_ml:
                if rhs.startswith("[") and keys:
                    value = _ValueScan((*current, *keys))
                    value.feed(rhs, lineno, self._lines)
                depth = max(0, _balance(rhs))

    @staticmethod
    def _resolve(keys: list[str], aot: dict[PathKey, int]) -> PathKey:
        path: PathKey = ()
        for i, k in enumerate(keys):
            path = (*path, k)
            if i < len(keys) - 1 and path in aot:
                path = (*path, aot[path] - 1)
        return path

    def line_of(self, path: PathKey) -> int | None:
        """The line of ``path``, or of its nearest enclosing key that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return None


class _ValueScan:
    """Follows an array value (possibly over several lines) to locate its elements.

    ``tiers = [{at_least = 98, points = 5},\n {at_least = 90, points = 3}]`` gives
    lines for ``(…, "tiers", 0)``, ``(…, "tiers", 0, "at_least")``, ``(…, "tiers", 1)`` …
    """

    def __init__(self, path: PathKey) -> None:
        self.path = path
        self.depth = 0
        self.elem = -1
        self.quote: str | None = None
        self.word = ""

    def feed(self, text: str, lineno: int, lines: dict[PathKey, int]) -> None:
        for ch in text:
            if self.quote:
                if ch == self.quote:
                    self.quote = None
                continue
            if ch in "\"'":
                self.quote = ch
            elif ch == "#":
                return
            elif ch in "[{":
                self.depth += 1
                if self.depth == 2:
                    self.elem += 1
                    lines.setdefault((*self.path, self.elem), lineno)
            elif ch in "]}":
                self.depth -= 1
            elif ch == "=" and self.depth == 2 and self.word:
                lines.setdefault((*self.path, self.elem, self.word), lineno)
            if ch.isalnum() or ch in "_-":
                self.word = self.word + ch if self.depth == 2 else ""
            elif ch not in " \t":
                self.word = ""


def _find_eq(line: str) -> int:
    in_q: str | None = None
    for i, ch in enumerate(line):
        if in_q:
            if ch == in_q:
                in_q = None
        elif ch in "\"'":
            in_q = ch
        elif ch == "=":
            return i
        elif ch == "#":
            return -1
    return -1


def _balance(text: str) -> int:
    """Net open brackets in ``text``, ignoring strings and comments."""
    n = 0
    in_q: str | None = None
    esc = False
    for ch in text:
        if in_q:
            if esc:
                esc = False
            elif ch == "\\" and in_q == '"':
                esc = True
            elif ch == in_q:
                in_q = None
            continue
        if ch in "\"'":
            in_q = ch
        elif ch in "[{":
            n += 1
        elif ch in "]}":
            n -= 1
        elif ch == "#":
            break
    return n
