"""Tailoring (SPEC §2.4): ``extends``, ``[override."cat.item"]``, ``disable`` and additions.

A county scheme is extended by a town: the town's file starts from the county's,
changes some items, switches some off, and adds its own. This module merges the
raw TOML tables of the chain into one table for the validator, and remembers
where every category, item and overridden key came from, so that an error in the
merged scheme still names the file and line a clerk must edit.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ..errors import Problem, did_you_mean
from .locate import Locator, PathKey

__all__ = ["Chain", "Origins", "Source", "resolve"]


@attrs.frozen
class Source:
    """One file of a chain."""

    file: str
    sha256: str
    loc: Locator = attrs.field(eq=False, repr=False)


class Origins:
    """Where each part of a merged rulebook table was written.

    ``nodes`` maps a table or list (by identity) to (source, its path in that
    source); ``keys`` maps (table, key) to the same for a key set by an override.
    """

    def __init__(self) -> None:
        self.nodes: dict[int, tuple[Source, PathKey]] = {}
        self.keys: dict[tuple[int, str], tuple[Source, PathKey]] = {}
        self._alive: list[Any] = []  # ids are only stable while the objects live

    def mark(self, obj: Any, src: Source, path: PathKey) -> None:
        self.nodes[id(obj)] = (src, path)
        self._alive.append(obj)

    def mark_key(self, table: dict[str, Any], key: str, src: Source, path: PathKey) -> None:
        self.keys[(id(table), key)] = (src, path)
        self._alive.append(table)

    def copy_mark(self, new: Any, old: Any) -> None:
        if id(old) in self.nodes:
            self.mark(new, *self.nodes[id(old)])

    def locate(self, root: Any, key: PathKey) -> tuple[str, int | None]:
        """(file, line) for a path into the merged table."""
        src, path = self.nodes[id(root)]
        consumed = 0
        node = root
        for i, k in enumerate(key):
            if isinstance(node, dict) and isinstance(k, str) and (id(node), k) in self.keys:
                ksrc, kpath = self.keys[(id(node), k)]
                return ksrc.file, ksrc.loc.line_of((*kpath, *key[i + 1 :]))
            try:
                node = node[k]
            except (KeyError, IndexError, TypeError):
                break
            if id(node) in self.nodes:
                src, path = self.nodes[id(node)]
                consumed = i + 1
        return src.file, src.loc.line_of((*path, *key[consumed:]))


@attrs.frozen
class Chain:
    """A rulebook table merged over its ``extends`` chain."""

    data: dict[str, Any]
    sources: tuple[Source, ...]  # this file first, then what it extends
    origins: Origins
    problems: tuple[Problem, ...] = ()


def _mark_file(data: dict[str, Any], src: Source, origins: Origins) -> None:
    origins.mark(data, src, ())
    for name in ("fields", "derived"):
        table = data.get(name)
        if isinstance(table, dict):
            for k, v in table.items():
                if isinstance(v, dict):
                    origins.mark(v, src, (name, k))
    for name in ("consistency", "grades"):
        arr = data.get(name)
        if isinstance(arr, list):
            for i, v in enumerate(arr):
                if isinstance(v, dict):
                    origins.mark(v, src, (name, i))
    cats = data.get("categories")
    if isinstance(cats, list):
        for ci, cat in enumerate(cats):
            if not isinstance(cat, dict):
                continue
            origins.mark(cat, src, ("categories", ci))
            _mark_items(cat, src, origins, ("categories", ci))
            groups = cat.get("groups")
            if isinstance(groups, list):
                for gi, group in enumerate(groups):
                    if isinstance(group, dict):
                        origins.mark(group, src, ("categories", ci, "groups", gi))
                        _mark_items(group, src, origins, ("categories", ci, "groups", gi))


def _mark_items(table: dict[str, Any], src: Source, origins: Origins, path: PathKey) -> None:
    """Mark the items of a category or of a group (SPEC §10.3)."""
    items = table.get("items")
    if isinstance(items, list):
        for ii, item in enumerate(items):
            if isinstance(item, dict):
                origins.mark(item, src, (*path, "items", ii))


_REPLACED = (
    "schema",
    "id",
    "version",
    "title",
    "scale",
    "precision",
    "not_applicable",
    "tie_break",
    "note",
    "description",
    "crosscheck",
)
#: Keys _merge combines with the base's (or uses up) rather than replacing them.
_MERGED = (
    "extends",
    "override",
    "disable",
    "fields",
    "derived",
    "consistency",
    "grades",
    "categories",
)


def resolve(
    data: dict[str, Any], text: str, file: str, raw: bytes, read: Any, stack: tuple[Path, ...] = ()
) -> Chain:
    """Merge ``data`` (the file ``file``) over the chain of files it extends.

    Args:
        data, text, file, raw: the file as parsed, its text, its name as given, its bytes.
        read: ``read(path) -> (data, text, raw)``, raising RulebookError for a bad file.
        stack: the files already on the way here (to catch cycles).
    """
    src = Source(file, hashlib.sha256(raw).hexdigest(), Locator(text))
    origins = Origins()
    _mark_file(data, src, origins)
    problems: list[Problem] = []

    def err(key: PathKey, path: str, message: str) -> None:
        problems.append(Problem(file=file, path=path, line=src.loc.line_of(key), message=message))

    if "extends" not in data:
        for k in ("override", "disable"):
            if k in data:
                err(
                    (k,),
                    k,
                    f"'{k}' changes the rulebook this one extends; add extends = \"base.toml\" first",
                )
        return Chain(data, (src,), origins, tuple(problems))

    target = data["extends"]
    if not isinstance(target, str) or not target.strip():
        err(
            ("extends",),
            "extends",
            f'{target!r} is not a file name; expected extends = "county-base.toml"',
        )
        return Chain(data, (src,), origins, tuple(problems))
    here = Path(file).resolve()
    base_path = (here.parent / target).resolve()
    chain_files = (*stack, here)
    if base_path in chain_files:
        loop = " → ".join(p.name for p in (*chain_files[chain_files.index(base_path) :], base_path))
        err(("extends",), "extends", f"'{target}' makes a cycle: {loop}")
        return Chain(data, (src,), origins, tuple(problems))
    from ..errors import RulebookError  # local: errors is below us, this only reads the type

    try:
        bdata, btext, braw = read(base_path)
    except RulebookError as exc:
        first = exc.problems[0].message if exc.problems else str(exc)
        err(("extends",), "extends", f"cannot use '{target}' ({base_path}): {first}")
        if not base_path.exists():
            return Chain(data, (src,), origins, tuple(problems))
        problems.extend(p for p in exc.problems[1:])
        return Chain(data, (src,), origins, tuple(problems))
    base = resolve(bdata, btext, str(base_path), braw, read, chain_files)
    problems.extend(base.problems)
    if any(p.path == "extends" and "cycle" in p.message for p in base.problems):
        return Chain(
            data, (src, *base.sources), origins, tuple(problems)
        )  # nothing sound to merge onto
    origins.nodes.update(base.origins.nodes)
    origins.keys.update(base.origins.keys)
    origins._alive.extend(base.origins._alive)
    merged = _merge(base.data, data, src, origins, err)
    return Chain(merged, (src, *base.sources), origins, tuple(problems))


def _merge(
    base: Mapping[str, Any], child: dict[str, Any], src: Source, origins: Origins, err: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: v for k, v in base.items() if k not in ("extends", "override", "disable")
    }
    origins.copy_mark(out, base)
    for k in _REPLACED:
        if k in child:
            out[k] = child[k]
            origins.mark_key(out, k, src, (k,))
    for k in child:  # any other key (on_missing, a typo like titel …) replaces the base's, so the
        if k not in _MERGED and k not in _REPLACED:  # validator sees it and names the child's line
            out[k] = child[k]
            origins.mark_key(out, k, src, (k,))
    for name in ("fields", "derived"):
        if isinstance(child.get(name), dict):
            merged = dict(base.get(name) or {})
            merged.update(child[name])
            out[name] = merged
    if isinstance(child.get("consistency"), list):
        out["consistency"] = [*(base.get("consistency") or []), *child["consistency"]]
    if isinstance(child.get("grades"), list):  # grade bands replace the base's as a whole
        out["grades"] = child["grades"]
    cats = [_copy_cat(c, origins) for c in (base.get("categories") or []) if isinstance(c, dict)]
    for ci, ccat in enumerate(child.get("categories") or []):
        if not isinstance(ccat, dict):
            cats.append(ccat)
            continue
        same = next((c for c in cats if c.get("id") == ccat.get("id")), None)
        if same is None:
            cats.append(ccat)
            continue
        for k, v in ccat.items():  # a category of the base, extended: its keys changed, items added
            if k in ("items", "groups"):
                continue
            same[k] = v
            origins.mark_key(same, k, src, ("categories", ci, k))
        if isinstance(ccat.get("items"), list):
            same.setdefault("items", [])
            same["items"].extend(ccat["items"])
        if isinstance(ccat.get("groups"), list):  # groups added, or a base group's items added to
            _merge_groups(same, ccat["groups"], src, origins, ("categories", ci))
    out["categories"] = cats
    _apply_overrides(out, child, src, origins, err)
    _apply_disable(out, child, err)
    return out


def _merge_groups(
    same: dict[str, Any], groups: list[Any], src: Source, origins: Origins, path: PathKey
) -> None:
    """A child's ``[[categories.groups]]`` on a category of the base: a group of the same id
    gets its keys changed and its items added; any other group is added."""
    base_groups = same.get("groups")
    if not isinstance(base_groups, list):
        same["groups"] = base_groups = []
    for gi, g in enumerate(groups):
        old = next(
            (
                b
                for b in base_groups
                if isinstance(b, dict) and isinstance(g, dict) and b.get("id") == g.get("id")
            ),
            None,
        )
        if old is None:
            base_groups.append(g)
            continue
        for k, v in g.items():
            if k == "items":
                continue
            old[k] = v
            origins.mark_key(old, k, src, (*path, "groups", gi, k))
        if isinstance(g.get("items"), list):
            old.setdefault("items", [])
            if isinstance(old["items"], list):
                old["items"].extend(g["items"])


def _copy_items(table: dict[str, Any], new: dict[str, Any], origins: Origins) -> None:
    if isinstance(table.get("items"), list):
        items = []
        for item in table["items"]:
            c = copy.copy(item)
            origins.copy_mark(c, item)
            items.append(c)
        new["items"] = items


def _copy_cat(cat: dict[str, Any], origins: Origins) -> dict[str, Any]:
    new = dict(cat)
    origins.copy_mark(new, cat)
    _copy_items(cat, new, origins)
    if isinstance(cat.get("groups"), list):
        groups = []
        for g in cat["groups"]:
            if isinstance(g, dict):
                c = dict(g)
                origins.copy_mark(c, g)
                _copy_items(g, c, origins)
                groups.append(c)
            else:
                groups.append(g)
        new["groups"] = groups
    return new


def _tables_of(cat: dict[str, Any]) -> list[dict[str, Any]]:
    """A category and its groups: the tables that hold its items (SPEC §10.3)."""
    out = [cat]
    groups = cat.get("groups")
    if isinstance(groups, list):
        out.extend(g for g in groups if isinstance(g, dict))
    return out


def _items_by_id(cats: list[Any]) -> dict[str, dict[str, Any]]:
    """Every item by its full id ``category.item``, a grouped one too."""
    out: dict[str, dict[str, Any]] = {}
    for cat in cats:
        if not isinstance(cat, dict):
            continue
        for holder in _tables_of(cat):
            if isinstance(holder.get("items"), list):
                for item in holder["items"]:
                    if isinstance(item, dict):
                        out[f"{cat.get('id')}.{item.get('id')}"] = item
    return out


def _groups_by_id(cats: list[Any]) -> dict[str, dict[str, Any]]:
    """Every group by ``category.group``."""
    out: dict[str, dict[str, Any]] = {}
    for cat in cats:
        if isinstance(cat, dict):
            for g in _tables_of(cat)[1:]:
                out[f"{cat.get('id')}.{g.get('id')}"] = g
    return out


def _apply_overrides(
    out: dict[str, Any], child: dict[str, Any], src: Source, origins: Origins, err: Any
) -> None:
    table = child.get("override")
    if table is None:
        return
    if not isinstance(table, dict):
        err(("override",), "override", 'expected tables like [override."archives.registers"]')
        return
    items = _items_by_id(out["categories"])
    groups = _groups_by_id(out["categories"])
    for full_id, changes in table.items():
        key = ("override", full_id)
        path = f'override."{full_id}"'
        if full_id not in items and full_id in groups and isinstance(changes, dict):
            if "id" in changes or "items" in changes:
                err(
                    key,
                    path,
                    "an override changes a group's own keys (max, title …), not its id or items",
                )
                continue
            for k, v in changes.items():
                groups[full_id][k] = v
                origins.mark_key(groups[full_id], k, src, (*key, k))
            continue
        if full_id not in items:
            err(
                key,
                path,
                f"no item '{full_id}' to override{did_you_mean(full_id, [*items, *groups])}; "
                'name it as "category.item" (or "category.group")',
            )
            continue
        if not isinstance(changes, dict):
            err(key, path, "expected a table of item keys to change, e.g. each = 2")
            continue
        if "id" in changes:
            err(
                (*key, "id"),
                f"{path}.id",
                "an override cannot change an item's id; disable it and add a new item",
            )
            continue
        item = items[full_id]
        for k, v in changes.items():
            item[k] = v
            origins.mark_key(item, k, src, (*key, k))


def _apply_disable(out: dict[str, Any], child: dict[str, Any], err: Any) -> None:
    names = child.get("disable")
    if names is None:
        return
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        err(("disable",), "disable", 'expected a list like ["facilities.sign", "bonus"]')
        return
    cats = out["categories"]
    items = _items_by_id(cats)
    groups = _groups_by_id(cats)
    cat_ids = [c.get("id") for c in cats if isinstance(c, dict)]
    for i, name in enumerate(names):
        if name in items:
            cid, iid = name.split(".", 1)
            for cat in cats:
                if isinstance(cat, dict) and cat.get("id") == cid:
                    for holder in _tables_of(cat):
                        if isinstance(holder.get("items"), list):
                            holder["items"] = [
                                it
                                for it in holder["items"]
                                if not (isinstance(it, dict) and it.get("id") == iid)
                            ]
                    if isinstance(cat.get("groups"), list):  # a group left with no items goes too
                        cat["groups"] = [
                            g
                            for g in cat["groups"]
                            if not (isinstance(g, dict) and g.get("items") == [])
                        ]
        elif name in groups:  # a whole group, with its items
            cid, gid = name.split(".", 1)
            for cat in cats:
                if isinstance(cat, dict) and cat.get("id") == cid:
                    cat["groups"] = [
                        g for g in cat["groups"] if not (isinstance(g, dict) and g.get("id") == gid)
                    ]
        elif name in cat_ids:
            out["categories"] = cats = [
                c for c in cats if not (isinstance(c, dict) and c.get("id") == name)
            ]
        else:
            known = list(items) + list(groups) + [str(c) for c in cat_ids]
            err(
                ("disable",),
                f"disable[{i}]",
                f"nothing called '{name}' to disable{did_you_mean(name, known)}; "
                'name an item as "category.item" or a category by its id',
            )
