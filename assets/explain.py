"""Explanation tables: drivers, distance to the next segment and quarter-on-quarter changes.

They are published with every other table of the quarter (``published_snapshot``); these assets read them back
from the snapshot, check them, and show the national change summary per quarter.
"""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from assets.checks import of_quarter, per_quarter, table_metadata
from assets.ingest import OWNERS
from assets.partitions import labels_of, quarterly
from assets.settings import NpafSettings
from npaf_pipeline.explain.changes import national_summary
from npaf_pipeline.explain.checks import contribution_gaps, run_mismatches, unclassed_changes
from npaf_pipeline.explain.snapshot import read_quarter

DRIVERS = dg.AssetKey(["explain", "segment_explanation"])
DISTANCE = dg.AssetKey(["explain", "segment_distance"])
CHANGES = dg.AssetKey(["explain", "segment_changes"])


def _spec(key: dg.AssetKey, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key,
        group_name="publish",
        kinds={"parquet"},
        owners=OWNERS,
        deps=["published_snapshot"],
        description=description,
    )


@dg.multi_asset(
    specs=[
        _spec(DRIVERS, "Each scored item's share of the average and its pull (published table segment_explanation)."),
        _spec(
            DISTANCE,
            "Score points to the neighbouring segments and the value each metric alone needs for the next better "
            "segment, first order (published table segment_distance).",
        ),
        _spec(
            CHANGES,
            "Quarter-on-quarter moves with cause and significance class, and the per-item contributions to the "
            "change (published tables segment_changes and segment_change_items).",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec("contributions_add_up", asset=DRIVERS, description="drivers add up to the average (1e-9)"),
        dg.AssetCheckSpec(
            "what_if_reproduces_published",
            asset=DISTANCE,
            description="each quarter re-run from the snapshot with no change gives the published segments and ranks",
        ),
        dg.AssetCheckSpec("every_change_classed", asset=CHANGES, description="every changed segment has a class"),
    ],
    partitions_def=quarterly,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def explanation_tables(context: dg.AssetExecutionContext, npaf: NpafSettings) -> Iterator[object]:
    quarters = labels_of(context.partition_keys)
    out = npaf.output

    def read(table: str) -> pl.DataFrame:
        parts = [f for q in quarters if (f := read_quarter(out, table, q)) is not None]
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()

    org_seg, drivers = read("organisation_segmentation"), read("segment_explanation")
    distance, changes = read("segment_distance"), read("segment_changes")
    gaps = contribution_gaps(org_seg, drivers) if drivers.height else org_seg.head(0)
    # a quarter of the run with no data is not in the snapshot: there is nothing of it to re-run
    published = set(org_seg["quarter_label"].to_list()) if org_seg.height else set()
    mismatches = run_mismatches(out, [q for q in quarters if q in published])  # one engine run for the run's quarters
    unclassed = unclassed_changes(changes) if changes.height else changes
    summary = national_summary(changes) if changes.height else pl.DataFrame()

    def rows_of(frame: pl.DataFrame, q: str) -> dict[str, object]:
        rows = of_quarter(frame, q)
        return {"rows": rows.height, "preview": table_metadata(rows, 10)}

    def distance_of(q: str) -> dict[str, object]:
        rows = of_quarter(distance, q)
        can = rows.filter(pl.col("can_close_alone").fill_null(False)).height if rows.height else 0
        return {**rows_of(rows, q), "metrics_that_can_close_alone": can}

    per_quarter(context, lambda q: rows_of(drivers, q), asset_key=DRIVERS)
    per_quarter(context, distance_of, asset_key=DISTANCE)
    per_quarter(
        context,
        lambda q: {
            "rows": of_quarter(changes, q).height,
            "national_change_summary": table_metadata(of_quarter(summary, q)),
        },
        asset_key=CHANGES,
    )
    yield dg.MaterializeResult(asset_key=DRIVERS)
    yield dg.AssetCheckResult(
        asset_key=DRIVERS,
        check_name="contributions_add_up",
        passed=gaps.height == 0,
        metadata={"organisations_off": gaps.height, "failures": table_metadata(gaps)},
    )
    yield dg.MaterializeResult(asset_key=DISTANCE)
    yield dg.AssetCheckResult(
        asset_key=DISTANCE,
        check_name="what_if_reproduces_published",
        passed=mismatches.height == 0,
        metadata={"mismatches": mismatches.height, "failures": table_metadata(mismatches)},
    )
    yield dg.MaterializeResult(asset_key=CHANGES)
    yield dg.AssetCheckResult(
        asset_key=CHANGES,
        check_name="every_change_classed",
        passed=unclassed.height == 0,
        metadata={"unclassed": unclassed.height, "failures": table_metadata(unclassed)},
    )
