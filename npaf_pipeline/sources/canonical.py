"""Files users supply in the canonical formats: metric values, financial-override flags, the intensive-support list.

Metrics with no public raw source (finance, staff survey, sickness, HCAI, CQC, SHMI, MHSDS, UCR…) arrive as
metric values already computed, one row per (quarter, organisation, metric). The financial-override flags and
the intensive-support list are inputs to segmentation, not computed. All three are CSV (UTF-8, header row) or
Parquet; bad rows are quarantined like any raw source, so a typo in one row never silently changes a segment.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

import pandera.polars as pa
import polars as pl

from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.sources.base import (
    AdapterResult,
    SourceFileError,
    combine,
    finish,
    in_quarters,
    refuse_overlap,
    validate_rows,
    wanted_quarters,
)

# importable from here too, with the rest of the table machinery this module uses
from npaf_pipeline.sources.base import quarantine_rows as quarantine_rows
from npaf_pipeline.sources.tables import RawTable as RawTable
from npaf_pipeline.sources.tables import TableResult, account, read_table
from schemas.canonical import empty_quarantine
from schemas.canonical_inputs import (
    FLAG_TRUE,
    IntensiveSupportInput,
    MetricValuesInput,
    OverrideFlagsInput,
)
from schemas.common import parse_number

SOURCE = "canonical"
FLAGS_SOURCE = "override_flags"
SUPPORT_SOURCE = "intensive_support"

# file column -> canonical column, per format (header names are matched after trimming, case-insensitively)
METRIC_VALUE_COLUMNS = {
    "quarter": "quarter",
    "org_code": "org_code",
    "metric_id": "metric_id",
    "period": "period",
    "value": "value",
    "numerator": "numerator",
    "denominator": "denominator",
    "unit": "unit",
}
METRIC_VALUE_REQUIRED = ("quarter", "org_code", "metric_id", "period", "value")
OVERRIDE_FLAG_COLUMNS = {"quarter": "quarter", "org_code": "org_code", "financial_override": "financial_override"}
INTENSIVE_SUPPORT_COLUMNS = {"quarter": "quarter", "org_code": "org_code", "intensive_support": "intensive_support"}
FLAG_KEYS = ("quarter", "org_code")
FLAG_FILES = {
    "financial_override": "an override-flags file (quarter, org_code, financial_override)",
    "intensive_support": "an intensive-support list (quarter, org_code[, intensive_support])",
}

UNIT_SPELLINGS = {"%": "percent", "minutes": "mins"}


# --- metric values ----------------------------------------------------------------------------------------


def read(
    paths: Iterable[str | Path], quarters: list[str] | None = None, units: Mapping[str, str] | None = None
) -> AdapterResult:
    """Metric values in the canonical format (CSV or Parquet), validated and with lineage filled in.

    ``units`` (metric id -> unit, e.g. from the rule set) fills a blank or absent ``unit`` column; a row left
    without a unit is quarantined. ``quarters`` keeps only those quarters' values (other rows are still checked).
    """
    wanted = wanted_quarters(quarters)
    result = combine([_read_values(Path(p), wanted, units or {}) for p in paths], SOURCE)
    refuse_overlap(result.values, ["quarter", "org_code", "metric_id"], "metric value")
    return result


def _quarter_label(text: str) -> str:
    try:
        return parse_quarter(text).label
    except ValueError:
        return text


def normalise_quarter(column: str = "quarter") -> pl.Expr:
    """Any accepted quarter spelling as the engine label; unparseable text is left for validation to reject."""
    return pl.col(column).map_elements(_quarter_label, return_dtype=pl.String)


def _with_columns(frame: pl.DataFrame, names: Iterable[str]) -> pl.DataFrame:
    return frame.with_columns(pl.lit(None, pl.String).alias(n) for n in names if n not in frame.columns)


def _read_values(path: Path, wanted: set[str] | None, units: Mapping[str, str]) -> AdapterResult:
    raw = read_table(
        path,
        source=SOURCE,
        columns=METRIC_VALUE_COLUMNS,
        required=METRIC_VALUE_REQUIRED,
        what="a canonical metric-values file",
    )
    frame = _with_columns(raw.frame, METRIC_VALUE_COLUMNS.values())
    unit = pl.col("unit").str.to_lowercase()
    frame = frame.with_columns(
        normalise_quarter(),
        pl.coalesce(
            unit.replace(UNIT_SPELLINGS),
            pl.col("metric_id").replace_strict(dict(units), default=None, return_dtype=pl.String),
        ).alias("unit"),
    )
    accepted, rejected = validate_rows(frame, MetricValuesInput, source=SOURCE, path=path, sha256=raw.sha256)
    values = accepted.with_columns(
        *(parse_number(pl.col(c)).alias(c) for c in ("value", "numerator", "denominator")),
        pl.lit(SOURCE).alias("source"),
        pl.lit(str(path)).alias("source_file"),
        pl.lit(raw.sha256).alias("source_sha256"),
    )
    values = in_quarters(values, wanted)
    quarantine = pl.concat([raw.quarantine, rejected])
    return finish(SOURCE, path, raw.sha256, raw.rows_read, values, quarantine, rows_accepted=accepted.height)


# --- override flags and the intensive-support list --------------------------------------------------------


class UnknownOrganisationError(SourceFileError):
    """A flag file names an organisation code that matches no organisation in the reference."""


def read_override_flags(paths: Iterable[str | Path], known: Collection[str] | None = None) -> TableResult:
    """Financial-override flags: ``quarter, org_code, financial_override`` (bool; null = not supplied).

    ``known``: the organisation codes of the reference; a flag for any other code raises
    :class:`UnknownOrganisationError` (see :func:`require_known_codes`).
    """
    return _read_flags(paths, FLAGS_SOURCE, OVERRIDE_FLAG_COLUMNS, "financial_override", OverrideFlagsInput, known)


def read_intensive_support(paths: Iterable[str | Path], known: Collection[str] | None = None) -> TableResult:
    """Intensive-support list: ``quarter, org_code[, intensive_support]``; without the flag column every row is yes.
    ``known`` as for :func:`read_override_flags`."""
    return _read_flags(
        paths, SUPPORT_SOURCE, INTENSIVE_SUPPORT_COLUMNS, "intensive_support", IntensiveSupportInput, known
    )


def require_known_codes(frame: pl.DataFrame, known: Collection[str], path: str | Path, what: str) -> None:
    """Refuse rows (``org_code``, ``source_row``) whose code is not in ``known``, naming file, rows and codes.

    A mistyped code on a flag list is not a row to set aside: the organisation it was meant for would silently go
    without its flag (out of segment 5, say). The error names every such row, with the nearest known codes.
    """
    codes = set(known)
    unknown = frame.filter(~pl.col("org_code").is_in(sorted(codes)))
    if unknown.is_empty():
        return
    parts = []
    for code, row in unknown.select("org_code", "source_row").head(10).iter_rows():
        near = difflib.get_close_matches(code, codes, n=3, cutoff=0.6)
        parts.append(f"row {row} {code!r}" + (f" (did you mean {', '.join(sorted(near))}?)" if near else ""))
    more = f" and {unknown.height - 10} more" if unknown.height > 10 else ""
    raise UnknownOrganisationError(
        path,
        f"{what} names organisation code(s) that match no organisation in the organisation reference: "
        f"{'; '.join(parts)}{more}",
        row=unknown["source_row"][0],
        column="org_code",
    )


def _read_flags(
    paths: Iterable[str | Path],
    source: str,
    columns: Mapping[str, str],
    flag: str,
    model: type[pa.DataFrameModel],
    known: Collection[str] | None = None,
) -> TableResult:
    frames, quarantines, accounts = [], [], []
    for p in paths:
        required = FLAG_KEYS if flag == "intensive_support" else (*FLAG_KEYS, flag)
        raw = read_table(p, source=source, columns=columns, required=required, what=FLAG_FILES[flag])
        frame = raw.frame.with_columns(normalise_quarter())
        if flag not in frame.columns:
            frame = frame.with_columns(pl.lit("yes").alias(flag))
        accepted, rejected = validate_rows(frame, model, source=source, path=raw.path, sha256=raw.sha256)
        if known is not None:
            require_known_codes(accepted, known, raw.path, f"the {flag.replace('_', ' ')} file")
        quarantine = pl.concat([raw.quarantine, rejected])
        accounts.append(account(source, raw, accepted.height, quarantine))
        quarantines.append(quarantine)
        frames.append(
            accepted.select(
                *FLAG_KEYS,
                pl.when(pl.col(flag).is_null())
                .then(None)
                .otherwise(pl.col(flag).str.to_lowercase().is_in(FLAG_TRUE))
                .alias(flag),
                pl.lit(str(raw.path)).alias("source_file"),
                "source_row",
            )
        )
    schema = {"quarter": pl.String, "org_code": pl.String, flag: pl.Boolean, "source_file": pl.String}
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=schema | {"source_row": pl.Int64})
    refuse_overlap(frame, list(FLAG_KEYS), f"{flag.replace('_', ' ')} flag for")
    quarantine = pl.concat(quarantines) if quarantines else empty_quarantine()
    return TableResult(source, frame.drop("source_file", "source_row").sort(FLAG_KEYS), quarantine, accounts)


def segment_flags(override: pl.DataFrame | None = None, support: pl.DataFrame | None = None) -> pl.DataFrame:
    """``quarter, org_code, financial_override, intensive_support``: the ``flags`` frame segmentation reads.

    ``financial_override`` stays null where no flag was supplied (the rule set decides what that means);
    ``intensive_support`` is false for organisations not on the list (or left blank on it).
    """
    keys = list(FLAG_KEYS)
    none = pl.DataFrame(schema={"quarter": pl.String, "org_code": pl.String})
    ov = none.with_columns(pl.lit(None, pl.Boolean).alias("financial_override")) if override is None else override
    su = none.with_columns(pl.lit(None, pl.Boolean).alias("intensive_support")) if support is None else support
    both = ov.select(*keys, "financial_override").join(
        su.select(*keys, "intensive_support"), on=keys, how="full", coalesce=True
    )
    return both.with_columns(pl.col("intensive_support").fill_null(False)).sort(keys)
