"""Block records (schema 2): a chunk of a streamed run's units in one chained record, in columns.

A streamed run (``score``/``rank`` on a table, :class:`~fulian_eval.audit.sink.AuditSink`)
stores each chunk of kept rows as one ``units`` record instead of one ``unit``
record per row: one hash per chunk, and a body an eighth the size. The body is
canonical JSON like every other record (the hash covers its exact text), one
entry per column:

``unit``, ``name``
    the units' ids and names as written (lists of strings).
``groups``, ``unit_kinds``, ``roles``, ``flag_sets``, ``files``, ``grades``, ``categories``
    the tables the codes below index: this block's distinct groups, unit kinds,
    roles and flag sets, its files as ``[path, evidence index or null]``, the
    rulebook's grades and category ids.
``group``, ``unit_kind``, ``role``, ``flags``, ``file``, ``row``, ``grade``, ``vetoed``, ``total_h``
    per unit a whole number: a code into the table of that name (``grade`` -1 for
    none), the row of its file (0 for a file that is one unit; the source is
    ``"path row N"``), 0/1, the total in hundredths at the rulebook's precision
    (``places`` decimals).
``category_h``, ``applicable``, ``points_h``
    per category (or item, in the header's order) one row of whole numbers: the
    category scores in hundredths and 0/1, the item points in hundredths.

A column of whole numbers is ``{"dtype": "int8"|"int16"|"int32"|"int64", "zlib":
base64}``: the numbers little-endian, row after row, compressed (zlib) and base64
encoded. Every block is read alone (its tables are its own). :class:`Expander`
gives back the very ``unit`` record texts a schema-1 store holds for the same
units, which ``show``, ``export`` and ``replay`` work from; :func:`check` is what
``verify`` asks of a block's structure.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..io.evidence import split_source
from ..model.rulebook import Rulebook
from ..scoring.stream import HundredthsText

__all__ = [
    "KIND",
    "EvidencePaths",
    "Expander",
    "UnitBodies",
    "check_block",
    "encode",
    "encode_json",
]

#: Canonical JSON text (keys sorted, no spaces, no ASCII escaping, no NaN): what every
#: record body is (see :func:`~fulian_eval.audit.store.canonical_json`).
encode_json = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode


class EvidencePaths:
    """Which stored evidence file a unit's source names ("x.csv row 4" -> x.csv), by index."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.by_path: dict[str, int] = {}
        for k, p in enumerate(paths):
            self.by_path.setdefault(p, k)

    def index(self, source: str) -> int | None:
        k = self.by_path.get(source)
        if k is None:
            path, sep, _ = source.rpartition(" row ")
            if sep:
                k = self.by_path.get(path)
        return k


_json_str = json.encoder.encode_basestring  # as encode_json writes a string (ensure_ascii=False)


class UnitBodies:
    """Unit records written straight from compact columns, for runs of many units.

    Gives the very text :func:`append_run` stores for a
    :class:`~fulian_eval.scoring.exact.UnitSummary` with the same values (a test holds the
    two together), without making the summary: pass the bodies to
    ``append_run(bodies=...)``.
    """

    def __init__(self, rulebook: Rulebook | None, evidence_paths: Sequence[str]) -> None:
        self.evidence = EvidencePaths(evidence_paths)
        cats = [c.id for c in rulebook.categories] if rulebook is not None else []
        self.cats = [f'[{_json_str(c)},"' for c in cats]
        self.strings: dict[str, str] = {}
        self.flags: dict[tuple[str, ...], str] = {(): "[]"}

    @classmethod
    def for_categories(cls, categories: Sequence[str]) -> UnitBodies:
        """Bodies for a rulebook with these category ids, whose evidence indexes are given to
        :meth:`block` (``evidence_of``): how a block record is expanded."""
        enc = cls(None, [])
        enc.cats = [f'[{_json_str(c)},"' for c in categories]
        return enc

    def _s(self, text: str) -> str:
        got = self.strings.get(text)
        if got is None:
            got = _json_str(text)
            if len(self.strings) < 10_000:
                self.strings[text] = got
        return got

    def body(
        self,
        *,
        unit: str,
        name: str,
        group: str,
        kind: str,
        role: str,
        source: str,
        flags: tuple[str, ...],
        grade: str | None,
        vetoed: bool,
        total: str,
        categories: Sequence[tuple[str, bool]],
        points: Sequence[str],
    ) -> str:
        """One unit's record: ``categories`` are (score as printed, applicable) in rulebook order."""
        path, row = split_source(source)
        return self.block(
            unit=[unit],
            name=[name],
            group=[group],
            kind=[kind],
            role=[role],
            file=[path],
            row=[row],
            flags=[flags],
            grade=[grade],
            vetoed=[vetoed],
            total=[total],
            cat_scores=[[sc] for sc, _ in categories],
            cat_ok=[[ok] for _, ok in categories],
            points=list(points),
        )[0]

    def block(
        self,
        *,
        unit: Sequence[str],
        name: Sequence[str],
        group: Sequence[str],
        kind: Sequence[str],
        role: Sequence[str],
        file: Sequence[str],
        row: Sequence[int],
        flags: Sequence[tuple[str, ...]],
        grade: Sequence[str | None],
        vetoed: Sequence[bool],
        total: Sequence[str],
        cat_scores: Sequence[Sequence[str]],
        cat_ok: Sequence[Sequence[bool]],
        points: Sequence[str],
        evidence_of: Mapping[str, int | None] | None = None,
    ) -> list[str]:
        """Many units' records at once, from columns.

        ``file`` and ``row`` give each source ("x.csv" and 4 for "x.csv row 4"; row 0 for
        a file that is one unit); ``cat_scores``/``cat_ok`` hold one list per category;
        ``points`` every unit's item points, unit after unit; ``evidence_of`` each file's
        index in the run's evidence list, when it is not to be looked up by path.
        """
        n = len(unit)
        if n == 0:
            return []
        n_items = len(points) // n
        s = self._s
        files: dict[str, tuple[str, str]] = {}
        for f in set(file):
            k = self.evidence.index(f) if evidence_of is None else evidence_of[f]
            files[f] = ("null" if k is None else str(k), _json_str(f)[:-1])
        frags = []
        for head, scores, oks in zip(self.cats, cat_scores, cat_ok, strict=True):
            cache: dict[tuple[str, bool], str] = {}
            out = []
            for sc, ok in zip(scores, oks, strict=True):
                got = cache.get((sc, ok))
                if got is None:
                    got = cache[sc, ok] = f'{head}{sc}",{"true" if ok else "false"}]'
                out.append(got)
            frags.append(out)
        cats = [",".join(parts) for parts in zip(*frags, strict=True)] if frags else [""] * n
        bodies = []
        for i in range(n):
            ev, fj = files[file[i]]
            fl = self.flags.get(flags[i])
            if fl is None:
                fl = "[" + ",".join(_json_str(f) for f in flags[i]) + "]"
                if len(self.flags) < 10_000:
                    self.flags[flags[i]] = fl
            g = grade[i]
            r = row[i]
            bodies.append(
                "".join(
                    (
                        '{"categories":[',
                        cats[i],
                        '],"evidence":',
                        ev,
                        ',"flags":',
                        fl,
                        ',"grade":',
                        "null" if g is None else s(g),
                        ',"group":',
                        s(group[i]),
                        ',"kind":"unit","name":',
                        _json_str(name[i]),
                        ',"points":["',
                        '","'.join(points[i * n_items : (i + 1) * n_items]),
                        '"],"role":',
                        s(role[i]),
                        ',"source":',
                        fj,
                        f' row {r}"' if r else '"',
                        ',"total":"',
                        total[i],
                        '","unit":',
                        _json_str(unit[i]),
                        ',"unit_kind":',
                        s(kind[i]),
                        ',"vetoed":',
                        "true" if vetoed[i] else "false",
                        "}",
                    )
                )
            )
        return bodies


#: The ``kind`` of a block record.
KIND = "units"

_DTYPES = {"int8": "<i1", "int16": "<i2", "int32": "<i4", "int64": "<i8"}
_LIMITS = [(name, np.iinfo(np.dtype(code))) for name, code in _DTYPES.items()]

#: The columns of whole numbers: name -> the table its values index (or None), rows
#: (None: one value per unit; else the header field whose length gives the rows).
_INT_COLUMNS: dict[str, tuple[str | None, str | None]] = {
    "applicable": (None, "categories"),
    "category_h": (None, "categories"),
    "file": ("files", None),
    "flags": ("flag_sets", None),
    "grade": ("grades", None),
    "group": ("groups", None),
    "points_h": (None, "items"),
    "role": ("roles", None),
    "row": (None, None),
    "total_h": (None, None),
    "unit_kind": ("unit_kinds", None),
    "vetoed": (None, None),
}
_TABLES = ("categories", "files", "flag_sets", "grades", "groups", "roles", "unit_kinds")
_KEYS = frozenset({*_INT_COLUMNS, *_TABLES, "kind", "name", "places", "unit"})


def _column(values: Any) -> dict[str, str]:
    """Whole numbers as a column: the narrowest dtype that holds them, compressed, base64."""
    a = np.asarray(values)
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    name = next(n for n, info in _LIMITS if info.min <= lo and hi <= info.max)
    data = np.ascontiguousarray(a, dtype=_DTYPES[name]).tobytes()
    return {"dtype": name, "zlib": base64.b64encode(zlib.compress(data, 1)).decode("ascii")}


def _values(what: str, col: Any, count: int) -> Any:
    """A column's ``count`` whole numbers (int64).

    Raises:
        ValueError: it is not a column, or does not hold ``count`` numbers.
    """
    if not isinstance(col, dict) or set(col) != {"dtype", "zlib"} or col["dtype"] not in _DTYPES:
        raise ValueError(f"{what} is not a column of whole numbers")
    code = np.dtype(_DTYPES[col["dtype"]])
    want = count * code.itemsize
    try:
        packed = base64.b64decode(col["zlib"], validate=True)
        z = zlib.decompressobj()
        data = z.decompress(packed, want + 1)  # never more than a block can hold
        if not z.eof or z.unused_data:
            raise ValueError("trailing data")
    except (binascii.Error, zlib.error, ValueError, TypeError) as exc:
        raise ValueError(f"{what} cannot be decoded ({exc})") from None
    if len(data) != want:
        raise ValueError(f"{what} holds {len(data) // code.itemsize} numbers, not {count}")
    return np.frombuffer(data, dtype=code).astype(np.int64)


def _local(codes: Any, names: Sequence[Any]) -> tuple[Any, list[Any]]:
    """Codes into a run-wide table as codes into a table of the values this block uses."""
    uniq, inverse = np.unique(np.asarray(codes, dtype=np.int64), return_inverse=True)
    return inverse.reshape(-1), [names[c] for c in uniq.tolist()]


def encode(
    *,
    unit: list[str],
    name: list[str],
    group: Any,
    groups: Sequence[str],
    kind: Any,
    kinds: Sequence[str],
    role: Any,
    roles: Sequence[str],
    file: Any,
    files: Sequence[tuple[str, int | None]],
    row: Any,
    flags: Any,
    flag_sets: Sequence[Sequence[str]],
    grades: Sequence[str],
    grade: Any,
    vetoed: Any,
    total_h: Any,
    categories: Sequence[str],
    cat_h: Any,
    cat_ok: Any,
    item_h: Any,
    places: int,
) -> str:
    """One block record's body from a chunk of columns (codes into the run-wide tables given;
    ``cat_h``, ``cat_ok`` and ``item_h`` are units × categories or items)."""
    g, g_names = _local(group, groups)
    k, k_names = _local(kind, kinds)
    r, r_names = _local(role, roles)
    f, f_names = _local(file, files)
    fl, fl_names = _local(flags, flag_sets)
    body = {
        "applicable": _column(np.asarray(cat_ok, dtype=np.int8).T),
        "categories": list(categories),
        "category_h": _column(np.asarray(cat_h).T),
        "file": _column(f),
        "files": [[p, ev] for p, ev in f_names],
        "flag_sets": [list(s) for s in fl_names],
        "flags": _column(fl),
        "grade": _column(grade),
        "grades": list(grades),
        "group": _column(g),
        "groups": g_names,
        "kind": KIND,
        "name": name,
        "places": places,
        "points_h": _column(np.asarray(item_h).T),
        "role": _column(r),
        "roles": r_names,
        "row": _column(row),
        "total_h": _column(total_h),
        "unit": unit,
        "unit_kind": _column(k),
        "unit_kinds": k_names,
        "vetoed": _column(np.asarray(vetoed, dtype=np.int8)),
    }
    return encode_json(body)


def _table(what: str, values: Any, of: type = str) -> list[Any]:
    if not isinstance(values, list) or not all(type(v) is of for v in values):
        raise ValueError(f"{what} is not a list of {of.__name__}")
    keys = [encode_json(v) for v in values]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{what} names a value twice")
    return values


def _tables(rec: Mapping[str, Any], evidence: int) -> dict[str, int]:
    """The length of each table, after checking it."""
    out = {}
    for t in ("categories", "grades", "groups", "roles", "unit_kinds"):
        out[t] = len(_table(t, rec[t]))
    sets = _table("flag_sets", rec["flag_sets"], list)
    for s in sets:
        _table("a flag set", s)
    out["flag_sets"] = len(sets)
    files = _table("files", rec["files"], list)
    for f in files:
        if not (
            len(f) == 2
            and type(f[0]) is str
            and (f[1] is None or (type(f[1]) is int and 0 <= f[1] < evidence))
        ):
            raise ValueError(f"files entry {encode_json(f)} names no evidence file of its run")
    if len({f[0] for f in files}) != len(files):
        raise ValueError("files names a path twice")
    out["files"] = len(files)
    return out


def check_block(rec: Mapping[str, Any], evidence: int, items: int) -> int:
    """How many units a block holds, after checking its structure; ``evidence`` and
    ``items`` are how many evidence files and items its run's header lists.

    Raises:
        ValueError: what is wrong (a missing or extra key, a column of the wrong
            length, a code outside its table, an evidence file the run does not list).
    """
    keys = set(rec)
    if keys != _KEYS:
        raise ValueError(f"keys {sorted(keys - _KEYS)} extra, {sorted(_KEYS - keys)} missing")
    unit, name = rec["unit"], rec["name"]
    if not isinstance(unit, list) or not unit or not all(type(u) is str for u in unit):
        raise ValueError("unit is not a list of unit ids")
    n = len(unit)
    if not isinstance(name, list) or len(name) != n or not all(type(x) is str for x in name):
        raise ValueError(f"name is not {n} names")
    places = rec["places"]
    if type(places) is not int or not 0 <= places <= 2:
        raise ValueError(f"places {places!r} is not 0, 1 or 2")
    sizes = {**_tables(rec, evidence), "items": items}
    for col, (table, rows) in _INT_COLUMNS.items():
        a = _values(col, rec[col], n * (sizes[rows] if rows else 1))
        lo, hi = {"grade": (-1, sizes["grades"]), "vetoed": (0, 2), "applicable": (0, 2)}.get(
            col, (0, sizes[table]) if table else (None, None)
        )
        if col == "row":
            lo = 0
        if a.size and ((lo is not None and a.min() < lo) or (hi is not None and a.max() >= hi)):
            raise ValueError(f"{col} holds a value outside [{lo}, {hi})")
    return n


class Expander:
    """Block records as the ``unit`` record texts a schema-1 store holds for the same units
    (one expander for many blocks: it keeps its number formats)."""

    def __init__(self) -> None:
        self.fmt: dict[int, HundredthsText] = {}
        self.enc: dict[tuple[str, ...], UnitBodies] = {}

    def __call__(self, rec: Mapping[str, Any]) -> list[str]:
        places = rec["places"]
        fmt = self.fmt.get(places)
        if fmt is None:
            fmt = self.fmt[places] = HundredthsText(places=places)
        cats = tuple(rec["categories"])
        enc = self.enc.get(cats)
        if enc is None:
            enc = self.enc[cats] = UnitBodies.for_categories(cats)
        n = len(rec["unit"])

        def ints(col: str, rows: int = 0) -> Any:
            a = _values(col, rec[col], n * max(rows, 1))
            return a.reshape(rows, n) if rows else a

        def pick(col: str, table: str) -> list[Any]:
            t = rec[table]
            return [t[c] for c in ints(col).tolist()]

        files = rec["files"]
        names = [*rec["grades"], None]  # -1 -> None
        k = len(cats)
        cat_h = ints("category_h", k)
        ok = ints("applicable", k)
        col = rec["points_h"]
        items = _count(col) // n
        pts = ints("points_h", items)
        return enc.block(
            unit=rec["unit"],
            name=rec["name"],
            group=pick("group", "groups"),
            kind=pick("unit_kind", "unit_kinds"),
            role=pick("role", "roles"),
            file=[files[c][0] for c in ints("file").tolist()],
            row=ints("row").tolist(),
            flags=[tuple(s) for s in pick("flags", "flag_sets")],
            grade=[names[g] for g in ints("grade").tolist()],
            vetoed=[bool(v) for v in ints("vetoed").tolist()],
            total=fmt.many(ints("total_h")),
            cat_scores=[fmt.many(c) for c in cat_h],
            cat_ok=[[bool(x) for x in c] for c in ok.tolist()],
            points=fmt.many(pts.T.ravel()),
            evidence_of={p: ev for p, ev in files},
        )


def _count(col: Any) -> int:
    """How many numbers a column holds (its decoded size over its dtype's)."""
    if not isinstance(col, dict) or col.get("dtype") not in _DTYPES:
        raise ValueError("not a column of whole numbers")
    size = len(zlib.decompress(base64.b64decode(col["zlib"], validate=True)))
    return size // np.dtype(_DTYPES[col["dtype"]]).itemsize
