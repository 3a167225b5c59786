"""``fulian_eval.dask``: a dask DataFrame scored partition by partition on a local cluster,
ranked over all of it, with the single-machine run's numbers."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

import dask.dataframe as dd  # noqa: E402

import fulian_eval as fe  # noqa: E402
from fulian_eval.dask import score_dask  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "town-village-2026.toml"
TOWN_CSV = ROOT / "examples" / "town" / "town.csv"


@pytest.fixture(scope="module")
def client() -> Any:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _many_units(path: Path, n: int, repeat: dict[int, int] | None = None) -> Path:
    lines = TOWN_CSV.read_text(encoding="utf-8").splitlines()
    head, rows = lines[0], lines[1:]
    out = [head]
    for k in range(n):
        cells = rows[k % len(rows)].split(",")
        cells[0] = f"u{(repeat or {}).get(k, k):05d}"
        out.append(",".join(cells))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def _read(path: Path, parts: int) -> Any:
    ddf = dd.from_pandas(
        pd.read_csv(path, dtype=str, keep_default_na=False), npartitions=parts, sort=False
    )
    assert ddf.npartitions == parts
    return ddf


def _report_order(frame: Any) -> str:
    keep = frame.drop(columns=[c for c in ("partition", "source") if c in frame.columns])
    ok = keep[keep["error"].isna()].sort_values(["role", "rank", "unit"])
    return ok.to_csv(index=False)


def test_partitions_on_a_local_cluster_score_as_one_table(client: Any, tmp_path: Path) -> None:
    path = _many_units(tmp_path / "many.csv", 4000)
    got = score_dask(RULES, _read(path, 3)).compute()
    assert sorted(set(got["partition"].tolist())) == [0, 1, 2]
    single = fe.score_table(RULES, pd.read_csv(path, dtype=str, keep_default_na=False))
    want = single.to_pandas(types_mapper=pd.ArrowDtype)
    assert len(got) == len(want) == 4000
    assert _report_order(got) == _report_order(want)
    # Ranks are over all partitions: the best units of every partition share rank 1.
    top = got[got["rank"] == 1]
    assert len(set(top["partition"].tolist())) > 1


def test_a_unit_repeated_in_a_later_partition_is_rejected_there(
    client: Any, tmp_path: Path
) -> None:
    path = _many_units(tmp_path / "dup.csv", 3000, repeat={2999: 5})
    got = score_dask(RULES, _read(path, 3)).compute()
    bad = got[got["error"].notna()]
    assert bad["unit"].tolist() == ["u00005"]
    message = bad["error"].tolist()[0]
    assert "partition 3 row" in message and "已在 partition 1 row 6 中给出" in message
    assert pd.isna(bad["rank"].tolist()[0])
    assert got["rank"].notna().sum() == 2999


def test_parquet_partitioned_by_group_reads_back(client: Any, tmp_path: Path) -> None:
    path = _many_units(tmp_path / "many.csv", 1000)
    out = tmp_path / "out"
    score_dask(RULES, _read(path, 2)).to_parquet(out, partition_on=["group"])
    groups = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert groups and all(g.startswith("group=") for g in groups)
    import pyarrow.parquet as pq

    back = pq.read_table(out)
    assert back.num_rows == 1000 and back.column("total").null_count == 0
    assert str(back.schema.field("total").type) == "decimal128(12, 2)"


def test_the_rulebook_travels_as_its_checked_bytes(tmp_path: Path) -> None:
    from fulian_eval.dask import rulebook_chain

    copy = tmp_path / "rb.toml"
    shutil.copy(RULES, copy)
    rb = fe.load_rulebook(copy)
    chain = rulebook_chain(rb)
    assert chain == [(str(copy), copy.read_bytes())]
    copy.write_text(copy.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    with pytest.raises(fe.RulebookError, match="changed"):
        rulebook_chain(rb)
