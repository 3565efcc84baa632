"""Explanation tables on sample quarters: every change classed, summary counts, the override case, history, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq
import pytest

from assets.explain import CHANGES, DISTANCE, DRIVERS, explanation_tables
from assets.settings import NpafSettings
from npaf_pipeline import cli, inputs
from npaf_pipeline.engine import run
from npaf_pipeline.explain.changes import CLASSES, national_summary
from npaf_pipeline.explain.checks import contribution_gaps, run_mismatches, what_if_mismatches
from npaf_pipeline.explain.snapshot import read_manifest, read_quarter
from npaf_pipeline.explain.whatif import full, hold_population, load_quarter
from npaf_pipeline.publish import publish_quarters
from npaf_pipeline.sample import generate
from npaf_pipeline.sources import registry

QUARTERS = ["2025-26 Q1", "2025-26 Q2", "2025-26 Q3"]
SEED = 7


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory, rs):
    landing = tmp_path_factory.mktemp("explain-sample") / "landing"
    generate(landing, len(QUARTERS), SEED)
    sources = [s for s in registry.VALUE_SOURCES if s != "nof_dashboard"]
    results = {s: registry.reader(s)(registry.source_files(landing, s), QUARTERS) for s in sources}
    values, _ = registry.merge_values({s: r.values for s, r in results.items()})
    orgs, _, _ = inputs.organisation_inputs(landing, QUARTERS, rs)
    flags, _, _ = inputs.flag_inputs(landing, QUARTERS)
    return values, orgs, flags


def _with_override_moves(values, orgs, flags, rs) -> tuple[pl.DataFrame, str, str]:
    """Flags changed so one trust gains the override in Q2 and another loses it, both with a steady score segment
    of 1 or 2: their adjusted segment then moves because of the override alone."""
    seg = run(values, orgs, rs, flags, with_ranges=False).segmentation
    wide = seg.filter(pl.col("quarter").is_in(QUARTERS[:2])).pivot(
        on="quarter", index="org_code", values="unadjusted_segment"
    )
    steady = (
        wide.filter((pl.col(QUARTERS[0]) == pl.col(QUARTERS[1])) & (pl.col(QUARTERS[0]) <= 2))["org_code"]
        .sort()
        .to_list()
    )
    support = flags.filter(pl.col("intensive_support").fill_null(False))["org_code"].to_list()
    steady = [c for c in steady if c not in support]
    assert len(steady) >= 2, "the sample needs two trusts in segments 1-2 in both quarters"
    gains, loses = steady[0], steady[1]
    setting = {(QUARTERS[0], gains): False, (QUARTERS[1], gains): True}
    setting |= {(QUARTERS[0], loses): True, (QUARTERS[1], loses): False}
    rows = [(q, c, v) for (q, c), v in setting.items()]
    forced = pl.DataFrame(rows, schema={"quarter": pl.String, "org_code": pl.String, "_f": pl.Boolean}, orient="row")
    new = flags.join(forced, on=["quarter", "org_code"], how="left").with_columns(
        pl.coalesce("_f", "financial_override").alias("financial_override")
    )
    return new.drop("_f"), gains, loses


@pytest.fixture(scope="module")
def published(sample, rs, tmp_path_factory: pytest.TempPathFactory):
    values, orgs, flags = sample
    flags, gains, loses = _with_override_moves(values, orgs, flags, rs)
    result = run(values, orgs, rs, flags)
    out = tmp_path_factory.mktemp("explain-out") / "output"
    publish_quarters(result, orgs, values, rs, out, acceptance=False)
    return out, result, (values, orgs, flags), gains, loses


def _table(out: Path, name: str) -> pl.DataFrame:
    return pl.concat([f for q in QUARTERS if (f := read_quarter(out, name, q)) is not None], how="diagonal_relaxed")


def test_every_change_has_a_class_and_the_summary_counts_the_rows(published) -> None:
    out = published[0]
    changes = _table(out, "segment_changes")
    assert set(changes["quarter_label"]) == set(QUARTERS[1:])  # Q1 has no previous quarter
    changed = changes.filter(pl.col("segment_changed"))
    assert changed.height > 0
    assert changed["change_class"].is_in(CLASSES).all()
    assert set(changes["cause"]) <= {"own_score", "cut_points", "override", "system", "segment_5", "none"}
    assert changes.filter(~pl.col("segment_changed") & (pl.col("cause") != "segment_5"))["cause"].eq("none").all()
    summary = national_summary(changes)
    for q in QUARTERS[1:]:
        rows = changed.filter(pl.col("quarter_label") == q)
        every = summary.filter((pl.col("quarter_label") == q) & (pl.col("org_type") == "all")).row(0, named=True)
        assert every["changed"] == rows.height
        for cls in CLASSES:
            assert every[cls] == rows.filter(pl.col("change_class") == cls).height, cls
        assert every["override"] + every["significant"] + every["not_significant"] == every["changed"]
        unchanged_significant = changes.filter(
            (pl.col("quarter_label") == q) & ~pl.col("segment_changed") & (pl.col("change_class") == "significant")
        )
        assert every["significant_without_segment_change"] == unchanged_significant.height
        by_type = summary.filter((pl.col("quarter_label") == q) & (pl.col("org_type") != "all"))
        assert by_type["changed"].sum() == every["changed"]
        # the manifest carries the same summary
        manifest = read_manifest(out, q)["segment_changes_summary"]
        assert {m["org_type"]: m["changed"] for m in manifest} == dict(
            summary.filter(pl.col("quarter_label") == q).select("org_type", "changed").iter_rows()
        )


def test_a_change_caused_only_by_the_override_is_classed_override(published) -> None:
    out, _, _, gains, loses = published
    changes = read_quarter(out, "segment_changes", QUARTERS[1])
    gained = changes.filter(pl.col("org_code") == gains).row(0, named=True)
    assert gained["segment_changed"] and gained["segment"] == 3 and gained["previous_segment"] <= 2
    assert (gained["cause"], gained["change_class"]) == ("override", "override")
    lost = changes.filter(pl.col("org_code") == loses).row(0, named=True)
    assert lost["segment_changed"] and lost["previous_segment"] == 3 and lost["segment"] <= 2
    assert (lost["cause"], lost["change_class"]) == ("override", "override")
    summary = national_summary(changes)
    every = summary.filter(pl.col("org_type") == "all").row(0, named=True)
    assert every["override_up"] >= 1 and every["override_down"] >= 1


def test_cause_own_score_and_cut_points_follow_last_quarters_cut_points(published) -> None:
    changes = _table(published[0], "segment_changes").filter(
        pl.col("segment_changed") & pl.col("cause").is_in(["own_score", "cut_points"])
    )
    assert changes.height > 0
    own = changes.filter(pl.col("cause") == "own_score")
    assert (own["segment_at_previous_cutpoints"] != own["previous_unadjusted_segment"]).all()
    cuts = changes.filter(pl.col("cause") == "cut_points")
    assert (cuts["segment_at_previous_cutpoints"] == cuts["previous_unadjusted_segment"]).all()


def test_item_contributions_add_up_to_the_change_and_drivers_to_the_average(published) -> None:
    out = published[0]
    changes = _table(out, "segment_changes")
    items = _table(out, "segment_change_items")
    sums = items.group_by("quarter_label", "org_code").agg(pl.col("contribution_change").sum().alias("s"))
    joined = changes.join(sums, on=["quarter_label", "org_code"], how="left")
    assert ((joined["s"] - joined["average_change"]).abs() < 1e-9).all()
    assert contribution_gaps(_table(out, "organisation_segmentation"), _table(out, "segment_explanation")).is_empty()


def test_publishing_one_quarter_at_a_time_gives_the_same_changes(published, rs, tmp_path: Path) -> None:
    _, _, (values, orgs, flags), _, _ = published
    out = tmp_path / "one-by-one"
    for q in QUARTERS:
        part = values.filter(pl.col("quarter") == q)
        one = run(part, orgs.filter(pl.col("quarter") == q), rs, flags.filter(pl.col("quarter") == q))
        publish_quarters(one, orgs.filter(pl.col("quarter") == q), part, rs, out, acceptance=False)
    for q in QUARTERS[1:]:
        for table in ("segment_changes", "segment_change_items"):
            assert read_quarter(out, table, q).equals(read_quarter(published[0], table, q)), (q, table)


def test_what_if_of_unchanged_values_reproduces_the_snapshot(published) -> None:
    out = published[0]
    for q in QUARTERS:
        assert what_if_mismatches(out, q).is_empty(), q
    assert run_mismatches(out, QUARTERS).is_empty()  # the Dagster check: every quarter in one engine run
    inputs = load_quarter(out, QUARTERS[-1])
    org = inputs.org_seg.filter(pl.col("unadjusted_segment") > 1)["org_code"][0]
    held = hold_population(inputs, org, {})
    row = inputs.org_seg.filter(pl.col("org_code") == org).row(0, named=True)
    assert (held.average_score, held.adjusted_segment, held.rank) == (
        row["average_score"],
        row["adjusted_segment"],
        row["amr_rank"],
    )


def test_a_full_what_if_moves_other_organisations_and_never_writes(published) -> None:
    out = published[0]
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    inputs = load_quarter(out, QUARTERS[-1])
    dist = read_quarter(out, "segment_distance", QUARTERS[-1]).filter(pl.col("can_close_alone").fill_null(False))
    r = dist.filter(pl.col("metric_id") != "OF0079").row(0, named=True)
    outcome = full(inputs, r["org_code"], {r["metric_id"]: r["value_for_better"]})
    assert outcome.movers.filter(pl.col("org_code") != r["org_code"]).height > 0  # rank-based scores move
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_npaf_explain_and_what_if_commands(published, capsys) -> None:
    out = published[0]
    changes = read_quarter(out, "segment_changes", QUARTERS[-1])
    moved = changes.filter(pl.col("segment_changed")).row(0, named=True)
    assert cli.main(["explain", moved["org_code"], "--snapshot", str(out)]) == 0
    page = capsys.readouterr().out
    assert moved["org_code"] in page and f"Since {QUARTERS[1]}: segment {moved['previous_segment']} ->" in page
    assert moved["change_class"].replace("_", " ") in page
    code = "ZZ9"
    assert cli.main(["explain", code, "--snapshot", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"no organisation '{code}'" in err[0] and "closest:" in err[0]
    assert cli.main(["explain", moved["org_code"], "--quarter", "2030-31 Q1", "--snapshot", str(out)]) == 2
    assert "closest: " in capsys.readouterr().err

    dist = read_quarter(out, "segment_distance", QUARTERS[-1]).filter(pl.col("can_close_alone").fill_null(False))
    r = dist.row(0, named=True)
    setting = f"{r['metric_id']}={r['value_for_better']}"
    args = ["what-if", "--org", r["org_code"], "--set", setting, "--snapshot", str(out), "--hold-population"]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert f"unadjusted segment │ {r['unadjusted_segment']} -> {r['segment_reached']}" in text
    assert cli.main(args[:-1]) == 0
    assert "Other organisations:" in capsys.readouterr().out
    with pytest.raises(SystemExit) as bad:
        cli.main(["what-if", "--org", r["org_code"], "--set", "OF0013", "--snapshot", str(out)])
    assert bad.value.code == 2 and "expected METRIC=VALUE" in capsys.readouterr().err


def test_dagster_assets_check_the_published_tables(published, tmp_path: Path) -> None:
    out = published[0]
    settings = NpafSettings(landing_dir=str(tmp_path), output_dir=str(out), state_dir=str(tmp_path / "state"))
    result = dg.materialize(
        [explanation_tables],
        tags={"dagster/asset_partition_range_start": "2025-04", "dagster/asset_partition_range_end": "2025-10"},
        resources={"npaf": settings},
        instance=dg.DagsterInstance.ephemeral(),
    )  # one run over the three quarters, as a backfill runs them
    assert result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"contributions_add_up": True, "what_if_reproduces_published": True, "every_change_classed": True}
    events = {(e.asset_key, e.partition): e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert set(events) == {(k, p) for k in (DRIVERS, DISTANCE, CHANGES) for p in ("2025-04", "2025-07", "2025-10")}
    for key, label in zip(("2025-04", "2025-07", "2025-10"), QUARTERS, strict=True):
        changes = read_quarter(out, "segment_changes", label)
        n = changes.height if changes is not None else 0  # none in the first quarter: it has no previous one
        meta = events[(CHANGES, key)]  # each partition describes its own quarter only
        assert meta["quarter"].value == label
        assert meta["rows"].value == n
        summary = meta["national_change_summary"].value.records
        assert {r.data["quarter_label"] for r in summary} == ({label} if n else set())
        if changes is not None and n:
            rows = {r.data["org_type"]: r.data for r in summary}
            assert int(rows["all"]["changed"]) == changes["segment_changed"].sum()
        drivers = read_quarter(out, "segment_explanation", label)
        assert events[(DRIVERS, key)]["rows"].value == drivers.height
    manifest = json.loads((out / "manifests" / "fy=2025-26" / "quarter=Q2" / "manifest.json").read_text())
    assert "segment_changes" in manifest["tables"] and "segment_changes_summary" in manifest


def test_the_rerun_check_names_a_published_rank_the_engine_does_not_reproduce(published, tmp_path: Path) -> None:
    out = tmp_path / "output"
    shutil.copytree(published[0], out, symlinks=True)
    part = next((out / "current" / "organisation_segmentation").rglob("quarter=Q2/*.parquet"))
    table = pq.read_table(part)
    frame = pl.from_arrow(table)
    org = frame.filter(pl.col("amr_rank").is_not_null())["org_code"][0]
    frame = frame.with_columns(
        pl.when(pl.col("org_code") == org).then(pl.col("amr_rank") + 1).otherwise(pl.col("amr_rank")).alias("amr_rank")
    )
    pq.write_table(frame.to_arrow().cast(table.schema), part)
    found = run_mismatches(out, QUARTERS)
    assert found.select("quarter", "org_code").rows() == [(QUARTERS[1], org)]
    assert found["published_rank"][0] == found["amr_rank"][0] + 1
