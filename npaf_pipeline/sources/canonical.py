"""Files users supply in the canonical formats: metric values, financial-override flags, the intensive-support list.

Metrics with no public raw source (finance, staff survey, sickness, HCAI, CQC, SHMI, MHSDS, UCR…) arrive as
metric values already computed, one row per (quarter, organisation, metric). The financial-override flags and
the intensive-support list are inputs to segmentation, not computed. All three are CSV (UTF-8, header row) or
Parquet; bad rows are quarantined like any raw source, so a typo in one row never silently changes a segment.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Collection, Iterable, Mapping
from functools import cache
from pathlib import Path

import pandera.polars as pa
import polars as pl

from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.ruleset import RuleSet, available, load_ruleset
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
from npaf_pipeline.sources.raw import decode_utf8, read_bytes
from npaf_pipeline.sources.tables import HEADER_SEARCH_LINES, PARQUET_MAGIC, TableResult, account, read_table
from npaf_pipeline.sources.tables import RawTable as RawTable
from schemas.canonical import QUARANTINE_COLUMNS, empty_quarantine
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
INTENSIVE_SUPPORT_ACCEPTED = (*INTENSIVE_SUPPORT_COLUMNS, "note")
"""Every column an intensive-support file may have (``note``: free text, ignored). Any other column refuses the
file: a misspelled ``intensive_support`` header would otherwise make it a plain list, every row a yes."""
FLAG_KEYS = ("quarter", "org_code")
FLAG_FILES = {
    "financial_override": "an override-flags file (quarter, org_code, financial_override)",
    "intensive_support": "an intensive-support list (quarter, org_code[, intensive_support])",
}

UNIT_SPELLINGS = {"%": "percent", "minutes": "mins"}


# --- metric values ----------------------------------------------------------------------------------------


def read(
    paths: Iterable[str | Path],
    quarters: list[str] | None = None,
    units: Mapping[str, str] | None = None,
    proportions: Collection[str] | None = None,
) -> AdapterResult:
    """Metric values in the canonical format (CSV or Parquet), validated and with lineage filled in.

    ``units`` (metric id -> unit, e.g. from the rule set) fills a blank or absent ``unit`` column; a row left
    without a unit is quarantined. ``quarters`` keeps only those quarters' values (other rows are still checked).
    ``proportions``: the metrics whose value is 100 x numerator / denominator (:func:`proportion_metrics` of the
    rule set in use); by default those of every shipped rule set (:func:`shipped_proportions`).
    """
    wanted = wanted_quarters(quarters)
    ratios = frozenset(shipped_proportions() if proportions is None else proportions)
    result = combine([_read_values(Path(p), wanted, units or {}, ratios) for p in paths], SOURCE)
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


def proportion_metrics(rs: RuleSet) -> frozenset[str]:
    """Metrics of ``rs`` whose value is a share of a whole: 100 x numerator / denominator, numerator within it.

    A metric in ``percent`` whose plausible range is exactly [0, 100] is such a share (the 4-hour, 18-week, 62-day
    and sickness-absence percentages). A percentage that may be negative or above 100 (a change, a surplus as a
    share of income, a cost index) is not numerator / denominator, nor is a rate per 100,000, a mean time or a
    count: none of those is checked against its numerator and denominator.
    """
    return frozenset(
        m.id for m in rs.metrics if m.unit.strip().lower() == "percent" and m.valid_range in ((0, 100), (0.0, 100.0))
    )


@cache
def shipped_proportions() -> frozenset[str]:
    """Metrics that are proportions in every shipped rule set that defines them (a metric id names the same
    measure in each; one that is a proportion in one rule set and not in another is not checked)."""
    rule_sets = [load_ruleset(name) for name in available()]
    shares = set().union(*(proportion_metrics(rs) for rs in rule_sets))
    others = {m.id for rs in rule_sets for m in rs.metrics if m.id not in proportion_metrics(rs)}
    return frozenset(shares - others)


def _decimals(text: pl.Expr) -> pl.Expr:
    """Decimal places a number is written to: ``4.8`` 1, ``48`` 0, ``1.25e1`` 1 (an exponent moves the point)."""
    fraction = text.str.extract(r"\.([0-9]*)", 1).str.len_chars().fill_null(0).cast(pl.Int64)
    exponent = text.str.extract(r"[eE]([+-]?[0-9]+)", 1).cast(pl.Int64, strict=False).fill_null(0)
    return fraction - exponent


def _ratio_failures(text: pl.DataFrame, ratios: frozenset[str], path: Path, sha256: str) -> pl.DataFrame:
    """Quarantine records for proportion rows whose value, numerator and denominator cannot all be true.

    For a metric in ``ratios`` given in percent with both numerator and denominator: a denominator of zero (the
    share of nothing; a negative one is already refused as ``non_negative``), a numerator above the denominator
    (more than all of it), and a value that is not 100 x numerator / denominator to the precision it is written
    to. The tolerance is one unit in the value's last written decimal place (``4.8``: 0.1; ``48``: 1): a value
    rounded to that place, to nearest, up (as NHS England publishes some) or down, is within it; a value in the
    wrong unit (48 for 4.8 %, 0.048 as a fraction) or from other counts is not.
    """
    numbers = text.with_columns(
        *(parse_number(pl.col(c)).alias(f"_{c}") for c in ("value", "numerator", "denominator")),
        _decimals(pl.col("value")).alias("_places"),
    )
    share = numbers.filter(
        pl.col("metric_id").is_in(sorted(ratios))
        & (pl.col("unit") == "percent")
        & pl.col("_numerator").is_not_null()
        & pl.col("_denominator").is_not_null()
    ).with_columns((100 * pl.col("_numerator") / pl.col("_denominator")).alias("_ratio"))
    tolerance = pl.lit(10.0).pow(-pl.col("_places")) + 1e-9 * pl.max_horizontal(pl.col("_ratio").abs(), pl.lit(1.0))
    rules = [
        (
            pl.col("_denominator") <= 0,
            "denominator",
            "denominator_above_zero",
            pl.format("denominator {} is not above zero: {} is a share of its denominator", "denominator", "metric_id"),
        ),
        (
            pl.col("_numerator") > pl.col("_denominator"),
            "numerator",
            "within_denominator",
            pl.format("numerator {} is above denominator {}: more than all of it", "numerator", "denominator"),
        ),
        (
            (pl.col("_denominator") > 0)
            & pl.col("_value").is_not_null()
            & ((pl.col("_value") - pl.col("_ratio")).abs() > tolerance),
            "value",
            "agrees_with_numerator_and_denominator",
            pl.format(
                "value {} is not 100 x {} / {} = {} to the {} decimal place(s) it is written to",
                "value",
                "numerator",
                "denominator",
                pl.col("_ratio").round(6),
                pl.col("_places").clip(lower_bound=0),
            ),
        ),
    ]
    records = [
        share.filter(mask).select(
            pl.lit(SOURCE).alias("source"),
            pl.lit(str(path)).alias("source_file"),
            pl.lit(sha256).alias("source_sha256"),
            pl.col("source_row").cast(pl.Int64),
            pl.lit(column).alias("column"),
            pl.lit(check).alias("check"),
            pl.col(column).alias("value"),
            reason.alias("reason"),
        )
        for mask, column, check, reason in rules
    ]
    return pl.concat(records).select(QUARANTINE_COLUMNS)


def _read_values(
    path: Path, wanted: set[str] | None, units: Mapping[str, str], ratios: frozenset[str]
) -> AdapterResult:
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
    unlikely = _ratio_failures(accepted, ratios, path, raw.sha256)
    if unlikely.height:
        accepted = accepted.filter(~pl.col("source_row").is_in(unlikely["source_row"].implode()))
        rejected = pl.concat([rejected, unlikely])
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
        if flag == "intensive_support":
            refuse_unknown_columns(raw.path, required, INTENSIVE_SUPPORT_ACCEPTED, FLAG_FILES[flag])
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


def header_names(path: Path, required: Collection[str]) -> tuple[list[str], int | None]:
    """``(column names, header row)`` of a file :func:`read_table` has read: a Parquet file's columns (no row), or a
    CSV's header line, found as :func:`read_table` finds it (the first of the first lines naming every required
    column)."""
    raw = read_bytes(path)
    if raw.startswith(PARQUET_MAGIC):
        return list(pl.read_parquet_schema(path)), None
    reader = csv.reader(io.StringIO(decode_utf8(path, raw), newline=""))
    wanted = {r.lower() for r in required}
    looked = 0
    for fields in reader:
        if not any(f.strip() for f in fields):
            continue
        names = [f.replace("\ufeff", "").strip() for f in fields]
        if wanted <= {n.lower() for n in names}:
            return names, reader.line_num
        looked += 1
        if looked >= HEADER_SEARCH_LINES:
            break
    raise SourceFileError(path, f"no header naming {', '.join(sorted(wanted))}")


def refuse_unknown_columns(path: Path, required: Collection[str], accepted: Collection[str], what: str) -> None:
    """Refuse a file with a column ``accepted`` does not name (matched as :func:`read_table` matches headers).

    A file whose meaning depends on which optional columns it has cannot ignore a column it does not know: an
    intensive-support list with its flag column spelled ``Intensive Support`` reads as a plain list, every row a
    yes. Blank header cells (stray empty columns) are layout, not columns.
    """
    names, row = header_names(path, required)
    known = {a.lower() for a in accepted}
    unknown = [n for n in names if n and n.lower() not in known]
    if unknown:
        raise SourceFileError(
            path,
            f"{what} has column(s) it does not know: {', '.join(repr(n) for n in unknown)}; "
            f"the columns it accepts are {', '.join(accepted)}: rename or remove the column",
            row=row,
            column=unknown[0],
        )


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
