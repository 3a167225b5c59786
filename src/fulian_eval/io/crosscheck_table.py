"""The keys of a rulebook's ``[crosscheck]`` table (SPEC §6, §10.8), checked once for two callers.

The loader checks them at load time, so that ``validate`` names the line of a misspelt
key; :func:`fulian_eval.analysis.crosscheck.config_of` reads the same table into its
configuration with the same function, so the two can never disagree on what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..errors import did_you_mean
from ..kinds.base import show_value
from ..model.roles import DEFAULT_ROLES, Roles
from .locate import PathKey

__all__ = ["CROSSCHECK_KEYS", "DEFAULT_PRECEDENCE", "ROLES", "check_crosscheck"]

DEFAULT_PRECEDENCE = ("town", "field", "peer", "self")
ROLES = ("self", "peer", "town", "field")
CROSSCHECK_KEYS = ("precedence", "combine", "role_weights", "tolerance")
_COMBINE = ("precedence", "weighted")

#: One problem: the key path inside ``[crosscheck]`` (empty for the table itself) and the message.
Found = tuple[PathKey, str]


def _number(v: Any) -> bool:
    return isinstance(v, int | Decimal) and not isinstance(v, bool)


def check_crosscheck(raw: Any, known: Roles = DEFAULT_ROLES) -> tuple[dict[str, Any], list[Found]]:
    """Check a ``[crosscheck]`` table.

    Args:
        raw: the table as TOML gave it.
        known: the rulebook's roles (SPEC §10.5); a role may be named by id or title, and
            the default precedence is their reverse order.

    Returns:
        (the settings, with defaults for what is missing or wrong: ``precedence`` a tuple of
        roles, ``combine``, ``role_weights`` a dict of Fractions, ``tolerance`` a Fraction;
        every problem found, as (key path inside the table, message)).
    """
    found: list[Found] = []
    roles = known.names()  # ids and titles

    def resolved(r: str) -> str:
        return known.resolve(r) or r

    out: dict[str, Any] = {
        "precedence": known.precedence,
        "combine": "precedence",
        "role_weights": {},
        "tolerance": Fraction(0),
    }
    if not isinstance(raw, Mapping):
        found.append(
            ((), "expected a table [crosscheck] with precedence, combine, role_weights, tolerance")
        )
        return out, found
    for k in raw:
        if k not in CROSSCHECK_KEYS:
            found.append(
                (
                    (k,),
                    f"unknown key '{k}' in [crosscheck]{did_you_mean(k, CROSSCHECK_KEYS)}; "
                    f"expected {', '.join(CROSSCHECK_KEYS)}",
                )
            )
    role_list = ", ".join(known.ids)
    precedence = raw.get("precedence", list(known.precedence))
    if (
        not isinstance(precedence, list)
        or not precedence
        or not all(isinstance(r, str) for r in precedence)
    ):
        found.append(
            (
                ("precedence",),
                f"{show_value(precedence)}: expected a list of roles from {role_list}",
            )
        )
    else:
        bad = [r for r in precedence if known.resolve(r) is None]
        for r in bad:
            found.append(
                (
                    ("precedence",),
                    f"unknown role '{r}'{did_you_mean(r, roles)}; "
                    f"expected a list of roles from {role_list}",
                )
            )
        if not bad:
            out["precedence"] = tuple(resolved(r) for r in precedence)
    combine = raw.get("combine", "precedence")
    if combine not in _COMBINE:
        hint = did_you_mean(combine, _COMBINE) if isinstance(combine, str) else ""
        found.append(
            (("combine",), f"{show_value(combine)}: expected 'precedence' or 'weighted'{hint}")
        )
    else:
        out["combine"] = combine
    rw = raw.get("role_weights", {})
    if not isinstance(rw, Mapping):
        found.append((("role_weights",), "expected a table like {town = 0.6, peer = 0.4}"))
        rw = {}
    weights: dict[str, Fraction] = {}
    for role, w in rw.items():
        if known.resolve(role) is None:
            found.append(
                (
                    ("role_weights", role),
                    f"unknown role '{role}'{did_you_mean(role, roles)}; roles are {role_list}",
                )
            )
        elif not _number(w) or w <= 0:
            found.append((("role_weights", role), f"{show_value(w)} must be a number above 0"))
        else:
            weights[resolved(role)] = Fraction(w)
    out["role_weights"] = weights
    if (
        out["combine"] == "weighted"
        and not weights
        and not any(k[:1] == ("role_weights",) for k, _ in found)
    ):
        found.append(
            (
                ("combine",) if "role_weights" not in raw else ("role_weights",),
                'combine = "weighted" needs role_weights, e.g. {town = 0.6, peer = 0.4}',
            )
        )
    tol = raw.get("tolerance", 0)
    if not _number(tol) or tol < 0:
        found.append((("tolerance",), f"{show_value(tol)} must be a number of points ≥ 0"))
    else:
        out["tolerance"] = Fraction(tol)
    return out, found
