"""RTT waiting times "Full CSV data file" (provider x commissioner x part x treatment function) -> OF0023, OF0003.

Built from NHS England's published description of the file (no real extract was at hand) and tested on fixtures
written in that layout. The waiting list is RTT part ``Part_2`` (incomplete pathways); ``Part_2A`` (incomplete
with a decision to admit) is a subset of it and is never added. Each (provider, commissioner, part) group also
carries an all-specialty row, treatment function ``C_999`` "Total": it is checked against the group's other rows
and then left out of the sums, which would otherwise count every patient twice.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from npaf_pipeline.quarters import of_month
from npaf_pipeline.sources.base import (
    AdapterResult,
    SourceFileError,
    combine,
    finish,
    in_quarters,
    quarantine_rows,
    refuse_overlap,
    sha256_file,
    validate_rows,
    wanted_quarters,
)
from npaf_pipeline.sources.raw import MISSING, MONTH_NUMBERS, XLSX_MAGIC, decode_utf8, read_bytes
from schemas.canonical import QUARANTINE_COLUMNS, empty_metric_values
from schemas.rtt_full import (
    BANDS,
    LAYOUT,
    OVER_52_WEEKS,
    TOTAL_TREATMENT_FUNCTION,
    WITHIN_18_WEEKS,
    RttFullRaw,
)

SOURCE = "rtt_full"
WAITING_LIST_PART = "Part_2"
NOT_WAITING_LIST_PARTS = ("Part_1A", "Part_1B", "Part_2A", "Part_3")
HEADER_SEARCH_LINES = 10
_MONTHS = {name.lower(): f"{number:02d}" for name, number in MONTH_NUMBERS.items()}
"""Month name as in ``RTT-June-2025`` (lower case) -> its two-digit number."""


def _band_name(band: str) -> str:
    words = band.split()
    return f"weeks_{int(words[1]):03d}_{int(words[3]):03d}" if words[2] == "To" else f"weeks_{int(words[1]):03d}_plus"


# raw column -> canonical column, in the order of the published layout (121 columns)
COLUMN_MAP = {
    "Period": "period",
    "Provider Parent Org Code": "provider_parent_code",
    "Provider Parent Name": "provider_parent_name",
    "Provider Org Code": "org_code",
    "Provider Org Name": "org_name",
    "Commissioner Parent Org Code": "commissioner_parent_code",
    "Commissioner Parent Name": "commissioner_parent_name",
    "Commissioner Org Code": "commissioner_code",
    "Commissioner Org Name": "commissioner_name",
    "RTT Part Type": "part_type",
    "RTT Part Description": "part_description",
    "Treatment Function Code": "treatment_function_code",
    "Treatment Function Name": "treatment_function_name",
    **{band: _band_name(band) for band in BANDS},
    "Total": "total",
    "Patients with unknown clock start date": "unknown_clock_start",
    "Total All": "total_all",
}
assert list(COLUMN_MAP) == LAYOUT, "column map and schema layout must list the same columns in the same order"

METRICS = {
    "OF0023": ("percent of the incomplete-pathway waiting list waiting up to 18 weeks", WITHIN_18_WEEKS),
    "OF0003": ("percent of the incomplete-pathway waiting list waiting over 52 weeks", OVER_52_WEEKS),
}


def read(paths: Iterable[str | Path], quarters: list[str] | None = None) -> AdapterResult:
    """OF0023 and OF0003 per provider for each quarter whose last month a file covers."""
    wanted = wanted_quarters(quarters)
    result = combine([_read_one(Path(p), wanted) for p in paths], SOURCE)
    refuse_overlap(result.values, ["quarter", "org_code", "metric_id"], "RTT value")
    return result


def _read_one(path: Path, wanted: set[str] | None) -> AdapterResult:
    frame = _read_csv(path)
    sha = sha256_file(path)
    accepted, quarantine = validate_rows(frame, RttFullRaw, source=SOURCE, path=path, sha256=sha)
    month = _file_month(path, accepted)
    other_month = _month_expr() != month
    mismatched = _total_rows_not_matching(accepted.filter(~other_month))
    wrong_total = pl.col("source_row").is_in(mismatched)
    where = {"source": SOURCE, "path": path, "sha256": sha}
    quarantine = pl.concat(
        [
            quarantine,
            quarantine_rows(
                accepted,
                other_month,
                column="Period",
                check="period_is_the_file_month",
                value=pl.col("Period"),
                reason=f"Period is not the month of the rest of the file ({month}); a file holds one month",
                **where,
            ),
            quarantine_rows(
                accepted,
                wrong_total,
                column="Total All",
                check="total_row_equals_sum_of_treatment_functions",
                value=pl.col("Total All"),
                reason="the C_999 total row differs from the sum of its group's treatment-function rows",
                **where,
            ),
        ]
    ).select(QUARANTINE_COLUMNS)
    accepted = accepted.filter(~other_month & ~wrong_total)
    values = _metrics(accepted.rename(COLUMN_MAP), frame, quarantine, month, path, sha)
    values = in_quarters(values, wanted)
    return finish(SOURCE, path, sha, frame.height, values, quarantine, rows_accepted=accepted.height)


# --- reading the CSV --------------------------------------------------------------------------------------


def _read_csv(path: Path) -> pl.DataFrame:
    """The file's cells as text under the published column names, with each row's line number."""
    raw = read_bytes(path)
    if not raw.strip():
        raise SourceFileError(path, "the file is empty; expected an RTT full CSV data file")
    if raw.startswith(XLSX_MAGIC):
        raise SourceFileError(path, "a zip archive or Excel workbook; unzip the RTT full CSV data file first")
    text = decode_utf8(path, raw)
    lines = text.splitlines(keepends=True)
    header_line, header = _find_header(path, lines)
    body = "".join(lines[header_line - 1 :])
    last = lines[-1]
    if not last.endswith(("\n", "\r")) and len(next(csv.reader([last]), [])) < len(header):
        raise SourceFileError(path, "the file ends part-way through a row: truncated", row=len(lines))
    try:
        frame = pl.read_csv(body.encode(), infer_schema=False, has_header=True)
    except pl.exceptions.PolarsError as exc:
        raise SourceFileError(path, f"rows do not split into the header's {len(header)} fields ({exc})") from None
    frame = frame.rename(dict(zip(frame.columns, header, strict=True))).with_row_index("_i")
    frame = frame.select(
        *(pl.col(c).str.strip_chars().alias(c) for c in LAYOUT),
        (pl.col("_i").cast(pl.Int64) + header_line + 1).alias("source_row"),
    ).with_columns(pl.when(pl.col(c).is_in(MISSING)).then(None).otherwise(pl.col(c)).alias(c) for c in LAYOUT)
    frame = frame.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in LAYOUT))
    if frame.is_empty():
        raise SourceFileError(path, "a header but no data rows")
    return frame


def _find_header(path: Path, lines: list[str]) -> tuple[int, list[str]]:
    """(1-based line of the header, its column names): the first line naming the RTT key columns."""
    first: list[str] = []
    for number, line in enumerate(lines[:HEADER_SEARCH_LINES], start=1):
        names = [c.strip() for c in next(csv.reader([line]), [])]
        first = first or names
        if "Provider Org Code" in names and "RTT Part Type" in names:
            missing = [c for c in LAYOUT if c not in names]
            unexpected = [c or "(blank)" for c in names if c not in COLUMN_MAP]
            repeated = sorted({c for c in names if names.count(c) > 1})
            if missing or unexpected or repeated:
                parts = [
                    f"missing {', '.join(missing)}" if missing else "",
                    f"unexpected {', '.join(unexpected)}" if unexpected else "",
                    f"repeated {', '.join(repeated)}" if repeated else "",
                ]
                raise SourceFileError(
                    path, "header does not match the RTT full CSV layout: " + "; ".join(p for p in parts if p), number
                )
            return number, names
    raise SourceFileError(
        path,
        "not an RTT full CSV data file: no header with 'Provider Org Code' and 'RTT Part Type' in the first "
        f"{HEADER_SEARCH_LINES} lines (first line: {', '.join(first[:8])}{'…' if len(first) > 8 else ''})",
    )


# --- checks across rows -----------------------------------------------------------------------------------


def _month_expr() -> pl.Expr:
    """``RTT-June-2025`` (any case) -> ``2025-06``; null when the Period is not in that form."""
    parts = pl.col("Period").str.to_lowercase().str.extract_groups(r"^rtt-([a-z]+)-(\d{4})$")
    month = parts.struct.field("1").replace_strict(_MONTHS, default=None, return_dtype=pl.String)
    return pl.concat_str([parts.struct.field("2"), pl.lit("-"), month])


def _file_month(path: Path, accepted: pl.DataFrame) -> str:
    """The month the file is about: the Period most rows carry (a file holds one month)."""
    months = accepted.select(_month_expr().alias("m")).drop_nulls()
    if months.is_empty():
        raise SourceFileError(path, "no row has a readable Period (e.g. RTT-June-2025)")
    counts = months.group_by("m").len().sort("len", "m", descending=[True, False])
    return counts["m"][0]


def _total_rows_not_matching(rows: pl.DataFrame) -> list[int]:
    """Source rows of C_999 total rows whose Total All differs from their group's other rows summed."""
    keys = ["Provider Org Code", "Commissioner Org Code", "RTT Part Type"]
    is_total = pl.col("Treatment Function Code") == TOTAL_TREATMENT_FUNCTION
    typed = rows.select(*keys, "source_row", is_total.alias("_total"), pl.col("Total All").cast(pl.Float64))
    details = typed.filter(~pl.col("_total")).group_by(keys).agg(pl.col("Total All").sum().alias("_sum"))
    totals = typed.filter(pl.col("_total")).join(details, on=keys, how="inner")
    return totals.filter((pl.col("Total All") - pl.col("_sum")).abs() > 1e-9)["source_row"].to_list()


# --- metrics ----------------------------------------------------------------------------------------------


def _count(bands: list[str]) -> pl.Expr:
    """Patients in the given bands of a row (a blank band holds nobody)."""
    return pl.sum_horizontal(pl.col(COLUMN_MAP[b]).cast(pl.Float64).fill_null(0) for b in bands)


def _metrics(
    rows: pl.DataFrame, raw: pl.DataFrame, quarantine: pl.DataFrame, month: str, path: Path, sha: str
) -> pl.DataFrame:
    """Values for the quarter whose last month this file is; none for a provider with a quarantined waiting-list row."""
    year, mon = int(month[:4]), int(month[5:])
    quarter = of_month(year, mon)
    if quarter.months[-1] != (year, mon):
        return empty_metric_values()
    bad_rows = quarantine["source_row"].unique().implode()
    withheld = raw.filter(
        pl.col("source_row").is_in(bad_rows) & ~pl.col("RTT Part Type").is_in(NOT_WAITING_LIST_PARTS).fill_null(False)
    )["Provider Org Code"]
    waiting = rows.filter(
        (pl.col("part_type") == WAITING_LIST_PART)
        & (pl.col("treatment_function_code") != TOTAL_TREATMENT_FUNCTION)
        & ~pl.col("org_code").is_in(withheld.drop_nulls().implode())
    )
    per_org = (
        waiting.with_columns(_count(BANDS).alias("_all"), *(_count(c).alias(m) for m, (_, c) in METRICS.items()))
        .group_by("org_code")
        .agg(pl.col("_all").sum(), *(pl.col(m).sum() for m in METRICS), pl.col("source_row").min())
        .filter(pl.col("_all") > 0)
    )
    frames = [
        per_org.select(
            pl.lit(quarter.label).alias("quarter"),
            "org_code",
            pl.lit(metric).alias("metric_id"),
            pl.lit(month).alias("period"),
            (100 * pl.col(metric) / pl.col("_all")).alias("value"),
            pl.col(metric).alias("numerator"),
            pl.col("_all").alias("denominator"),
            pl.lit("percent").alias("unit"),
            pl.lit(SOURCE).alias("source"),
            pl.lit(str(path)).alias("source_file"),
            pl.lit(sha).alias("source_sha256"),
            "source_row",
        )
        for metric in METRICS
    ]
    return pl.concat(frames).sort("metric_id", "org_code")
