"""Acceptance suite on the published tables, run with Great Expectations before anything is published.

The expectations are derived, not copied: columns, ranges, allowed values, patterns, nullability and primary
keys come from the pandera models in ``schemas/published.py``; segments, segment 5 and the segmented
organisation types come from the rule set. Facts across tables (a league table's segment and organisation type
in the segmentation, the number of organisations of a type) are computed in polars as extra columns of the
validated frame, named for what they hold, so each check stays one readable expectation in the Data Docs.

Each table is validated once for all the quarters of a run (GX spends most of its time building the metric
graph of each expectation, not scanning rows). Every fact that belongs to a quarter is computed within its
quarter, and each failing row is reported with its ``quarter_label``, so a failure still names its quarter.

GX has no polars data source and takes seconds to import: frames go through ``to_pandas()`` into an ephemeral
context, and GX is imported only when a validation runs.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl

from npaf_pipeline.icb.mapping import ICB_ORG_TYPE
from npaf_pipeline.ruleset.model import RuleSet
from schemas.published import published_models

# Validation-only columns (never published), named for what a reader of the Data Docs sees in them.
TYPE_COUNT = "organisations_of_this_type_in_quarter"
SEGMENTATION_SEGMENT = "adjusted_segment_in_organisation_segmentation"
SEGMENTATION_TYPE = "org_type_in_organisation_segmentation"
MISSING_FROM_SEGMENTATION = "org_code_if_missing_from_organisation_segmentation"
STATUS_FAILED = "status_is_failed"
SYSTEM_FAILED = "failed_rows_in_system_considerations"
NULL_REQUIRED = "required_columns_that_are_null"
DERIVED_COLUMNS = {
    "organisation_segmentation": (TYPE_COUNT, SYSTEM_FAILED),
    "league_table": (SEGMENTATION_SEGMENT, SEGMENTATION_TYPE, TYPE_COUNT),
    "icb_league_table": (SEGMENTATION_SEGMENT, SEGMENTATION_TYPE, TYPE_COUNT, SYSTEM_FAILED),
    "metric_scores": (MISSING_FROM_SEGMENTATION,),
    "system_considerations": (STATUS_FAILED,),
}
NOT_EMPTY = ("organisation_segmentation", "metric_scores")
RANK_UNIT = "rank"
SEGMENT_COLUMNS = ("unadjusted_segment", "system_adjusted_segment", "adjusted_segment")
ICB_SEGMENT_COLUMNS = ("unadjusted_segment", "system_adjusted_segment", "segment")
UNEXPECTED_SHOWN = 5
QUARTER_COLUMN = "quarter_label"
# COMPLETE: every failing row comes back with its quarter and key (a sample would hide a second quarter's
# failures); the key columns are set per table.
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": UNEXPECTED_SHOWN,
    "return_unexpected_index_query": False,
}
# First pass: counts and a few values (what the Data Docs show of a passing expectation), without the lists of
# failing rows that COMPLETE computes for every expectation, passing or not (about a third of the suite's time).
# A table with a failure is validated again with RESULT_FORMAT; that result replaces the first in the Data Docs.
VERDICT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": UNEXPECTED_SHOWN}
SITE_NAME = "npaf_acceptance"
DATA_DOCS = "data-docs"
BOUND_CHECKS = {"greater_than_or_equal_to", "greater_than", "less_than_or_equal_to", "less_than", "in_range"}


@dataclass(frozen=True)
class Spec:
    """One expectation to build: its GX class name and arguments, the published column it is about, and why."""

    expectation: str
    kwargs: dict[str, Any]
    column: str | None
    why: str


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result: what was expected of which published column, and a few offending values.

    ``quarters``: the quarters of the failing rows (or of the quarters found empty); none when the failure is
    about the whole table (its columns), which then concerns every quarter of the run.
    """

    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None = None
    unexpected_values: tuple[Any, ...] = ()
    detail: str | None = None
    quarters: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableResult:
    """The outcomes of one table's suite."""

    table: str
    suite: str
    rows: int
    success: bool
    outcomes: tuple[ExpectationOutcome, ...]

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]


class AcceptanceError(ValueError):
    """A published table failed the acceptance suite; nothing should be published."""


@dataclass(frozen=True)
class AcceptanceResult:
    """The verdict on a set of published tables, per table, and where the Data Docs were written."""

    success: bool
    tables: dict[str, TableResult] = field(default_factory=dict)
    data_docs_index: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall seconds per table's validation, for building the Data Docs (``data_docs``) and, in a process's first
    validation, for importing GX (``import``): where publishing goes."""

    def failures(self) -> list[tuple[str, ExpectationOutcome]]:
        return [(name, o) for name, t in self.tables.items() for o in t.failures]

    def failures_in(self, quarter: str) -> list[tuple[str, ExpectationOutcome]]:
        """The failures that concern ``quarter``: its own rows, or the whole table."""
        return [(name, o) for name, o in self.failures() if not o.quarters or quarter in o.quarters]

    def summary(self) -> str:
        """One line per failed expectation, for logs and exception messages."""
        if self.success:
            return "acceptance suite passed"
        return "acceptance suite failed:\n" + "\n".join(_describe(name, o) for name, o in self.failures())

    def raise_if_failed(self) -> None:
        """Stop a publish when any expectation failed."""
        if not self.success:
            raise AcceptanceError(self.summary())


def _describe(table: str, o: ExpectationOutcome) -> str:
    where = ", ".join(o.quarters) if o.quarters else "every quarter"
    text = f"{table} ({where}): {o.expectation} on {o.column or 'the table'}"
    if o.unexpected_count:
        text += f": {o.unexpected_count} unexpected, e.g. {list(o.unexpected_values)}"
    return text + (f" ({o.detail})" if o.detail else "")


# --- expectations from the pandera models -----------------------------------------------------------------


def _key_specs(schema: pa.DataFrameSchema) -> list[Spec]:
    """Primary key (``Config.unique``) unique together; its non-nullable columns get not-null like any other."""
    keys = list(schema.unique or [])
    if not keys:
        return []
    return [Spec("ExpectCompoundColumnsToBeUnique", {"column_list": keys}, ", ".join(keys), "primary key")]


def _bounds(checks: Sequence[Any]) -> dict[str, Any]:
    """A column's pandera comparison checks as the arguments of one between expectation."""
    kwargs: dict[str, Any] = {}
    for check in checks:
        stats = check.statistics
        if check.name in ("greater_than_or_equal_to", "greater_than"):
            kwargs |= {"min_value": stats["min_value"], "strict_min": check.name == "greater_than"}
        elif check.name in ("less_than_or_equal_to", "less_than"):
            kwargs |= {"max_value": stats["max_value"], "strict_max": check.name == "less_than"}
        elif check.name == "in_range":
            kwargs |= {"min_value": stats["min_value"], "max_value": stats["max_value"]}
            kwargs |= {"strict_min": not stats["include_min"], "strict_max": not stats["include_max"]}
    return kwargs


def _check_specs(name: str, checks: Sequence[Any]) -> list[Spec]:
    """Allowed values and patterns; a pandera check with no translation is refused rather than skipped."""
    specs = []
    for check in checks:
        if check.name == "isin":
            kwargs = {"column": name, "value_set": list(check.statistics["allowed_values"])}
            specs.append(Spec("ExpectColumnValuesToBeInSet", kwargs, name, "declared values"))
        elif check.name == "str_matches":
            kwargs = {"column": name, "regex": check.statistics["pattern"]}
            specs.append(Spec("ExpectColumnValuesToMatchRegex", kwargs, name, "declared pattern"))
        elif check.name not in BOUND_CHECKS:
            raise ValueError(f"no acceptance expectation for the pandera check {check.name!r} on {name}")
    return specs


def _column_specs(name: str, column: Any) -> list[Spec]:
    """Flags, range, allowed values and pattern of one declared column (nullability: :func:`_required_specs`)."""
    specs = []
    if str(column.dtype) == "Boolean":
        specs.append(Spec("ExpectColumnValuesToBeInSet", {"column": name, "value_set": [True, False]}, name, "flag"))
    bounds = _bounds(column.checks)
    if bounds:
        specs.append(Spec("ExpectColumnValuesToBeBetween", {"column": name, **bounds}, name, "declared range"))
    return specs + _check_specs(name, column.checks)


def required_columns(model: type[pa.DataFrameModel]) -> list[str]:
    """The columns the model declares not nullable."""
    return [name for name, column in model.to_schema().columns.items() if not column.nullable]


def _required_specs(required: Sequence[str]) -> list[Spec]:
    """Every column declared not nullable has no nulls: one expectation on :data:`NULL_REQUIRED` (which names, per
    row, the required columns that are null) rather than one per column, as GX costs about the same per
    expectation whatever it checks; a failure still names the column, the row and its quarter."""
    why = "declared not nullable: " + ", ".join(required)
    return [Spec("ExpectColumnValuesToBeNull", {"column": NULL_REQUIRED}, NULL_REQUIRED, why)] if required else []


def schema_specs(model: type[pa.DataFrameModel], derived: Sequence[str] = ()) -> list[Spec]:
    """Everything the model declares: the exact columns (plus ``derived``), primary key and column checks."""
    schema = model.to_schema()
    required = required_columns(model)
    columns = [*schema.columns, *derived, *([NULL_REQUIRED] if required else [])]
    specs = [Spec("ExpectTableColumnsToMatchSet", {"column_set": columns, "exact_match": True}, None, "columns")]
    specs += _key_specs(schema) + _required_specs(required)
    for name, column in schema.columns.items():
        specs += _column_specs(name, column)
    return specs


# --- expectations from the rule set and across tables ----------------------------------------------------


def segments(rs: RuleSet) -> list[int]:
    """Segments 1..n the rule set can produce: one more than the cut-points of its largest population."""
    cuts = [len(p.thresholds) if p.thresholds is not None else len(p.probabilities) for p in rs.segmentation]
    return list(range(1, max(cuts, default=0) + 2))


def final_segments(rs: RuleSet) -> list[int]:
    """The published final segment: an adjusted segment, or the intensive-support segment (5)."""
    extra = [rs.intensive_support.segment] if rs.intensive_support.source != "none" else []
    return sorted({*segments(rs), *extra})


def segmented_types(rs: RuleSet) -> list[str]:
    return sorted({t for p in rs.segmentation for t in p.org_types})


def rank_columns(model: type[pa.DataFrameModel]) -> list[str]:
    """Columns whose unit is a rank (all are ranks within organisation type)."""
    columns = model.to_schema().columns
    return [n for n, c in columns.items() if str((c.metadata or {}).get("unit", "")).startswith(RANK_UNIT)]


def _rank_specs(model: type[pa.DataFrameModel]) -> list[Spec]:
    kwargs = {"column_A": TYPE_COUNT, "or_equal": True, "ignore_row_if": "either_value_is_missing"}
    why = "a rank within type is at most the number of organisations of that type in the quarter"
    return [
        Spec("ExpectColumnPairValuesAToBeGreaterThanB", {**kwargs, "column_B": r}, r, why) for r in rank_columns(model)
    ]


def _segmentation_specs(rs: RuleSet, columns: Sequence[str] = SEGMENT_COLUMNS) -> list[Spec]:
    final = {"column": "final_segment", "value_set": final_segments(rs)}
    specs = [Spec("ExpectColumnValuesToBeInSet", final, "final_segment", "segments, or intensive support")]
    return specs + [
        Spec("ExpectColumnValuesToBeInSet", {"column": c, "value_set": segments(rs)}, c, "segments of the rule set")
        for c in columns
    ]


def _system_failed_spec() -> Spec:
    pair = {"column_A": "system_tests_failed", "column_B": SYSTEM_FAILED, "ignore_row_if": "either_value_is_missing"}
    why = "the failed tests counted are the failed rows of system_considerations"
    return Spec("ExpectColumnPairValuesToBeEqual", pair, "system_tests_failed", why)


def _league_specs(model: type[pa.DataFrameModel], code: str, icbs: bool) -> list[Spec]:
    """A league table's segment is the segmentation's; its organisations are ICBs only, or never ICBs."""
    pair = {"column_A": "segment", "column_B": SEGMENTATION_SEGMENT, "ignore_row_if": "neither"}
    specs = [Spec("ExpectColumnPairValuesToBeEqual", pair, "segment", "the segmentation's adjusted segment")]
    kind = {"column": SEGMENTATION_TYPE, "value_set": [ICB_ORG_TYPE]}
    if icbs:
        specs.append(Spec("ExpectColumnValuesToBeInSet", kind, code, "ICBs only, ranked among ICBs"))
    else:
        specs.append(Spec("ExpectColumnValuesToNotBeInSet", kind, code, "trusts only: ICBs are in icb_league_table"))
    return specs + _rank_specs(model)


def rule_specs(table: str, model: type[pa.DataFrameModel], rs: RuleSet, quarters: Sequence[str] = ()) -> list[Spec]:
    """Expectations from the rule set and other tables (these read the validation-only columns).

    ``quarters``: the quarters of the run; a table that is never published empty must have rows in each.
    """
    specs = []
    if table in NOT_EMPTY:
        specs.append(Spec("ExpectTableRowCountToBeBetween", {"min_value": 1}, None, "never published empty"))
        if quarters:
            kwargs = {"column": QUARTER_COLUMN, "value_set": sorted(quarters)}
            why = "rows in every quarter of the run"
            specs.append(Spec("ExpectColumnDistinctValuesToContainSet", kwargs, QUARTER_COLUMN, why))
    if table == "organisation_segmentation":
        specs += _segmentation_specs(rs) + _rank_specs(model) + [_system_failed_spec()]
    elif table == "league_table":
        specs += _league_specs(model, "trust_code", icbs=False)
    elif table == "icb_league_table":
        specs += _segmentation_specs(rs, ICB_SEGMENT_COLUMNS) + _league_specs(model, "icb_code", icbs=True)
        specs.append(_system_failed_spec())
    elif table == "metric_scores":
        missing = {"column": MISSING_FROM_SEGMENTATION}
        specs.append(Spec("ExpectColumnValuesToBeNull", missing, "org_code", "scored organisations are segmented"))
    elif table == "system_considerations":
        pair = {"column_A": "failed", "column_B": STATUS_FAILED, "ignore_row_if": "neither"}
        specs.append(Spec("ExpectColumnPairValuesToBeEqual", pair, "failed", "true exactly when the status is failed"))
    return specs


def _type_count(*type_column: str) -> pl.Expr:
    return pl.len().over("fy", "quarter", *type_column).cast(pl.Int64).alias(TYPE_COUNT)


def with_derived(tables: Mapping[str, pl.DataFrame], rs: RuleSet) -> dict[str, pl.DataFrame]:
    """The frames to validate: each table, with the cross-table facts its expectations read as columns."""
    seg = tables["organisation_segmentation"]
    on = ["fy", "quarter", "org_code"]
    adjusted = seg.select(
        *on, pl.col("adjusted_segment").alias(SEGMENTATION_SEGMENT), pl.col("org_type").alias(SEGMENTATION_TYPE)
    ).unique(on, keep="first")
    league = tables["league_table"].join(
        adjusted.rename({"org_code": "trust_code"}), on=["fy", "quarter", "trust_code"], how="left"
    )
    icb_league = tables["icb_league_table"].join(
        adjusted.rename({"org_code": "icb_code"}), on=["fy", "quarter", "icb_code"], how="left"
    )
    found = seg.select(*on, pl.lit(True).alias("_found")).unique()
    scores = tables["metric_scores"].join(found, on=on, how="left")
    missing = pl.col("org_type").is_in(segmented_types(rs)) & pl.col("_found").is_null()
    system = tables["system_considerations"]
    counted = (
        system.group_by("fy", "quarter", "icb_code")
        .agg(pl.col("failed").sum().cast(pl.Int64).alias(SYSTEM_FAILED))
        .rename({"icb_code": "org_code"})
    )
    derived = {
        **tables,
        "system_considerations": system.with_columns((pl.col("status") == "failed").alias(STATUS_FAILED)),
        "organisation_segmentation": seg.with_columns(_type_count("org_type")).join(counted, on=on, how="left"),
        "league_table": league.with_columns(_type_count("trust_type")),
        "icb_league_table": icb_league.with_columns(_type_count()).join(
            counted.rename({"org_code": "icb_code"}), on=["fy", "quarter", "icb_code"], how="left"
        ),
        "metric_scores": scores.with_columns(
            pl.when(missing).then(pl.col("org_code")).alias(MISSING_FROM_SEGMENTATION)
        ).drop("_found"),
    }
    required = {
        name: required_columns(model) for name, model in published_models([(d.id, d.name) for d in rs.domains]).items()
    }
    return {
        name: frame.with_columns(_null_required(required[name], frame.schema)) if required.get(name) else frame
        for name, frame in derived.items()
    }


def _null_required(required: Sequence[str], schema: pl.Schema) -> pl.Expr:
    """Per row, the required columns that are null (a float NaN counts, as in GX's pandas frames), comma
    separated; null when there is none."""
    missing = {
        c: pl.col(c).is_null() | (pl.col(c).is_nan() if schema[c].is_float() else pl.lit(False))
        for c in required
        if c in schema
    }
    if not missing:
        return pl.lit(None, dtype=pl.String).alias(NULL_REQUIRED)
    names = pl.concat_str([pl.when(m).then(pl.lit(c)) for c, m in missing.items()], separator=", ", ignore_nulls=True)
    return pl.when(pl.any_horizontal(missing.values())).then(names).alias(NULL_REQUIRED)


def table_specs(rs: RuleSet, quarters: Sequence[str] = ()) -> dict[str, list[Spec]]:
    """Each published table's expectations, from its model, the rule set and the quarters of the run."""
    models = published_models([(d.id, d.name) for d in rs.domains])
    return {
        name: schema_specs(model, DERIVED_COLUMNS.get(name, ())) + rule_specs(name, model, rs, quarters)
        for name, model in models.items()
    }


# --- running GX -------------------------------------------------------------------------------------------


def import_gx() -> Any:
    """Import GX on first use only (it takes seconds), with its analytics off before it loads."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx

    return gx


def _context(gx: Any, data_docs_dir: Path | None) -> Any:
    """An in-memory context without progress bars or analytics; a filesystem Data Docs site when asked."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    if data_docs_dir is not None:
        site = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
        context.add_data_docs_site(site_name=SITE_NAME, site_config=site)
    return context


def data_docs_dir(out: Path) -> Path:
    """Where a publish to ``out`` writes its Data Docs: one site for the whole run, replaced by the next run."""
    return Path(out) / DATA_DOCS


def suite_name(table: str) -> str:
    return f"npaf.{table}"


def _suite(gx: Any, context: Any, table: str, specs: Sequence[Spec]) -> Any:
    """The table's suite, built whole then stored once (GX rewrites a stored suite on every addition)."""
    expectations = [
        getattr(gx.expectations, s.expectation)(**s.kwargs, meta={"column": s.column}, notes=s.why) for s in specs
    ]
    suite = gx.ExpectationSuite(name=suite_name(table), expectations=expectations)
    if len(suite.expectations) != len(specs):  # GX logs and drops an invalid expectation instead of raising
        raise ValueError(f"{table}: {len(specs) - len(suite.expectations)} expectation(s) refused by GX")
    return context.suites.add(suite)


def _plain(value: Any) -> Any:
    """Numpy scalars (and containers of them) as plain Python values, so results print and compare simply."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


def _detail(result: Any) -> str | None:
    """Why an expectation failed when its unexpected values do not say: an error, mismatched columns, a count."""
    info = result.exception_info or {}
    raised = [i for i in [info, *info.values()] if isinstance(i, dict) and i.get("raised_exception") is True]
    if raised:
        return str(raised[0].get("exception_message"))
    if result.success:
        return None
    mismatched = (result.result.get("details") or {}).get("mismatched")
    if mismatched:
        return ", ".join(f"{kind}: {sorted(cols)}" for kind, cols in mismatched.items() if cols)
    if "missing_count" in result.result:
        missing = list(_plain(result.result.get("partial_missing_list") or ()))
        return f"{result.result['missing_count']} missing: {missing}"
    if "observed_value" in result.result:
        return f"observed {_plain(result.result['observed_value'])}"
    return None


def _quarters(result: Any) -> tuple[str, ...]:
    """The quarters a failure belongs to: those of its failing rows, or the quarters a table has no rows in."""
    if result.success:
        return ()
    rows = result.result.get("unexpected_index_list") or []
    found = {r[QUARTER_COLUMN] for r in rows if isinstance(r, dict) and QUARTER_COLUMN in r}
    if result.expectation_config.kwargs.get("column") == QUARTER_COLUMN and "missing_count" in result.result:
        missing = result.result.get("partial_missing_list") or []
        if result.result["missing_count"] > len(missing):  # GX lists 20 at most: then say every quarter
            return ()
        found |= set(missing)
    return tuple(sorted(found))


def _outcome(result: Any) -> ExpectationOutcome:
    """The plain-Python view of one GX expectation result."""
    config = result.expectation_config
    partial = result.result.get("partial_unexpected_list") or []
    return ExpectationOutcome(
        expectation=config.type,
        column=(config.meta or {}).get("column"),
        success=bool(result.success),
        unexpected_count=result.result.get("unexpected_count"),
        unexpected_values=_plain(partial[:UNEXPECTED_SHOWN]),
        detail=_detail(result),
        quarters=_quarters(result),
    )


def run_identity(gx: Any, quarters: Sequence[str]) -> Any:
    """The run's name and time, from its quarters alone: a rerun of the same backfill renders the same pages.

    The time is when the last quarter closed (the first day of the next quarter, UTC), not the wall clock.
    """
    from npaf_pipeline.quarters import parse_quarter

    ordered = sorted(parse_quarter(q) for q in quarters)
    if not ordered:
        return gx.RunIdentifier(run_name="acceptance", run_time=datetime(1970, 1, 1, tzinfo=UTC))
    year, month = ordered[-1].shift(1).first_month
    name = ordered[0].label if len(ordered) == 1 else f"{ordered[0].label}-to-{ordered[-1].label}"
    return gx.RunIdentifier(
        run_name=f"acceptance-{name}".replace(" ", "-"), run_time=datetime(year, month, 1, tzinfo=UTC)
    )


def row_identity(model: type[pa.DataFrameModel]) -> list[str]:
    """The columns that name a failing row: its quarter, then the rest of the table's primary key."""
    return [QUARTER_COLUMN, *(k for k in model.to_schema().unique or [] if k not in ("fy", "quarter"))]


def _validate_table(
    gx: Any, context: Any, table: str, frame: pl.DataFrame, specs: Sequence[Spec], run_id: Any, identity: list[str]
) -> TableResult:
    """One data source, asset, batch definition, suite and validation definition per table: one docs page each."""
    asset = context.data_sources.add_pandas(name=table).add_dataframe_asset(name=table)
    batch = asset.add_batch_definition_whole_dataframe(name=table)
    suite = _suite(gx, context, table, specs)
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=table, data=batch, suite=suite))
    data = frame.to_pandas()
    result = definition.run(batch_parameters={"dataframe": data}, result_format=VERDICT_FORMAT, run_id=run_id)
    if not result.success:  # again in full, so the outcomes and the table's Data Docs page show every failing row
        result_format = {**RESULT_FORMAT, "unexpected_index_column_names": identity}
        result = definition.run(batch_parameters={"dataframe": data}, result_format=result_format, run_id=run_id)
    outcomes = tuple(_outcome(r) for r in result.results)
    return TableResult(table, suite.name, frame.height, bool(result.success), outcomes)


def _building(docs: Path) -> Path:
    """An empty folder beside ``docs`` to build the site in (no page of an earlier run survives into it)."""
    building = docs.with_name(f".{docs.name}.building")
    shutil.rmtree(building, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    return building


def _swap_in(building: Path, docs: Path) -> Path:
    """Make the built site work offline, then put it in place of the previous one; return its index page."""
    from npaf_pipeline.publish.data_docs import make_offline

    make_offline(building)
    old = docs.with_name(f".{docs.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if docs.exists():
        docs.rename(old)
    building.rename(docs)
    shutil.rmtree(old, ignore_errors=True)
    return docs / "index.html"


def run_quarters(tables: Mapping[str, pl.DataFrame]) -> list[str]:
    """The quarters present in any of ``tables``, in order."""
    found: set[str] = set()
    for frame in tables.values():
        if QUARTER_COLUMN in frame.columns:
            found |= set(frame[QUARTER_COLUMN].drop_nulls().unique().to_list())
    return sorted(found)


def validate_tables(
    tables: Mapping[str, pl.DataFrame],
    rs: RuleSet,
    data_docs_dir: Path | None = None,
    *,
    quarters: Sequence[str] | None = None,
) -> AcceptanceResult:
    """Run the acceptance suite on every published table, once for all quarters; write static Data Docs.

    ``tables`` are the conformed published frames (any number of quarters); ``quarters`` are the quarters of the
    run (by default those present in the tables), each of which must have rows in the tables never published
    empty. Validation writes nothing but the Data Docs (one site, built once, in ``data_docs_dir``), so callers
    run it before any file is published and refuse to publish when it fails.
    """
    labels = sorted(quarters) if quarters is not None else run_quarters(tables)
    specs = table_specs(rs, labels)
    missing = sorted(set(specs) - set(tables))
    if missing:
        raise ValueError(f"the acceptance suite needs every published table; missing {missing}")
    frames = with_derived(tables, rs)
    docs = Path(data_docs_dir).resolve() if data_docs_dir is not None else None
    seconds: dict[str, float] = {}
    loaded, started = "great_expectations" in sys.modules, time.perf_counter()
    gx = import_gx()
    if not loaded:  # the process's first validation pays for importing GX: said apart, as a stage of its own
        seconds["import"] = time.perf_counter() - started
    building = _building(docs) if docs is not None else None
    context = _context(gx, building)
    run_id = run_identity(gx, labels)
    models = published_models([(d.id, d.name) for d in rs.domains])
    results = {}
    for name in specs:
        started = time.perf_counter()
        results[name] = _validate_table(
            gx, context, name, frames[name], specs[name], run_id, row_identity(models[name])
        )
        seconds[name] = time.perf_counter() - started
    index = None
    if docs is not None and building is not None:
        started = time.perf_counter()
        context.build_data_docs(site_names=[SITE_NAME])
        index = _swap_in(building, docs)
        seconds["data_docs"] = time.perf_counter() - started
    return AcceptanceResult(all(r.success for r in results.values()), results, index, seconds)
