"""A published snapshot as BI tools see it: layout, types in four readers, encoding, metadata, manifest, reruns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import npaf_pipeline
from npaf_pipeline.publish import publish_quarters
from schemas.published import SCHEMA_VERSION, published_models
from tests.snapshot_view import visible_files
from tests.test_publish_tables import Q1, Q2, sha256_of, synthetic_quarantine, synthetic_run, write_inputs

TABLES = list(published_models([]))
CHANGE_TABLES = {"segment_changes", "segment_change_items"}
# declared pandera dtype -> what each reader must report
ARROW = {"String": pa.string(), "Int64": pa.int64(), "Float64": pa.float64(), "Boolean": pa.bool_()}
POLARS = {"String": "String", "Int64": "Int64", "Float64": "Float64", "Boolean": "Boolean"}
PANDAS = {"String": "string", "Int64": "Int64", "Float64": "Float64", "Boolean": "boolean"}
DUCKDB = {"String": "VARCHAR", "Int64": "BIGINT", "Float64": "DOUBLE", "Boolean": "BOOLEAN"}
# the partition columns: typed as pyarrow types a Hive folder name, so folders merge with the files' own columns
PARTITIONS = ("fy", "quarter")
PARTITION_ARROW = pa.dictionary(pa.int32(), pa.string())
CHECKS = [{"name": "rows accounted", "passed": True}, {"name": "q2 only", "passed": False, "quarter": Q2}]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("published")
    result, orgs, values, rs = synthetic_run((Q1, Q2))
    inputs = write_inputs(base / "landing")
    report = publish_quarters(
        result, orgs, values, rs, base / "out", quarantine=synthetic_quarantine(), inputs=inputs, checks=CHECKS
    )
    models = published_models([(d.id, d.name) for d in rs.domains])
    return {"out": base / "out", "report": report, "models": models, "inputs": inputs, "rs": rs, "run": result}


def _part(out: Path, table: str, q: str = "Q1") -> Path:
    return out / table / "fy=2025-26" / f"quarter={q}" / "part-0.parquet"


def _declared(published: dict, table: str) -> dict[str, str]:
    return {n: str(c.dtype) for n, c in published["models"][table].to_schema().columns.items()}


def test_layout_is_hive_partitioned_with_partition_values_inside(published: dict) -> None:
    out = published["out"]
    for table in TABLES:
        for q in ("Q1", "Q2"):
            frame = pq.read_table(_part(out, table, q), columns=["fy", "quarter", "quarter_label"]).to_pylist()
            assert all(r == {"fy": "2025-26", "quarter": q, "quarter_label": f"2025-26 {q}"} for r in frame), table
    assert (out / "manifests" / "fy=2025-26" / "quarter=Q2" / "manifest.json").is_file()
    assert (out / "datapackage.json").is_file() and (out / "npaf.duckdb").is_file()
    # every reader path resolves into the current snapshot, the Data Docs included
    snapshot = (out / "current").resolve()
    for name in [*TABLES, "manifests", "data-docs", "datapackage.json", "npaf.duckdb"]:
        assert (out / name).is_symlink() and (out / name).resolve().parent == snapshot, name
    assert (out / "data-docs" / "index.html").is_file()  # one Data Docs site for the publish
    assert not [p for p in out.rglob("*") if " " in p.name]


@pytest.mark.parametrize("table", TABLES)
def test_every_reader_opens_the_whole_folder_with_the_declared_types(published: dict, table: str) -> None:
    """Each reader, given only the table folder and no options, sees every quarter with the declared types."""
    out, declared = published["out"], _declared(published, table)
    folder, pattern = out / table, (out / table / "**" / "*.parquet").as_posix()
    nullable = {n: c.nullable for n, c in published["models"][table].to_schema().columns.items()}
    q = published["report"]["quarters"]
    rows = q[Q1]["tables"][table]["rows"] + q[Q2]["tables"][table]["rows"]

    arrow = pq.read_table(folder)
    in_file = pq.read_schema(_part(out, table))
    assert arrow.schema.names == list(declared) and arrow.num_rows == rows
    for name, dtype in declared.items():
        expected = PARTITION_ARROW if name in PARTITIONS else ARROW[dtype]
        assert arrow.schema.field(name).type == expected == in_file.field(name).type, name
        assert in_file.field(name).nullable == nullable[name], name  # a folder name is always nullable to pyarrow

    frame = pl.scan_parquet(pattern, hive_partitioning=True).collect()
    expected_polars = {n: "Categorical" if n in PARTITIONS else POLARS[t] for n, t in declared.items()}
    assert {n: str(t) for n, t in frame.schema.items()} == expected_polars

    pdf = pd.read_parquet(folder, dtype_backend="numpy_nullable")
    expected_pandas = {n: "category" if n in PARTITIONS else PANDAS[t] for n, t in declared.items()}
    assert {n: str(t) for n, t in pdf.dtypes.items()} == expected_pandas

    with duckdb.connect(str(out / "npaf.duckdb"), read_only=True) as con:
        described = dict(con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "{table}")').fetchall())
        direct = con.sql(f"SELECT * FROM read_parquet('{pattern}', hive_partitioning = true)").to_arrow_table()
        view = con.sql(f'SELECT * FROM "{table}"').to_arrow_table()
    assert described == {n: DUCKDB[t] for n, t in declared.items()}

    # the same values everywhere, partition columns included
    reference = _rows(arrow)
    assert len(reference) == rows
    # the change tables hold a quarter only where the snapshot has its previous quarter
    quarters = {("2025-26", "Q2")} if table in CHANGE_TABLES else {("2025-26", "Q1"), ("2025-26", "Q2")}
    assert {(r[0], r[1]) for r in reference} == (quarters if rows else set())
    assert _rows(frame.to_arrow()) == reference
    assert _rows(pa.Table.from_pandas(pdf, preserve_index=False)) == reference
    assert _rows(direct) == reference
    assert _rows(view) == reference


def _rows(table: pa.Table) -> list[tuple]:
    """Rows as plain tuples (dictionary and categorical cells as their values; NaN as None), in sorted order."""
    columns = [c.to_pylist() for c in table.columns]
    plain = [tuple(None if v != v else v for v in row) for row in zip(*columns, strict=True)]
    return sorted(plain, key=repr)


def test_tables_are_not_empty_where_the_run_has_data(published: dict) -> None:
    q1 = published["report"]["quarters"][Q1]["tables"]
    assert q1["organisation_segmentation"]["rows"] == 12
    assert q1["league_table"]["rows"] == 12
    assert q1["quarantine_summary"]["rows"] == 2
    assert q1["run_manifest"]["rows"] == 2
    assert q1["metric_scores"]["rows"] == published["run"].metric_scores.filter(pl.col("quarter") == Q1).height


def test_zstd_dictionary_strings_and_sorted_rows(published: dict) -> None:
    out = published["out"]
    for table in ("organisation_segmentation", "metric_scores", "metric_values"):
        pf = pq.ParquetFile(_part(out, table))
        rg = pf.metadata.row_group(0)
        for i in range(rg.num_columns):
            col = rg.column(i)
            assert col.compression == "ZSTD", (table, col.path_in_schema)
            if pf.schema_arrow.field(col.path_in_schema).type == pa.string():
                assert "RLE_DICTIONARY" in col.encodings or "PLAIN_DICTIONARY" in col.encodings
        rows = pf.read().to_pylist()
        keys = [(r["org_code"], r.get("metric_id") or "") for r in rows]
        assert keys == sorted(keys), table


def test_key_value_metadata_names_rule_set_code_and_contract(published: dict) -> None:
    meta = pq.read_schema(_part(published["out"], "metric_scores")).metadata
    assert meta[b"npaf.rule_set_id"] == b"nof-2025-26"
    assert meta[b"npaf.rule_set_version"] == published["rs"].version.encode()
    assert meta[b"npaf.code_version"] == npaf_pipeline.__version__.encode()
    assert meta[b"npaf.schema_version"] == SCHEMA_VERSION.encode()
    assert json.loads(meta[b"npaf.primary_key"]) == ["fy", "quarter", "org_code", "metric_id"]
    field = pq.read_schema(_part(published["out"], "metric_scores")).field("score")
    assert field.metadata[b"unit"].startswith(b"score")


def test_manifest_lists_inputs_row_counts_and_checks(published: dict) -> None:
    out = published["out"]
    for label, q in ((Q1, "Q1"), (Q2, "Q2")):
        manifest = json.loads((out / "manifests" / "fy=2025-26" / f"quarter={q}" / "manifest.json").read_text())
        assert {i["file"]: i["sha256"] for i in manifest["inputs"]} == {
            p.name: sha256_of(p) for p in published["inputs"]
        }
        assert manifest["rule_set"]["id"] == "nof-2025-26" and manifest["code_version"] == npaf_pipeline.__version__
        assert manifest["quarter"]["label"] == label and "generated_at" not in manifest
        for table in TABLES:
            entry = manifest["tables"][table]
            assert entry["rows"] == pq.read_metadata(out / entry["path"]).num_rows
            assert entry["sha256"] == sha256_of(out / entry["path"])
        names = [c["name"] for c in manifest["checks"]]
        assert names == (
            ["rows accounted", "acceptance_suite"] if q == "Q1" else ["rows accounted", "q2 only", "acceptance_suite"]
        )
        assert all(c["passed"] for c in manifest["checks"] if c["name"] == "acceptance_suite")


def test_datapackage_describes_every_table_from_the_models(published: dict) -> None:
    package = json.loads((published["out"] / "datapackage.json").read_text())
    assert package["version"] == SCHEMA_VERSION
    resources = {r["name"]: r for r in package["resources"]}
    assert set(resources) == set(TABLES)
    for name, res in resources.items():
        model = published["models"][name].to_schema()
        assert [f["name"] for f in res["schema"]["fields"]] == list(model.columns)
        assert res["schema"]["primaryKey"] == list(model.unique)
        assert all((published["out"] / p).is_file() for p in res["path"]) and len(res["path"]) == 2
        assert all(f["description"] and f["unit"] for f in res["schema"]["fields"])


def test_catalog_latest_views_hold_the_newest_quarter(published: dict) -> None:
    con = duckdb.connect(str(published["out"] / "npaf.duckdb"), read_only=True)
    try:
        quarters = con.execute("SELECT DISTINCT quarter_label FROM latest_organisation_segmentation").fetchall()
        by_quarter = con.execute(
            "SELECT quarter, final_segment, count(*) FROM organisation_segmentation GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    assert quarters == [(Q2,)]
    assert sum(n for _, _, n in by_quarter) == 24


def test_pyarrow_dataset_reads_all_quarters(published: dict) -> None:
    folder = published["out"] / "league_table"
    plain = ds.dataset(folder, format="parquet").to_table()  # fy and quarter come from inside the files
    hive = ds.dataset(folder, format="parquet", partitioning=ds.HivePartitioning.discover(infer_dictionary=True))
    for table in (plain, hive.to_table()):
        assert table.num_rows == 24 and set(table.column("quarter").to_pylist()) == {"Q1", "Q2"}


def _data_files(out: Path) -> dict[str, bytes]:
    """Parquet files, manifests and the data package as readers reach them (the catalog names its folder)."""
    return visible_files(out, skip=("data-docs", "npaf.duckdb"))


def test_rerun_writes_identical_bytes(published: dict, tmp_path: Path) -> None:
    result, orgs, values, rs = synthetic_run((Q1, Q2))
    before = _data_files(published["out"])
    catalog = (published["out"] / "npaf.duckdb").read_bytes()
    for out in (published["out"], tmp_path / "elsewhere"):
        publish_quarters(
            result, orgs, values, rs, out, quarantine=synthetic_quarantine(), inputs=published["inputs"], checks=CHECKS
        )
        assert _data_files(out) == before and len(before) == 2 * len(TABLES) + 3
    assert (published["out"] / "npaf.duckdb").read_bytes() == catalog  # same data, same folder: same snapshot
    assert not (published["out"] / ".staging").exists()


def test_run_time_goes_to_the_manifest_only(published: dict, tmp_path: Path) -> None:
    result, orgs, values, rs = synthetic_run((Q1, Q2))
    out = tmp_path / "timed"
    publish_quarters(
        result, orgs, values, rs, out, synthetic_quarantine(), published["inputs"], CHECKS, generated_at="2026-01-02"
    )
    timed, plain = _data_files(out), _data_files(published["out"])
    assert {k: v for k, v in timed.items() if k.endswith(".parquet")} == {
        k: v for k, v in plain.items() if k.endswith(".parquet")
    }
    manifest = json.loads((out / "manifests" / "fy=2025-26" / "quarter=Q1" / "manifest.json").read_text())
    assert manifest["generated_at"] == "2026-01-02"


def test_publishing_one_quarter_leaves_the_others_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish_quarters(*synthetic_run((Q1,)), out)
    q1_bytes = _part(out, "metric_scores").read_bytes()
    publish_quarters(*synthetic_run((Q2,), shift=0.3), out)
    assert _part(out, "metric_scores").read_bytes() == q1_bytes
    con = duckdb.connect(str(out / "npaf.duckdb"), read_only=True)
    try:
        labels = con.execute("SELECT DISTINCT quarter_label FROM metric_scores ORDER BY 1").fetchall()
    finally:
        con.close()
    assert labels == [(Q1,), (Q2,)]


def test_whole_folders_read_with_no_options(published: dict) -> None:
    out = published["out"]
    frame = pl.read_parquet(out / "league_table" / "**" / "*.parquet")
    assert frame.height == 24 and frame.schema["fy"] == pl.Categorical and frame.schema["rank"] == pl.Int64
    pdf = pd.read_parquet(out / "league_table")
    assert len(pdf) == 24 and set(pdf["quarter"].astype(str)) == {"Q1", "Q2"}
    quarters = published["report"]["quarters"].values()
    assert pq.read_table(out / "metric_values").num_rows == sum(q["tables"]["metric_values"]["rows"] for q in quarters)


def test_documented_queries_run_against_the_catalog(published: dict) -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "outputs.md").read_text(encoding="utf-8")
    queries = re.findall(r"```sql\n(.*?)```", docs, re.DOTALL)
    assert len(queries) >= 4
    con = duckdb.connect(str(published["out"] / "npaf.duckdb"), read_only=True)
    try:
        for sql in queries:
            rows = con.execute(sql.replace("'output/", f"'{published['out'].as_posix()}/")).fetchall()
            assert rows or "'R0A'" in sql, sql
    finally:
        con.close()


def test_the_report_says_where_the_publish_spent_its_time_and_the_files_never_do(published: dict) -> None:
    seconds = published["report"]["seconds"]
    stages = {"tables", "explanation_tables", "write", "catalog_and_commit", "acceptance data_docs"}
    assert stages | {f"acceptance {t}" for t in TABLES} == set(seconds)
    assert all(v >= 0 for v in seconds.values()) and seconds["explanation_tables"] > 0
    # timings vary run to run: nothing written into the snapshot may carry them
    for rel, data in visible_files(published["out"]).items():
        if rel.endswith(".json"):
            assert b'"seconds"' not in data and b"catalog_and_commit" not in data, rel
