"""Clerk-facing text, Chinese first: gettext catalogs, English with ``--lang en`` (issue 11).

Messages are written in the code in English, wrapped in :func:`_` (or :func:`N_`
where a constant is defined at import time and translated where it is used), with
named placeholders filled after translation::

    raise Problem(message=_("'{key}' is required (a string)").format(key=key))

never an f-string inside ``_()``: the catalog holds the text with its placeholders.
The Chinese catalog (``locale/zh_CN/LC_MESSAGES/fulian_eval.po``, compiled to
``.mo`` and shipped with the package) is the default; English is the identity
(the msgids themselves).

The language: :func:`set_language` (the command line's ``--lang zh|en``), else
``FULIAN_EVAL_LANG``, else the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that
is set: English when it starts with ``en``, else Chinese.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "DOMAIN",
    "ENV",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "_",
    "language",
    "language_from_env",
    "ngettext",
    "set_language",
]

DOMAIN = "fulian_eval"
ENV = "FULIAN_EVAL_LANG"
LANGUAGES = ("zh", "en")
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
_CATALOGS = {"zh": "zh_CN"}  # a language's catalog; English is the msgids themselves

_chosen: list[str] = []  # the language set by set_language (empty: from the environment)
_loaded: dict[str, _gettext.NullTranslations] = {}


def language_from_env(environ: Mapping[str, str] | None = None) -> str:
    """``"en"`` or ``"zh"`` as the environment says (``FULIAN_EVAL_LANG``, then the locale)."""
    env = os.environ if environ is None else environ
    chosen = env.get(ENV, "").strip().lower()
    if chosen.startswith("en"):
        return "en"
    if chosen.startswith("zh"):
        return "zh"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:  # POSIX: the first one set decides
            return "en" if value.lower().startswith("en") else "zh"
    return "zh"


def set_language(lang: str | None) -> str | None:
    """Use ``lang`` (``"zh"`` or ``"en"``) from now on; ``None``: as the environment says.

    Returns:
        the language set before (``None``: none was, the environment said).

    Raises:
        ValueError: for another language.
    """
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    before = _chosen[0] if _chosen else None
    _chosen[:] = [] if lang is None else [lang]
    return before


def language() -> str:
    """The language messages are given in now: ``"zh"`` or ``"en"``."""
    return _chosen[0] if _chosen else language_from_env()


def _translations() -> _gettext.NullTranslations:
    lang = language()
    found = _loaded.get(lang)
    if found is None:
        catalog = _CATALOGS.get(lang)
        found = (
            _gettext.translation(DOMAIN, LOCALE_DIR, languages=[catalog], fallback=True)
            if catalog
            else _gettext.NullTranslations()
        )
        _loaded[lang] = found
    return found


def _(message: str) -> str:
    """``message`` (English) in the current language."""
    return _translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n``, in the current language."""
    return _translations().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it (translate it where it is used)."""
    return message
