"""Replay (SPEC §8): a stored run's files scored anew and compared with what the store holds.

Only this module of the audit trail runs the scoring pipeline; the store itself
(:mod:`.store`) keeps and checks records and never scores.
"""

from __future__ import annotations

import datetime as _dt
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..analysis.rank import rank_table
from ..errors import FulianEvalError
from ..io.evidence import TABLE_SUFFIXES, Rejection, load_evidence
from ..io.load import load_rulebook_chain
from ..io.surveys import SurveyData, load_surveys
from ..io.waivers import WaiverSet, load_waivers
from ..model.rulebook import Rulebook, SourceFile
from ..scoring.columnar import Unsupported, compile_plan
from ..scoring.exact import score
from ..scoring.stream import score_tables
from .sink import audit_bodies
from .store import (
    STATUS_NAMES,
    AuditError,
    AuditStore,
    Difference,
    EvidencePaths,
    PointsText,
    Rescored,
    UnitBodies,
    damaged_as_error,
    encode_json,
    item_inputs,
    load_json,
    pack_unit,
    plain,
)

__all__ = [
    "Materialized",
    "compare_run",
    "draw_contradictions",
    "header_differences",
    "materialize",
    "replay",
    "replay_run",
    "rescore",
    "rescore_compared",
]


def _safe_name(path: str, fallback: str) -> str:
    name = Path(path.replace("\\", "/")).name
    return name if name not in ("", ".", "..") else fallback


@attrs.frozen(kw_only=True)
class Materialized:
    """A stored run's files written out again, to score them anew.

    Attributes:
        rulebook: loaded from the stored chain, naming the stored paths.
        evidence: the evidence files, written under a temporary folder.
        back: temporary path -> the path the run stored.
        waivers: the waivers the run applied, if any.
        surveys: the survey tables the run read (SPEC §10.9), tallied, if any.
    """

    header: Mapping[str, Any]
    rulebook: Rulebook
    evidence: tuple[Path, ...]
    back: Mapping[str, str]
    waivers: WaiverSet | None = None
    surveys: SurveyData | None = None

    @property
    def strict(self) -> bool:
        return bool(self.header.get("options", {}).get("strict", False))

    @property
    def ignore_columns(self) -> bool:
        return bool(self.header.get("options", {}).get("ignore_columns", False))

    def source(self, s: str) -> str:
        """A source as the run named it ("x.csv row 4"), from one naming a temporary file."""
        path, sep, rest = s.rpartition(" row ")
        if sep and path in self.back:
            return f"{self.back[path]} row {rest}"
        return self.back.get(s, self.restore(s))

    def restore(self, text: str) -> str:
        """A message with temporary paths put back as the run named them."""
        for tmp_path, orig in self.back.items():
            if tmp_path in text:
                text = text.replace(tmp_path, orig)
        return text


def materialize(store: AuditStore, run: int, root: Path) -> Materialized:
    """Write a stored run's rulebook chain, evidence and waiver files under ``root`` and load the rulebook.

    Raises:
        AuditError: no such run, or a stored file is missing.
        RulebookError: the stored rulebook no longer loads.
    """
    header = store.header(run)
    chain = [(str(f["path"]), store.blob(f["sha256"])) for f in header["rulebook"]]
    if not chain:
        raise AuditError(f"{store.path}: run {run} names no rulebook file")
    back: dict[str, str] = {}
    ev_paths: list[Path] = []
    for k, f in enumerate(header["evidence"]):
        d = root / "evidence" / str(k)
        d.mkdir(parents=True)
        p = d / _safe_name(f["path"], f"evidence-{k}")
        p.write_bytes(store.blob(f["sha256"]))
        ev_paths.append(p)
        back[str(p)] = f["path"]
    try:  # the stored chain only: every extends is answered by the next stored file, never by this disk
        rb = load_rulebook_chain(chain)
    except ValueError as exc:  # a stored path that names no file at all (a NUL, say)
        if isinstance(exc, FulianEvalError):
            raise
        raise AuditError(
            f"{store.path}: run {run}: the stored rulebook chain cannot be loaded: {exc}"
        ) from None
    rb = attrs.evolve(
        rb,
        sources=tuple(SourceFile(path=f["path"], sha256=f["sha256"]) for f in header["rulebook"]),
    )
    waivers = None
    if header.get("waivers"):
        w = header["waivers"]
        p = root / _safe_name(w["path"], "waivers.toml")
        p.write_bytes(store.blob(w["sha256"]))
        waivers, _ = load_waivers(p, rb, _dt.date.fromisoformat(w["today"]))
    surveys = None
    if header.get("surveys"):
        survey_paths: list[Path] = []
        for k, f in enumerate(header["surveys"]):
            d = root / "surveys" / str(k)
            d.mkdir(parents=True)
            p = d / _safe_name(f["path"], f"survey-{k}.csv")
            p.write_bytes(store.blob(f["sha256"]))
            survey_paths.append(p)
        surveys, _ = load_surveys(survey_paths, rb)
    return Materialized(
        header=header,
        rulebook=rb,
        evidence=tuple(ev_paths),
        back=back,
        waivers=waivers,
        surveys=surveys,
    )


def _rescore(store: AuditStore, run: int) -> Rescored:
    """Re-score a run from its stored files; sources name the stored paths, not temporary ones."""
    with tempfile.TemporaryDirectory(prefix="fulian-audit-") as tmp:
        m = materialize(store, run, Path(tmp))
        loaded = load_evidence(
            m.rulebook,
            m.evidence,
            strict=m.strict,
            ignore_columns=m.ignore_columns,
            empty_ok=True,
            surveys=m.surveys,
        )
    waivers = m.waivers
    results = tuple(
        score(
            m.rulebook,
            attrs.evolve(ev, source=m.source(ev.source)),
            waivers.for_unit(ev)[0] if waivers is not None else None,
        )
        for ev in loaded.evidence
    )
    rejected = tuple(
        attrs.evolve(r, source=m.source(r.source), error=m.restore(r.error))
        for r in loaded.rejected
    )
    return Rescored(header=m.header, rulebook=m.rulebook, results=results, rejected=rejected)


def rescore(path: str | Path, run: int) -> Rescored:
    """Score a stored run again from its stored rulebook and evidence files (with reasons).

    Raises:
        AuditError: no such run, or a stored file is missing.
        RulebookError: the stored rulebook no longer loads.
    """
    with AuditStore.open(path, create=False) as s, damaged_as_error(path):
        return _rescore(s, run)


def rescore_compared(path: str | Path, run: int) -> tuple[Rescored, list[Difference]]:
    """A stored scoring run scored again (:func:`rescore`) and what differs from its records
    (as :func:`replay` finds it), from one scoring.

    Raises:
        AuditError: no such run, or a stored file is missing.
        RulebookError: the stored rulebook no longer loads.
    """
    with AuditStore.open(path, create=False) as s, damaged_as_error(path):
        rescored = _rescore(s, run)
        return rescored, _differences(s, run, rescored)


def replay(path: str | Path, run: int | None = None) -> list[Difference]:
    """Re-score every stored run (or one) from its stored inputs; list what differs.

    Compared per unit: total, grade, veto, flags, source, evidence file, category
    scores, every item's points, and statuses and inputs when the run stored them;
    units scored now but not then (or the reverse); rejected units. An empty list
    means every stored score is reproduced exactly.
    """
    diffs: list[Difference] = []
    with AuditStore.open(path, create=False) as s, damaged_as_error(path):
        wanted = [r.run for r in s.runs()] if run is None else [run]
        for r in wanted:
            got = _replay_columns(s, r)
            diffs.extend(got if got is not None else _replay_run(s, r))
    return diffs


def _replay_draw(store: AuditStore, run: int, header: Mapping[str, Any]) -> list[Difference]:
    from ..analysis import sampling

    kind = header["draw"]
    wrong = draw_contradictions(store, run, header)
    if wrong:
        return wrong
    options = header.get("options", {})
    f = header["evidence"][0]
    with tempfile.TemporaryDirectory(prefix="fulian-audit-") as tmp:
        p = Path(tmp) / _safe_name(f["path"], "units.csv")
        p.write_bytes(store.blob(f["sha256"]))
        units = sampling.read_units(p)
    if kind == "plan":
        again = sampling.plan_json(sampling.plan(units, int(options["seed"])))
    else:
        again = sampling.sample_json(
            sampling.sample(
                units,
                str(options["fraction"]),
                int(options["seed"]),
                int(options.get("min_per_group", 1)),
            )
        )
    stored = header.get("result")
    if load_json(encode_json(plain(again))) != stored:
        return [
            Difference(
                run=run,
                unit="",
                role="",
                what=kind,
                stored=encode_json(stored)[:200],
                now=encode_json(plain(again))[:200],
            )
        ]
    return []


def draw_contradictions(store: AuditStore, run: int, header: Mapping[str, Any]) -> list[Difference]:
    """What in a run whose header says it is a plan or sample draw is not what a draw stores.

    A draw stores one units file, the seed and what was drawn, and no rulebook,
    items or unit records: unit results under a draw's header are a relabelled
    scoring run, and are reported rather than passed over.
    """
    kind = header.get("draw")
    out = []

    def say(stored: str, now: str) -> None:
        out.append(Difference(run=run, unit="", role="", what="kind", stored=stored, now=now))

    if kind not in ("plan", "sample"):
        say(f"a {kind!r} draw", "no such kind of draw (plan and sample are)")
    units = store.unit_count(run)
    if units:
        say(
            f"a {kind} draw",
            f"{units} unit records under its header, which a {kind} draw never stores: "
            "these are scores under a header relabelled as a draw",
        )
    if header.get("rulebook") or header.get("items"):
        say(
            f"a {kind} draw",
            f"a rulebook ({len(header.get('rulebook') or [])} files) and "
            f"{len(header.get('items') or [])} items, which a draw does not use",
        )
    if len(header.get("evidence") or []) != 1:
        say(
            f"a {kind} draw",
            f"{len(header.get('evidence') or [])} input files; a draw reads one units file",
        )
    end = store.end(run)
    if end is not None and end.get("rejected"):
        say(f"a {kind} draw", "rejected units, which a draw does not have")
    return out


def header_differences(run: int, header: Mapping[str, Any], rb: Rulebook) -> list[Difference]:
    """The parts of a scoring run's header that follow from its rulebook and do not match it."""
    out = []
    items = [[i.id, item_inputs(rb, i)] for i in rb.items()]
    stored = header.get("items")
    if stored != items:
        stored_ids = (
            [i[0] if isinstance(i, list) and i else i for i in stored]
            if isinstance(stored, list)
            else stored
        )
        ids = [i.id for i in rb.items()]
        if stored_ids != ids:
            shown = (
                ", ".join(map(str, stored_ids))
                if isinstance(stored_ids, list)
                else _show_value(stored_ids)
            )
            out.append(
                Difference(
                    run=run, unit="", role="", what="items", stored=shown, now=", ".join(ids)
                )
            )
        else:
            out.append(
                Difference(
                    run=run,
                    unit="",
                    role="",
                    what="item inputs",
                    stored=encode_json(stored)[:300],
                    now=encode_json(items)[:300],
                )
            )
    scheme = {"id": rb.id, "version": rb.version}
    if header.get("scheme") != scheme:
        out.append(
            Difference(
                run=run,
                unit="",
                role="",
                what="scheme",
                stored=_show_value(header.get("scheme")),
                now=encode_json(scheme),
            )
        )
    return out


def replay_run(store: AuditStore, run: int) -> list[Difference]:
    """Re-score one stored run unit by unit and list what differs (see :func:`replay`)."""
    return _replay_run(store, run)


def _replay_run(store: AuditStore, run: int) -> list[Difference]:
    stored_header = store.header(run)
    if stored_header.get("draw"):
        try:
            return _replay_draw(store, run, stored_header)
        except (FulianEvalError, KeyError, ValueError) as exc:
            return [
                Difference(
                    run=run, unit="", role="", what="drawing", stored="drawn", now=f"fails: {exc}"
                )
            ]
    try:
        rescored = _rescore(store, run)
    except FulianEvalError as exc:
        return [
            Difference(
                run=run, unit="", role="", what="rescoring", stored="scored", now=f"fails: {exc}"
            )
        ]
    return _differences(store, run, rescored)


def _differences(store: AuditStore, run: int, rescored: Rescored) -> list[Difference]:
    """What a stored scoring run's records say against the same run scored again."""
    header = rescored.header
    ids = [i.id for i in rescored.rulebook.items()]
    wrong = header_differences(run, header, rescored.rulebook)
    if wrong:
        return wrong
    evidence = EvidencePaths([f["path"] for f in header["evidence"]])
    fmt = PointsText()
    reads_any = [bool(names) for _, names in header["items"]]
    now = [encode_json(pack_unit(r, evidence, reads_any, fmt)) for r in rescored.results]
    return compare_run(store, run, ids, now, rescored.rejected)


def compare_run(
    store: AuditStore,
    run: int,
    ids: Sequence[str],
    now: Iterable[str],
    rejected: Sequence[Rejection],
) -> list[Difference]:
    """What differs between a run's stored unit records and ``now``, the same records made again.

    ``now`` holds encoded unit records (see :class:`UnitBodies`); when they come in
    the stored order, equal records are matched as text without being decoded,
    so a run of any size is compared in one pass.
    """
    header = store.header(run)
    evidence = EvidencePaths([f["path"] for f in header["evidence"]])
    out: list[Difference] = []
    fresh = iter(now)
    by_key: dict[tuple[str, str], str] | None = None  # made at the first record out of step
    seen: set[tuple[str, str]] = set()
    for body in store.unit_bodies(run):
        if by_key is None:
            mine = next(fresh, None)
            if mine == body:
                continue
            by_key = {}
            for b in ([mine] if mine is not None else []) + list(fresh):
                got_rec = load_json(b)
                by_key[(got_rec["unit"], got_rec["role"])] = b
        rec = load_json(body)
        key = (rec["unit"], rec["role"])
        seen.add(key)
        got_text = by_key.get(key)
        if got_text == body:
            continue

        def diff(what: str, stored: Any, got: Any, key: tuple[str, str] = key) -> None:
            out.append(
                Difference(
                    run=run,
                    unit=key[0],
                    role=key[1],
                    what=what,
                    stored=_show_value(stored),
                    now=_show_value(got),
                )
            )

        if got_text is None:
            why = next((r.error for r in rejected if r.unit == key[0]), "not in the evidence")
            diff("unit", "scored", f"not scored ({why})")
            continue
        got = load_json(got_text)
        for k in sorted(rec):
            a, b = rec[k], got.get(k)
            if a == b:
                continue
            same_shape = (
                isinstance(a, list | str) and isinstance(b, list | str) and len(a) == len(b)
            )
            if k == "points" and isinstance(b, list) and same_shape:
                for iid, x, y in zip(ids, a, b, strict=True):
                    if x != y:
                        diff(f"points {iid}", x, y)
            elif k == "status" and isinstance(b, str) and same_shape:
                for iid, x, y in zip(ids, a, b, strict=True):
                    if x != y:
                        diff(f"status {iid}", STATUS_NAMES.get(x, x), STATUS_NAMES.get(y, y))
            elif k == "categories" and isinstance(b, list) and same_shape:
                for x, y in zip(a, b, strict=True):
                    if x != y:
                        diff(f"category {x[0]}", x[1:], y[1:])
            elif k == "inputs" and isinstance(a, dict) and isinstance(b, dict):
                for name in sorted(set(a) | set(b)):
                    if a.get(name) != b.get(name):
                        diff(f"input {name}", a.get(name), b.get(name))
            else:
                diff(k, a, b)
    leftover = list(fresh) if by_key is None else [b for k, b in by_key.items() if k not in seen]
    for b in leftover:
        got_rec = load_json(b)
        out.append(
            Difference(
                run=run,
                unit=got_rec["unit"],
                role=got_rec["role"],
                what="unit",
                stored="not scored",
                now="scored",
            )
        )
    end = store.end(run)
    stored_rejects = end.get("rejected", []) if end else []

    def ours(
        source: str,
    ) -> bool:  # rejections of files not stored (unreadable, missing) cannot replay
        return evidence.index(source) is not None

    was = {(s, u) for s, u, _ in stored_rejects if ours(s)}
    is_ = {(r.source, r.unit) for r in rejected if ours(r.source)}
    for s, u in sorted(was - is_):
        out.append(
            Difference(
                run=run,
                unit=u,
                role="",
                what="rejected",
                stored=f"rejected ({s})",
                now="not rejected",
            )
        )
    for s, u in sorted(is_ - was):
        out.append(
            Difference(
                run=run,
                unit=u,
                role="",
                what="rejected",
                stored="not rejected",
                now=f"rejected ({s})",
            )
        )
    return out


def _show_value(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is None:
        return "none"
    return encode_json(v)


def _replay_columns(store: AuditStore, run: int) -> list[Difference] | None:
    """The differences of one run replayed through the columns; None where it must go unit by unit."""
    header = store.header(run)
    if header.get("draw") or header.get("waivers"):
        return None
    if not any(str(f["path"]).lower().endswith(TABLE_SUFFIXES) for f in header["evidence"]):
        return None
    first = next(store.unit_bodies(run), None)
    if first is not None and "status" in load_json(
        first
    ):  # full results: statuses and inputs to compare
        return None
    with tempfile.TemporaryDirectory(prefix="fulian-audit-") as tmp:
        try:
            m = materialize(store, run, Path(tmp))
            plan = compile_plan(m.rulebook)
        except Unsupported:
            return None
        except FulianEvalError as exc:
            return [
                Difference(
                    run=run,
                    unit="",
                    role="",
                    what="rescoring",
                    stored="scored",
                    now=f"fails: {exc}",
                )
            ]
        ids = [i.id for i in m.rulebook.items()]
        wrong = header_differences(run, header, m.rulebook)
        if wrong:
            return wrong
        res = score_tables(
            plan,
            m.evidence,
            strict=m.strict,
            ignore_columns=m.ignore_columns,
            empty_ok=True,
            surveys=m.surveys,
        )
    t = res.table
    t.files = [m.source(f) for f in t.files]
    rejected = [
        attrs.evolve(r, source=m.source(r.source), error=m.restore(r.error)) for r in res.rejected
    ]
    enc = UnitBodies(m.rulebook, [f["path"] for f in header["evidence"]])
    order = (
        None if header.get("order") == "input" else rank_table(t)
    )  # the order the run stored them in
    return compare_run(store, run, ids, audit_bodies(t, order, enc), rejected)
