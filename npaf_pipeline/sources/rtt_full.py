"""RTT waiting times "Full CSV data file" (provider x commissioner x part x treatment function) -> OF0023, OF0003.

Built from NHS England's published description of the file (no real extract was at hand) and tested on fixtures
written in that layout. The waiting list is RTT part ``Part_2`` (incomplete pathways); ``Part_2A`` (incomplete
with a decision to admit) is a subset of it and is never added. Each (provider, commissioner, part) group also
carries an all-specialty row, treatment function ``C_999`` "Total": it is checked against the group's other rows
and then left out of the sums, which would otherwise count every patient twice.

A provider with a quarantined waiting-list row gets no value for the month: the row is the provider's however its
code is written (``raa``, ``RAA.``, full-width letters), and it is also found by its name (so a blank code
withholds it too).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import operator
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from npaf_pipeline.quarters import of_month
from npaf_pipeline.sources.base import (
    AdapterResult,
    SourceFileError,
    combine,
    failing,
    finish,
    finish_by_file,
    in_quarters,
    organisation,
    organisation_name,
    quarantine_rows,
    refuse_overlap,
    screen_rows,
    sha256_file,
    validate_rows,
    wanted_quarters,
)
from npaf_pipeline.sources.raw import MISSING, MONTH_NUMBERS, XLSX_MAGIC, decode_utf8, read_bytes
from schemas.canonical import QUARANTINE_COLUMNS, empty_metric_values, empty_quarantine
from schemas.common import parse_number
from schemas.rtt_full import (
    BAND_SUM,
    BANDS,
    DESCRIPTIVE,
    EXACT_COUNT,
    LAYOUT,
    OVER_52_WEEKS,
    TOTAL_TREATMENT_FUNCTION,
    TOTALS,
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
    files = [_read_one(Path(p), wanted) for p in paths]
    quick = [f for f in files if isinstance(f, _Quick)]
    if quick and len(quick) == len(files):  # every file clean: their values validated at once
        result = finish_by_file(
            SOURCE, pl.concat([f.values for f in quick], how="diagonal_relaxed"), [f.file for f in quick]
        )
    else:
        result = combine([f.finished() if isinstance(f, _Quick) else f for f in files], SOURCE)
    refuse_overlap(result.values, ["quarter", "org_code", "metric_id"], "RTT value")
    return result


@dataclass(frozen=True)
class _Quick:
    """A clean file's values, not yet validated: with other files' at once (:func:`finish_by_file`), or alone."""

    values: pl.DataFrame
    file: tuple[Path, str, int, pl.DataFrame, int]
    """(path, SHA-256, rows read, quarantine, rows accepted), as :func:`finish_by_file` takes them."""

    def finished(self) -> AdapterResult:
        path, sha, rows_read, quarantine, rows_accepted = self.file
        return finish(SOURCE, path, sha, rows_read, self.values, quarantine, rows_accepted=rows_accepted)


def _read_one(path: Path, wanted: set[str] | None) -> _Quick | AdapterResult:
    """One file: the quick path when the file is clean, else every cell as text (the same result either way)."""
    typed = _read_typed(path)
    if typed is not None:
        quick = _typed_result(path, typed, wanted)
        if quick is not None:
            return quick
    return _read_one_as_text(path, wanted, sha=typed.sha256 if typed is not None else None)


def _read_one_as_text(path: Path, wanted: set[str] | None, sha: str | None = None) -> AdapterResult:
    """Every cell read as text and validated against :class:`RttFullRaw`: what any file can be read with."""
    frame = _read_csv(path)
    sha = sha or sha256_file(path)
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


# --- the quick path: counts read as integers --------------------------------------------------------------
#
# Most files are clean: every count a plain integer, nothing to quarantine. For those, the file is read once by
# polars with the 108 count columns parsed as Int64 (quicker than reading them as text), the model's checks run
# on that frame together (``screen_rows``; the counts' text pattern is implied by the parse), and the values are
# computed from it: the values the text path computes, since a count's value is the same number either way.
# Anything else (a cell that is not an integer; a '+', which polars' parser takes and the text pattern does not;
# a count too large to sum exactly; an odd line break before the header; no final line end; a row to quarantine;
# any whole-file error) sends the file down the text path, which words every record and error as before.

HEAD_BYTES = 1 << 16
"""Bytes read to find the header (the first ``HEADER_SEARCH_LINES`` lines are far shorter)."""
COUNTS = [*BANDS, *TOTALS]
CHECKED_TEXT = [
    "Period",
    "Provider Org Code",
    "Commissioner Org Code",
    "RTT Part Type",
    "RTT Part Description",
    "Treatment Function Code",
]
"""The text columns with checks or used for values: trimmed, blank and '-' as missing, as the text path does."""
_OTHER_LINE_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""Characters ``str.splitlines`` (how the text path numbers lines) breaks on besides CR and LF."""


@dataclass(frozen=True)
class _Typed:
    """A file read by the quick path: its rows (counts as integers) and its SHA-256."""

    frame: pl.DataFrame
    sha256: str


def _read_typed(path: Path) -> _Typed | None:
    """The file with its counts as integers (text columns as in :func:`_read_csv`), or None: use the text path."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return None
    found = _head_header(path, head)
    if found is None:
        return None
    header_line, names = found
    scan: dict[str, object] = {}
    hashing = threading.Thread(target=_scan, args=(path, scan))  # hashing overlaps polars' parse
    hashing.start()
    dtypes = [pl.Int64 if name in COUNTS else pl.String for name in names]
    try:
        frame = pl.read_csv(
            path,
            has_header=True,
            skip_lines=header_line - 1,
            infer_schema=False,
            schema_overrides=dtypes,
        )
    except (pl.exceptions.PolarsError, OSError):
        frame = None
    finally:
        hashing.join()
    if frame is None or frame.dtypes != dtypes or scan.get("error") or scan["plus"] or not scan["line_end"]:
        return None
    text = [pl.col(c).str.strip_chars().alias(c) for c in CHECKED_TEXT]
    frame = (
        frame.rename(dict(zip(frame.columns, names, strict=True)))
        .lazy()
        .with_row_index("_i")
        .with_columns(text)
        .select(
            *(pl.when(pl.col(c).is_in(MISSING)).then(None).otherwise(pl.col(c)).alias(c) if c in CHECKED_TEXT
              else pl.col(c) for c in LAYOUT),
            (pl.col("_i").cast(pl.Int64) + header_line + 1).alias("source_row"),
            *band_sums(),
        )
        .collect()  # lazily, for its common subexpressions to be found: each part of the bands is summed once
    )  # fmt: skip
    # no band filled is a null band sum: a row is empty when that and its other counts and checked text are null;
    # Total All is refused blank, so a file whose every row has it has no empty row
    empty = pl.all_horizontal(pl.col(c).is_null() for c in [*CHECKED_TEXT, *TOTALS, BAND_SUM])
    if frame["Total All"].null_count() and frame.select(empty.any()).item():  # left out, as the text path does
        others = [c for c in DESCRIPTIVE if c not in CHECKED_TEXT]
        blank = empty & pl.all_horizontal(
            pl.col(c).is_null() | pl.col(c).str.strip_chars().is_in(MISSING) for c in others
        )
        frame = frame.filter(~blank)
    if frame.is_empty():
        return None
    return _Typed(frame, str(scan["sha256"]))


PART_SUMS = {"_bands_to_18": WITHIN_18_WEEKS, "_bands_18_to_52": BANDS[18:52], "_bands_over_52": OVER_52_WEEKS}
"""The bands in three parts, each summed once on the quick path (a blank band holds nobody): the parts added are the
row's :data:`BAND_SUM`, and the first and last are the values' numerators (see :func:`_count`), so the waiting
list's bands are not summed a second time."""
assert [b for bands in PART_SUMS.values() for b in bands] == BANDS, "the parts hold every band once, in order"
KEPT_SUMS = ["_bands_to_18", "_bands_over_52"]
"""The parts the quick path keeps as columns of its rows (with :data:`BAND_SUM`)."""


def band_sums() -> list[pl.Expr]:
    """:data:`BAND_SUM` and the :data:`KEPT_SUMS` columns, for one lazy query (which sums each part once).

    Counts are read as integers and summed as integers: exact for the files the quick path keeps (every count
    passes the screen, and the sums are below ``EXACT_COUNT``; see :func:`_clean`). A blank band holds nobody, and a
    row with no band filled has a null :data:`BAND_SUM` (``schemas.rtt_full``)."""
    parts = {name: pl.sum_horizontal(bands) for name, bands in PART_SUMS.items()}
    filled = pl.any_horizontal(pl.col(c).is_not_null() for c in BANDS)
    return [
        pl.when(filled).then(functools.reduce(operator.add, parts.values())).alias(BAND_SUM),
        *(parts[name].alias(name) for name in KEPT_SUMS),
    ]


def _head_header(path: Path, head: bytes) -> tuple[int, list[str]] | None:
    """(line, names) of the header when the first bytes show it as the text path would find it; else None."""
    cut = head.rfind(b"\n")
    try:
        text = head[: cut + 1].decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if cut < 0 or any(c in text for c in _OTHER_LINE_BREAKS) or "\r" in text.replace("\r\n", ""):
        return None
    try:
        return _find_header(path, text.splitlines(keepends=True))
    except SourceFileError:
        return None


def _scan(path: Path, out: dict[str, object]) -> None:
    """SHA-256 of the file, whether it holds a '+' anywhere, whether it ends with a line end."""
    digest, plus, last = hashlib.sha256(), False, b""
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                plus = plus or b"+" in block
                last = block
    except OSError:
        out["error"] = True
        return
    out.update(sha256=digest.hexdigest(), plus=plus, line_end=last.endswith((b"\n", b"\r")))


@dataclass(frozen=True)
class CleanFile:
    """An RTT full CSV file with nothing to quarantine, read by the quick path (see :func:`read_clean`)."""

    rows: pl.DataFrame
    """Every row, under the published column names, with ``source_row``: the 108 counts as integers, the checked
    text columns trimmed with blank and ``-`` cells null (as :func:`_read_csv` has them); the name columns as read;
    and the bands summed (``schemas.rtt_full.BAND_SUM``, and the :data:`KEPT_SUMS` parts)."""
    month: str
    """The file's month, e.g. ``2025-06``."""
    sha256: str


def read_clean(path: str | Path) -> CleanFile | None:
    """The file read quickly when every row passes :class:`RttFullRaw`, names the file's month and (for ``C_999``)
    adds up; None otherwise, and for any file the quick path cannot vouch for: read it as text then
    (``_read_csv`` and ``validate_rows``), which finds and words what is wrong."""
    path = Path(path)
    typed = _read_typed(path)
    return None if typed is None else _clean(path, typed)


def _clean(path: Path, typed: _Typed) -> CleanFile | None:
    frame = typed.frame
    screen = screen_rows(frame, RttFullRaw, parsed=COUNTS, uniform=COUNTS)
    if screen is None or failing(screen).any():
        return None
    # the checks sum counts as integers (see schemas.rtt_full), exact only below EXACT_COUNT; every count has
    # passed as non-negative (and within MAX_MAGNITUDE, so the band sums are exact), so none is above its row's
    # band sum or totals: the largest of those bounds them all
    if (frame.select(pl.max_horizontal(pl.col(BAND_SUM, *TOTALS).max())).item() or 0) >= EXACT_COUNT:
        return None
    months = _period_months(frame)
    try:
        month = _month_of(path, months)
    except SourceFileError:
        return None
    if (months["m"] != month).fill_null(True).any() or _total_rows_not_matching(frame):
        return None  # a row of another month, or a total row that does not add up: quarantined on the text path
    return CleanFile(frame, month, typed.sha256)


def _typed_result(path: Path, typed: _Typed, wanted: set[str] | None) -> _Quick | None:
    """The file's values when no row is to be quarantined; None otherwise (the text path words the records)."""
    clean = _clean(path, typed)
    if clean is None:
        return None
    frame, month, sha = clean.rows, clean.month, clean.sha256
    values = in_quarters(_metrics(frame.rename(COLUMN_MAP), frame, empty_quarantine(), month, path, sha), wanted)
    return _Quick(values, (path, sha, frame.height, empty_quarantine(), frame.height))


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
    parts = pl.col("Period").str.to_lowercase().str.extract_groups(r"^rtt-([a-z]+)-([0-9]{4})$")
    month = parts.struct.field("1").replace_strict(_MONTHS, default=None, return_dtype=pl.String)
    return pl.concat_str([parts.struct.field("2"), pl.lit("-"), month])


def _file_month(path: Path, accepted: pl.DataFrame) -> str:
    """The month the file is about: the Period most rows carry (a file holds one month)."""
    return _month_of(path, _period_months(accepted))


def _month_of(path: Path, periods: pl.DataFrame) -> str:
    """:func:`_file_month` from the file's distinct Periods (:func:`_period_months`)."""
    months = periods.drop_nulls("m")  # once per distinct Period, then weighted by its rows
    if months.is_empty():
        raise SourceFileError(path, "no row has a readable Period (e.g. RTT-June-2025)")
    counts = months.group_by("m").agg(pl.col("len").sum()).sort("len", "m", descending=[True, False])
    return counts["m"][0]


def _period_months(rows: pl.DataFrame) -> pl.DataFrame:
    """Each distinct Period with its month (``_month_expr``) and its number of rows."""
    return rows.group_by("Period").len().select("Period", _month_expr().alias("m"), "len")


def _total_rows_not_matching(rows: pl.DataFrame) -> list[int]:
    """Source rows of C_999 total rows whose Total All differs from their group's other rows summed."""
    keys = ["Provider Org Code", "Commissioner Org Code", "RTT Part Type"]
    is_total = pl.col("Treatment Function Code") == TOTAL_TREATMENT_FUNCTION
    typed = rows.lazy().select(
        *keys, "source_row", is_total.alias("_total"), _band("Total All", rows.schema).alias("Total All")
    )
    details = typed.filter(~pl.col("_total")).group_by(keys).agg(pl.col("Total All").sum().alias("_sum"))
    totals = typed.filter(pl.col("_total")).join(details, on=keys, how="inner")
    return totals.filter((pl.col("Total All") - pl.col("_sum")).abs() > 1e-9).collect()["source_row"].to_list()


# --- metrics ----------------------------------------------------------------------------------------------


def provider_month_counts(path: str | Path) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """Incomplete pathways per provider for one monthly extract: ``(counts, quarantine, month)``.

    ``counts`` has ``org_code``, ``within_18_weeks`` and ``waiting`` (specialty rows summed, the total row left
    out), for aggregating numerators and denominators to a wider area (an ICB). A provider with a quarantined
    or inconsistent waiting-list row gets a row with null counts: its month is incomplete, not smaller.
    """
    path = Path(path)
    raw = _read_csv(path)
    sha = sha256_file(path)
    accepted, rejected = validate_rows(raw, RttFullRaw, source=SOURCE, path=path, sha256=sha)
    month = _file_month(path, accepted)
    rows = accepted.filter(_month_expr() == month)
    bad = set(rejected["source_row"].to_list()) | set(_total_rows_not_matching(rows))
    bad |= set(accepted.filter(_month_expr() != month)["source_row"].to_list())
    withheld = _withheld(raw, sorted(bad))
    waiting = (
        rows.filter(~pl.col("source_row").is_in(sorted(bad)))
        .rename(COLUMN_MAP)
        .filter(
            pl.col("part_type") == WAITING_LIST_PART,
            pl.col("treatment_function_code") != TOTAL_TREATMENT_FUNCTION,
            ~pl.col("org_code").is_in(withheld.implode()),
        )
    )
    sums = waiting.group_by("org_code").agg(
        _count(WITHIN_18_WEEKS, waiting.schema).sum().alias("within_18_weeks"),
        _count(BANDS, waiting.schema).sum().alias("waiting"),
    )
    blanks = pl.DataFrame({"org_code": withheld}, schema={"org_code": pl.String}).with_columns(
        pl.lit(None, pl.Float64).alias("within_18_weeks"), pl.lit(None, pl.Float64).alias("waiting")
    )
    counts = pl.concat([sums.filter(pl.col("waiting") > 0), blanks], how="vertical_relaxed")
    return counts, rejected, month


def _withheld(raw: pl.DataFrame, bad_rows: list[int]) -> pl.Series:
    """Providers (codes as :func:`organisation` reads them) with a quarantined waiting-list row: the row's code
    however it is written, and the codes of the rows that carry the row's provider name (so a blank code withholds
    its provider too)."""
    if not bad_rows:
        return pl.Series("org_code", [], pl.String)
    bad = pl.col("source_row").is_in(bad_rows) & ~pl.col("RTT Part Type").is_in(NOT_WAITING_LIST_PARTS).fill_null(False)
    name = organisation_name(pl.col("Provider Org Name"))
    names = raw.filter(bad).select(name).to_series().drop_nulls()
    return (
        raw.filter(bad | name.is_in(names.implode()))
        .select(organisation(pl.col("Provider Org Code")).alias("org_code"))
        .to_series()
        .drop_nulls()
        .unique()
    )


def _count(bands: list[str], schema: pl.Schema) -> pl.Expr:
    """Patients in the given bands of a row (a blank band holds nobody: the row's Total, which must be given, is
    checked to be the bands' sum). Text cells are read by the shared number rule (thousands separators); counts
    read as integers (the quick path, every count below ``EXACT_COUNT``) are summed as integers, the same sum."""
    columns = [COLUMN_MAP[b] for b in bands]
    if bands == BANDS and BAND_SUM in schema:  # summed once already (the quick path)
        return pl.col(BAND_SUM).fill_null(0).cast(pl.Float64)
    summed = next((name for name, part in PART_SUMS.items() if part == bands and name in schema), None)
    if summed is not None:  # likewise
        return pl.col(summed).cast(pl.Float64)
    if all(c in schema and schema[c].is_integer() for c in columns):
        return pl.sum_horizontal(columns).cast(pl.Float64)  # a blank is no one: sum_horizontal skips nulls
    return pl.sum_horizontal(_band(c, schema).fill_null(0) for c in columns)


def _band(column: str, schema: pl.Schema) -> pl.Expr:
    dtype = schema.get(column)
    return pl.col(column).cast(pl.Float64) if dtype is not None and dtype.is_numeric() else parse_number(pl.col(column))


def _metrics(
    rows: pl.DataFrame, raw: pl.DataFrame, quarantine: pl.DataFrame, month: str, path: Path, sha: str
) -> pl.DataFrame:
    """Values for the quarter whose last month this file is; none for a provider with a quarantined waiting-list row."""
    year, mon = int(month[:4]), int(month[5:])
    quarter = of_month(year, mon)
    if quarter.months[-1] != (year, mon):
        return empty_metric_values()
    withheld = _withheld(raw, quarantine["source_row"].unique().to_list())
    schema = rows.schema
    waiting = rows.lazy().filter(
        (pl.col("part_type") == WAITING_LIST_PART)
        & (pl.col("treatment_function_code") != TOTAL_TREATMENT_FUNCTION)
        & ~pl.col("org_code").is_in(withheld.implode())
    )
    per_org = (
        waiting.with_columns(
            _count(BANDS, schema).alias("_all"), *(_count(c, schema).alias(m) for m, (_, c) in METRICS.items())
        )
        .group_by("org_code")
        .agg(pl.col("_all").sum(), *(pl.col(m).sum() for m in METRICS), pl.col("source_row").min())
        .filter(pl.col("_all") > 0)
        .collect()
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
