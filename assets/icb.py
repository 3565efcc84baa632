"""ICB assessment: ICB-level metric values and the system-consideration tests (rule sets that segment ICBs)."""

from pathlib import Path

import dagster as dg
import polars as pl

from assets.checks import contract_check, schema_metadata, table_metadata
from assets.ingest import OWNERS
from assets.partitions import labels_of, quarterly
from assets.settings import NpafSettings
from npaf_pipeline import inputs
from npaf_pipeline.engine.descriptions import attach_segment_descriptions
from npaf_pipeline.icb import assess_system
from npaf_pipeline.icb.aggregate import aggregate_to_icb
from npaf_pipeline.icb.defaults import defaults_in_use
from npaf_pipeline.icb.leadership import COLUMNS as CAPABILITY_COLUMNS
from npaf_pipeline.icb.leadership import beside_segments
from npaf_pipeline.icb.system_tests import EVIDENCE_SCHEMA, MONTHLY_SCHEMA
from npaf_pipeline.ruleset import RuleSet, load_ruleset
from npaf_pipeline.sources import canonical, registry
from npaf_pipeline.sources.base import quarantined_rows
from schemas.canonical import empty_metric_values, empty_quarantine

COMMON = {
    "partitions_def": quarterly,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "owners": OWNERS,
    "io_manager_key": "tables_io_manager",
}
TESTS_SCHEMA = {"quarter": pl.String, "org_code": pl.String, "test_id": pl.String, "failed": pl.Boolean}


@dg.asset(
    group_name="ingest",
    kinds={"polars", "pandera"},
    check_specs=[
        dg.AssetCheckSpec(
            "pandera_contract",
            asset="ingest_icb_values",
            blocking=True,
            description="Every row read is accepted or quarantined; a quarantined row or a broken count fails it.",
        )
    ],
    description=(
        "ICB-level metric values in <landing>/icb_values/ (canonical format), read only when the rule set "
        "segments ICBs: the ICB metrics' values and the inputs of ICB-level system tests (e.g. OF0291)."
    ),
    **COMMON,
)
def ingest_icb_values(context: dg.AssetExecutionContext, npaf: NpafSettings):
    rs = load_ruleset(npaf.framework)
    quarters = labels_of(context.partition_keys)
    files = registry.source_files(npaf.landing, inputs.ICB_VALUES_SOURCE) if inputs.segments_icbs(rs) else []
    if files:
        result = canonical.read(files, quarters)
        values, rejected, accounts = result.values, result.quarantine, result.accounts
    else:
        values, rejected, accounts = empty_metric_values(), empty_quarantine(), []
    quarantine = pl.concat(
        [rejected.with_columns(pl.lit(q).alias("quarter")) for q in quarters], how="vertical_relaxed"
    )
    note = f"{len(files)} file(s) read" if files else _not_read(rs)
    yield contract_check("pandera_contract", rejected, accounts, npaf.quarantine_blocks, len(files))
    yield dg.Output(
        {"values": values, "quarantine": quarantine},
        metadata={
            "note": note,
            "row_count": values.height,
            "quarantined_rows": rejected.height,
            "schema": schema_metadata(values),
            "preview": table_metadata(values, 10),
        },
    )


def _not_read(rs: RuleSet) -> str:
    return f"rule set {rs.id} does not segment ICBs: icb_values/ not read"


@dg.asset(
    group_name="segmentation",
    kinds={"polars", "pandera"},
    check_specs=[
        dg.AssetCheckSpec(
            "pandera_contract",
            asset="icb_system_tests",
            blocking=True,
            description=(
                "Every row the system tests read from a folder no ingest step reads (rtt_monthly/) is accepted or "
                "quarantined; a quarantined row fails it."
            ),
        )
    ],
    description=(
        "The rule set's system-consideration tests per quarter and ICB (icb.assess_system), with the evidence "
        "behind each status and the every-month tests month by month; the rows quarantined reading their inputs. "
        "Empty when the rule set has no system adjustment."
    ),
    **COMMON,
)
def icb_system_tests(
    context: dg.AssetExecutionContext,
    npaf: NpafSettings,
    organisation_reference: pl.DataFrame,
    ingest_icb_values: dict[str, pl.DataFrame],
):
    rs = load_ruleset(npaf.framework)
    quarters = labels_of(context.partition_keys)
    icbs = inputs.icbs_of(organisation_reference) if organisation_reference.height else []
    if rs.system_adjustment is None or not icbs:
        why = "has no system_adjustment" if rs.system_adjustment is None else "found no ICBs in the reference"
        empty = {
            "tests": pl.DataFrame(schema=TESTS_SCHEMA),
            "evidence": pl.DataFrame(schema=EVIDENCE_SCHEMA),
            "monthly": pl.DataFrame(schema=MONTHLY_SCHEMA),
            "quarantine": _every_quarter(empty_quarantine(), quarters),
        }
        yield contract_check("pandera_contract", empty_quarantine(), None, npaf.quarantine_blocks, 0)
        yield dg.Output(empty, metadata={"note": f"rule set {rs.id} {why}: no system tests run", "row_count": 0})
        return
    system_inputs, read_quarantine = inputs.system_inputs(
        npaf.landing, rs, organisation_reference, ingest_icb_values.get("values")
    )
    quarantine, files = system_quarantine(npaf.landing, rs, read_quarantine)
    by_source = pl.DataFrame(
        {
            "source": list(files),
            "files": list(files.values()),
            "rows_quarantined": [quarantined_rows(quarantine.filter(pl.col("source") == s)) for s in files],
        },
        schema={"source": pl.String, "files": pl.Int64, "rows_quarantined": pl.Int64},
    )
    yield contract_check(
        "pandera_contract",
        quarantine,
        None,  # the RTT reader of rtt_monthly/ keeps no per-file row counts
        npaf.quarantine_blocks,
        sum(files.values()),
        metadata={"sources": table_metadata(by_source)},
    )
    result = assess_system(rs, quarters, icbs, system_inputs)
    ev = result.evidence
    months, mapping = system_inputs.provider_months, system_inputs.trust_icb
    # providers with monthly figures that the reference places in no ICB: in no ICB's sum, so shown, never silent
    unmapped = pl.DataFrame(schema={"providers": pl.String, "n_providers": pl.Int64})
    if months is not None and mapping is not None:
        unmapped = aggregate_to_icb(months, mapping).unmapped_summary()
    by_icb = (
        ev.filter(pl.col("failed"))
        .group_by("quarter", "icb_code")
        .agg(pl.len().alias("failed_tests"), pl.col("test_id").sort().str.join(", ").alias("tests"))
        .sort("quarter", "failed_tests", "icb_code", descending=[False, True, False])
    )
    statuses = ev.pivot(on="status", index=["quarter", "test_id"], values="icb_code", aggregate_function="len")
    yield dg.Output(
        {
            "tests": result.tests,
            "evidence": ev,
            "monthly": result.monthly,
            "quarantine": _every_quarter(quarantine, quarters),
        },
        metadata={
            "rule_set": f"{rs.id} {rs.version}",
            "icbs": len(icbs),
            "row_count": ev.height,
            "failed_tests": int(ev["failed"].sum()),
            "failed_tests_per_icb": table_metadata(by_icb, 100),
            "status_per_test": table_metadata(statuses.sort("quarter", "test_id"), 100),
            "defaults_in_use": table_metadata(defaults_in_use(rs), 100),
            "provider_rows_quarantined": read_quarantine.height,
            "providers_without_icb": table_metadata(unmapped, 100),
        },
    )


def system_quarantine(landing: Path, rs: RuleSet, quarantine: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """The rows the system tests quarantined in landing folders no ingest step reads, each with ``source`` its
    folder (``rtt_monthly``: its files are read by the RTT adapter's reader, which names them ``rtt_full``); and
    the files read per such folder.

    A row of a file an ingest step reads (``rtt_full/``, ``cwt_crs/``) is that step's, already in its check and
    in ``quarantine_summary``: kept here too it would be counted twice. Any other row is kept, whatever folder it
    comes from, so a reader that starts quarantining is checked without a change here.
    """
    if quarantine.is_empty():
        quarantine = empty_quarantine()
    folders = {f: _folder(landing, f) for f in quarantine["source_file"].unique().to_list()}
    own = quarantine.with_columns(
        pl.col("source_file").replace_strict(folders, default=None, return_dtype=pl.String).alias("_folder")
    ).filter(~pl.col("_folder").is_in(list(registry.VALUE_SOURCES)) | pl.col("_folder").is_null())
    own = own.with_columns(pl.coalesce("_folder", "source").alias("source")).drop("_folder")
    sa = rs.system_adjustment
    metrics = (
        {str(t.params.get("metric", "")) for t in sa.tests if t.kind == "lowest_quartile_every_month"} if sa else set()
    )
    read = {f for m in metrics for f in inputs.MONTHLY_METRIC_SOURCES.get(m, ())} - set(registry.VALUE_SOURCES)
    names = sorted(read | set(own["source"].drop_nulls().to_list()))
    files = {name: len(registry.source_files(landing, name)) for name in names}
    return own, {name: n for name, n in files.items() if n}


def _folder(landing: Path, file: str) -> str | None:
    """The landing folder holding ``file`` (its first part under the landing zone), or None outside it."""
    try:
        return Path(file).relative_to(landing).parts[0]
    except (ValueError, IndexError):
        return None


def _every_quarter(quarantine: pl.DataFrame, quarters: list[str]) -> pl.DataFrame:
    """A file's quarantined rows concern every quarter it was read for (as in the ingest steps)."""
    return pl.concat(
        [quarantine.with_columns(pl.lit(q).alias("quarter")) for q in quarters] or [quarantine],
        how="vertical_relaxed",
    )


def beside_segmentation(seg: pl.DataFrame, rs: RuleSet, ratings: pl.DataFrame | None) -> pl.DataFrame:
    """The segment's description and the leadership capability ratings, appended; no segment changes."""
    described = attach_segment_descriptions(seg, rs)
    if ratings is None:
        return described.with_columns([pl.lit(None, pl.String).alias(c) for c in CAPABILITY_COLUMNS])
    return beside_segments(described, ratings)


def system_counts(seg: pl.DataFrame) -> pl.DataFrame:
    """Per quarter and type: organisations failing a system test, and those the system adjustment moved."""
    moved = pl.col("system_adjusted_segment") != pl.col("unadjusted_segment")
    return (
        seg.filter(pl.col("system_tests_failed") > 0)
        .group_by("quarter", "org_type")
        .agg(pl.len().alias("failing_a_test"), moved.sum().alias("moved"))
        .sort("quarter", "org_type")
    )
