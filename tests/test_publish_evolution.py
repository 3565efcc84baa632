"""A column added in a later contract version must not break reading quarters written before it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from npaf_pipeline.publish import publish_quarters
from npaf_pipeline.publish.catalog import build_catalog
from npaf_pipeline.publish.parquet import conform, kv_metadata, to_arrow, write_parquet
from npaf_pipeline.publish.tables import build_tables
from schemas.published import MetricScores, field
from tests.test_publish_tables import Q1, Q2, synthetic_run


class MetricScoresNext(MetricScores):
    """MetricScores as a later contract version might extend it."""

    contribution: float = field("share of the average the score contributes", "score points", 0.12, nullable=True)


def _publish_two_versions(out: Path) -> None:
    publish_quarters(*synthetic_run((Q1,)), out)
    result, orgs, values, rs = synthetic_run((Q2,), shift=0.2)
    frame = build_tables(result, orgs, values, rs)["metric_scores"]
    frame = frame.with_columns((frame["score"] / 10).alias("contribution"))
    table = to_arrow(conform(frame, MetricScoresNext), MetricScoresNext, kv_metadata(schema_version="1.1.0"))
    write_parquet(table, out / "metric_scores" / "fy=2025-26" / "quarter=Q2" / "part-0.parquet")
    build_catalog(out, ["metric_scores"])


def test_duckdb_union_by_name_reads_old_and_new_quarters(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish_two_versions(out)
    con = duckdb.connect(str(out / "npaf.duckdb"), read_only=True)
    try:
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE metric_scores)").fetchall())
        counts = con.execute(
            "SELECT quarter, count(*), count(contribution), typeof(any_value(score)) "
            "FROM metric_scores GROUP BY quarter ORDER BY quarter"
        ).fetchall()
        latest = con.execute("SELECT DISTINCT quarter FROM latest_metric_scores").fetchall()
    finally:
        con.close()
    assert types["contribution"] == "DOUBLE" and types["score"] == "DOUBLE" and types["metric_rank"] == "BIGINT"
    (q1, n1, c1, t1), (q2, n2, c2, t2) = counts
    assert (q1, c1, t1) == ("Q1", 0, "DOUBLE") and n1 > 0
    assert (q2, c2, t2) == ("Q2", n2, "DOUBLE") and n2 > 0
    assert latest == [("Q2",)]


def test_pyarrow_dataset_with_unified_schema_reads_both(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish_two_versions(out)
    files = sorted((out / "metric_scores").rglob("*.parquet"))
    old, new = (pq.read_schema(f) for f in files)
    assert old.names == new.names[:-1] and all(old.field(n).type == new.field(n).type for n in old.names)
    unified = pa.unify_schemas([old, new])
    table = ds.dataset(out / "metric_scores", format="parquet", schema=unified).to_table()  # fy, quarter in files
    rows = table.select(["quarter", "contribution"]).to_pylist()
    assert {r["quarter"] for r in rows} == {"Q1", "Q2"}
    assert all((r["contribution"] is None) == (r["quarter"] == "Q1") for r in rows)
