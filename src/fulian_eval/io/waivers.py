"""Waivers (SPEC §2.5): an approved excuse makes one item of one unit not applicable.

```toml
[[waivers]]
unit        = "songwu"
item        = "facilities.room"
reason      = "活动室改建中，县妇联同意本年度免考"
approved_by = "县妇联 王主任"
expires     = 2026-12-31
```

An expired waiver, or one approved by the unit's own assessor, is ignored with a
warning. A waiver that names an unknown unit is kept (the unit may be scored from
another file) but an unknown item is an error.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..errors import Problem, RulebookError, did_you_mean
from ..lang.messages import _
from ..model.rulebook import Evidence, Rulebook
from .load import read_toml
from .locate import Locator

__all__ = ["Waiver", "WaiverError", "WaiverSet", "load_waivers"]

_KEYS = ("unit", "item", "reason", "approved_by", "expires")


class WaiverError(RulebookError):
    """A waiver file is unreadable or malformed: ``problems`` holds every problem, ``file`` names the file.

    A :class:`~fulian_eval.errors.RulebookError` (a configuration file is invalid), told
    apart so that the command line can say it is the waiver file that is wrong.
    """

    def __init__(self, problems: Sequence[Problem], file: str = "") -> None:
        super().__init__(problems)
        self.file = file


@attrs.frozen(kw_only=True)
class Waiver:
    unit: str
    item: str
    reason: str
    approved_by: str
    expires: _dt.date
    source: str = ""
    line: int | None = None

    def note(self) -> str:
        """How the waiver reads on a record sheet."""
        return f"豁免：{self.reason}（{self.approved_by}批准，有效期至{self.expires.isoformat()}）"


@attrs.frozen(kw_only=True)
class WaiverSet:
    """Valid waivers by unit; ``ignored`` explains each one that was set aside."""

    waivers: tuple[Waiver, ...] = ()
    expired: tuple[Waiver, ...] = ()

    def for_unit(self, ev: Evidence) -> tuple[dict[str, str], list[str]]:
        """(item id -> reason note, warnings) for one assessment of one unit.

        A waiver approved by this assessment's own assessor (or by the unit itself)
        is ignored with a warning: nobody excuses their own village.
        """
        applied: dict[str, str] = {}
        warnings: list[str] = []
        own = {x for x in (ev.assessment.assessor, ev.unit.id) if x}
        for w in self.waivers:
            if w.unit != ev.unit.id:
                continue
            where = f"{w.source}:{w.line}" if w.line else w.source
            if w.approved_by in own:
                warnings.append(
                    _(
                        "{where}: waiver of {item} for {unit} ignored: approved by the unit's own assessor '{assessor}'"
                    ).format(where=where, item=w.item, unit=w.unit, assessor=w.approved_by)
                )
                continue
            applied[w.item] = w.note()
        return applied, warnings


def load_waivers(path: str | Path, rb: Rulebook, today: _dt.date) -> tuple[WaiverSet, list[str]]:
    """Read a waiver file for ``rb``.

    Args:
        path: the TOML file with ``[[waivers]]``.
        rb: the rulebook (items are checked against it).
        today: the date expiry is judged against (injectable for tests).

    Returns:
        (the waivers in force, warnings for expired ones).

    Raises:
        WaiverError: the file cannot be read, or a waiver is malformed (every problem listed).
    """
    file = str(path)
    try:
        data, text, _sources = read_toml(Path(path))
    except RulebookError as exc:
        raise WaiverError(exc.problems, file) from None
    loc = Locator(text)
    problems: list[Problem] = []
    warnings: list[str] = []
    items = [i.id for i in rb.items()]

    def bad(key: tuple[Any, ...], place: str, message: str) -> None:
        problems.append(Problem(file=file, path=place, line=loc.line_of(key), message=message))

    for k in data:
        if k != "waivers":
            bad(
                (k,),
                k,
                _("unknown key '{key}'{hint}; a waiver file holds [[waivers]] tables").format(
                    key=k, hint=did_you_mean(k, ["waivers"])
                ),
            )
    arr = data.get("waivers", [])
    if not isinstance(arr, list):
        bad(("waivers",), "waivers", _("expected [[waivers]] tables"))
        arr = []
    keep: list[Waiver] = []
    expired: list[Waiver] = []
    for i, w in enumerate(arr):
        key = ("waivers", i)
        place = f"waivers[{i}]"
        if not isinstance(w, Mapping):
            bad(key, place, _("expected a table with unit, item, reason, approved_by, expires"))
            continue
        ok = True
        for k in w:
            if k not in _KEYS:
                bad(
                    (*key, k),
                    f"{place}.{k}",
                    _("unknown key '{key}'{hint}").format(key=k, hint=did_you_mean(k, _KEYS)),
                )
                ok = False
        for k in _KEYS:
            if k not in w:
                bad(
                    key,
                    place,
                    _(
                        "'{key}' is required (a waiver needs unit, item, reason, approved_by, expires)"
                    ).format(key=k),
                )
                ok = False
            elif k != "expires" and (not isinstance(w[k], str) or not w[k].strip()):
                bad(
                    (*key, k),
                    f"{place}.{k}",
                    _("{value} must be non-empty text").format(value=repr(w[k])),
                )
                ok = False
        if not ok:
            continue
        if w["item"] not in items:
            bad(
                (*key, "item"),
                f"{place}.item",
                _("unknown item '{item}'{hint}").format(
                    item=w["item"], hint=did_you_mean(w["item"], items)
                ),
            )
            continue
        expires = w["expires"]
        if isinstance(expires, str):
            with contextlib.suppress(ValueError):  # left a string, it is reported below
                expires = _dt.date.fromisoformat(expires)
        if isinstance(expires, _dt.datetime):
            expires = expires.date()
        if not isinstance(expires, _dt.date):
            bad(
                (*key, "expires"),
                f"{place}.expires",
                _("{value} is not a date; expected e.g. 2026-12-31").format(
                    value=repr(w["expires"])
                ),
            )
            continue
        waiver = Waiver(
            unit=w["unit"],
            item=w["item"],
            reason=w["reason"],
            approved_by=w["approved_by"],
            expires=expires,
            source=file,
            line=loc.line_of(key),
        )
        if expires < today:
            warnings.append(
                _("{where}: waiver of {item} for {unit} ignored: it expired on {date}").format(
                    where=f"{file}:{waiver.line}",
                    item=waiver.item,
                    unit=waiver.unit,
                    date=expires.isoformat(),
                )
            )
            expired.append(waiver)
        else:
            keep.append(waiver)
    if problems:
        raise WaiverError(problems, file)
    return WaiverSet(waivers=tuple(keep), expired=tuple(expired)), warnings
