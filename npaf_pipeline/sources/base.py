"""What every source adapter shares: the result type, whole-file errors, quarantine records, requested quarters.

An adapter turns the raw files of one landing folder into canonical metric values. Row-level problems are
quarantined (file, row, column, rule, value), never dropped; a file that cannot be read at all raises
:class:`SourceFileError`. ``rows read = rows accepted + rows quarantined`` is checked for every file.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import operator
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl

from npaf_pipeline.quarters import Quarter, parse_quarter
from schemas.canonical import (
    METRIC_VALUE_COLUMNS,
    OPTIONAL_METRIC_VALUE_COLUMNS,
    QUARANTINE_COLUMNS,
    MetricValues,
    empty_metric_values,
    empty_quarantine,
)
from schemas.common import ODS_CODE, PATTERN_WORDS


class SourceFileError(ValueError):
    """A raw file that cannot be used at all; the message names the file and the problem in plain words."""

    def __init__(self, path: str | Path, problem: str, row: int | None = None, column: str | None = None):
        self.path, self.problem, self.row, self.column = str(path), problem, row, column
        where = str(path)
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {problem}")


class AccountingError(AssertionError):
    """Rows went missing between reading a file and accepting or quarantining them."""


@dataclass(frozen=True)
class FileAccount:
    """Row accounting for one raw file."""

    source: str
    path: str
    sha256: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int

    def check(self) -> None:
        if self.rows_read != self.rows_accepted + self.rows_quarantined:
            raise AccountingError(
                f"{self.path}: {self.rows_read} rows read but {self.rows_accepted} accepted + "
                f"{self.rows_quarantined} quarantined"
            )


@dataclass
class AdapterResult:
    """Canonical values, quarantined rows and per-file accounting from one source."""

    source: str
    values: pl.DataFrame = field(default_factory=empty_metric_values)
    quarantine: pl.DataFrame = field(default_factory=empty_quarantine)
    accounts: list[FileAccount] = field(default_factory=list)

    def check_accounting(self) -> None:
        for account in self.accounts:
            account.check()


def quarantined_rows(quarantine: pl.DataFrame) -> int:
    """Rows quarantined, counted by (file, row): a row with several failures counts once, and row 12 of one file
    and row 12 of another count twice."""
    if quarantine.is_empty():
        return 0
    keys = [c for c in ("source_file", "source_row") if c in quarantine.columns]
    return quarantine.select(keys).unique().height


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


UNIQUENESS = "multiple_fields_uniqueness"
"""The pandera check that fails for every copy of a row repeating the model's ``Config.unique`` key."""


def validate_rows(
    frame: pl.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    source: str,
    path: str | Path,
    sha256: str,
    row_column: str = "source_row",
    column_names: Mapping[str, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate eagerly (so value checks really run) and split into (accepted, quarantine records).

    Every failure is collected in one pass (``lazy=True``). A failure pandera cannot tie to a row (a
    missing column, a wrong dtype) is a whole-file problem and raises :class:`SourceFileError`.
    ``column_names`` (frame column -> header in the file) names columns as the person fixing the file finds
    them. A repeated key is recorded under the key columns with the key as its value (pandera gives the
    whole row, which hides what is repeated).

    """
    bad, records = _pandera_records(frame, model, source, path, sha256, row_column, column_names)
    if not records.height:
        return frame, records
    accepted = frame.with_row_index("_idx").filter(~pl.col("_idx").is_in(bad.implode())).drop("_idx")
    return accepted, records


def _pandera_records(
    frame: pl.DataFrame,
    model: type[pa.DataFrameModel],
    source: str,
    path: str | Path,
    sha256: str,
    row_column: str,
    column_names: Mapping[str, str] | None,
) -> tuple[pl.Series, pl.DataFrame]:
    """(positions of the failing rows, their quarantine records) from validating ``frame`` with pandera."""
    try:
        model.validate(frame, lazy=True)
        return pl.Series("_idx", [], pl.UInt32), empty_quarantine()
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    unplaced = cases.filter(pl.col("index").is_null())
    if unplaced.height:
        first = unplaced.row(0, named=True)
        raise SourceFileError(
            path, f"does not match {model.__name__}: {first['check']} on {first['column']} ({first['failure_case']})"
        )
    keys = model.to_schema().unique or []
    key_cells = [pl.col(k).cast(pl.String).fill_null("") for k in keys]
    key = pl.concat_str(key_cells, separator=" | ") if keys else pl.lit("")
    indexed = frame.with_row_index("_idx")
    column = pl.when(pl.col("schema_context") == "Column").then(pl.col("column"))
    repeated = pl.col("check") == UNIQUENESS
    records = (
        cases.select(
            pl.col("index").cast(pl.UInt32).alias("_idx"),
            column.alias("_column"),
            (column.replace(dict(column_names)) if column_names else column).alias("column"),
            pl.col("check").alias("check"),
            pl.col("failure_case").cast(pl.String).alias("value"),
        )
        .join(
            indexed.select("_idx", pl.col(row_column).alias("source_row"), key.alias("_key")),
            on="_idx",
            how="left",
        )
        .with_columns(
            pl.lit(source).alias("source"),
            pl.lit(str(path)).alias("source_file"),
            pl.lit(sha256).alias("source_sha256"),
            _reason(),
        )
        .with_columns(
            pl.when(repeated).then(pl.lit(", ".join(keys))).otherwise(pl.col("column")).alias("column"),
            pl.when(repeated).then(pl.col("_key")).otherwise(pl.col("value")).alias("value"),
        )
    )
    bad = records["_idx"].unique()
    return bad, records.sort("source_row", "_column", nulls_last=True, maintain_order=True).select(QUARANTINE_COLUMNS)


# --- screening: does every row pass? ----------------------------------------------------------------------


def screen_rows(
    frame: pl.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    parsed: Collection[str] = (),
    uniform: Sequence[str] = (),
) -> pl.DataFrame | None:
    """Whether each row of ``frame`` passes ``model``: a one-column boolean frame (``passes``), a row per row.

    Pandera validates the whole frame (``validate(lazy=True)``, its public API), so a row passes exactly when
    pandera finds nothing wrong with it. None when a failure is not tied to a row (a column missing or of another
    dtype): the caller then validates with pandera, which words the problem.

    ``parsed``: columns the model declares as text but that the caller has already read as numbers; they are
    checked as their text (a number the parser accepted is written back in the form the text patterns accept,
    and a row that does not is reported as failing, for the caller's text path to word).

    ``uniform``: columns the model declares alike (dtype, nullability, and checks that each look at one cell,
    e.g. RTT's 105 weekly bands), the first column's declaration being the shared one; a later column may add
    checks or refuse a blank (RTT's totals), which stay with it in the rest of the model. Pandera runs each check
    of each column as a query of its own, which for a small file costs far more than the cells; these columns'
    distinct values are stacked into one column and validated against the shared declaration
    (:func:`_failing_cells`), and the rest of the model runs on the whole frame.
    """
    uniform = tuple(uniform)
    schema = frame.schema  # built on each access: once here, not once a column
    as_text = {c: pl.String if c in parsed else schema[c] for c in frame.columns}
    if not uniform:
        found = [_failing_rows(model.to_schema(), _as_text(frame, as_text))]
    elif any(c not in frame.columns or as_text[c] != as_text[uniform[0]] for c in uniform):
        return None  # pandera on the whole model words a missing column or one of another dtype
    else:
        read = {schema[c] for c in uniform}
        read_as = read.pop() if len(read) == 1 else None
        rest, cell = _split_schema(model, uniform, read_as)
        whole = _as_text(frame, as_text, keep=uniform if read_as is not None else ())
        found = [_failing_rows(rest, whole), _failing_cells(cell, frame, as_text[uniform[0]], uniform)]
    if any(f is None for f in found):
        return None
    bad = pl.concat([f for f in found if f is not None]).unique().implode()
    return pl.DataFrame({"passes": ~pl.int_range(frame.height, eager=True, dtype=pl.Int64).is_in(bad)})


STACKED = "cell"


def _as_text(frame: pl.DataFrame, dtypes: Mapping[str, pl.DataType], keep: Sequence[str] = ()) -> pl.DataFrame:
    """``frame`` with its parsed columns as text, except those in ``keep``."""
    schema = frame.schema
    return frame.with_columns(pl.col(c).cast(t) for c, t in dtypes.items() if t != schema[c] and c not in keep)


def _declaration(column: Any) -> tuple[Any, ...]:
    return (str(column.dtype), column.unique, column.coerce)


def _check_keys(column: Any) -> list[tuple[str, Any]]:
    return [(c.name, c.statistics) for c in column.checks]


@functools.cache
def _split_schema(
    model: type[pa.DataFrameModel], uniform: tuple[str, ...], read_as: pl.DataType | None
) -> tuple[pa.DataFrameSchema, pa.DataFrameSchema]:
    """The model without the uniform columns' shared checks, and that shared declaration as the one column
    ``STACKED``. A column declared unique cannot be stacked: its check is not about one cell.

    The first uniform column's declaration is the shared one: every other uniform column has its dtype and its
    checks, and may add to them (e.g. RTT's totals: the bands' checks, plus a check against the bands and a
    blank refused); what a column adds stays with it in the rest of the model, of the dtype it was read as
    (``read_as``; its declared dtype is checked on the stacked cells). A column left nothing of its own (RTT's
    bands) leaves the rest of the model (pandera's cost is per column) but not the frame, so the model's row
    checks that read the counts (RTT's totals against the bands) see them as read, not as their text."""
    schema = model.to_schema()
    first = schema.columns[uniform[0]]
    if first.unique:
        raise ValueError(f"{model.__name__}: unique columns cannot be screened stacked ({uniform[0]!r})")
    shared = _check_keys(first)
    kept = {}
    for name in uniform:
        column = schema.columns[name]
        own = _check_keys(column)
        if (
            _declaration(column) != _declaration(first)
            or any(key not in own for key in shared)
            or (column.nullable and not first.nullable)
        ):
            raise ValueError(f"{model.__name__}: column {name!r} is not declared like {uniform[0]!r}")
        checks = [check for check, key in zip(column.checks, own, strict=True) if key not in shared]
        if not checks and column.nullable == first.nullable and not schema.strict:
            continue  # the stacked cells check all it declares: the frame keeps it for the row checks that read it
        kept[name] = {"checks": checks, "nullable": column.nullable}
        if read_as is not None:
            kept[name]["dtype"] = read_as
    rest = schema.remove_columns([c for c in uniform if c not in kept]).update_columns(kept)  # copies fewer
    return rest, pa.DataFrameSchema({STACKED: copy.deepcopy(first).set_name(STACKED)})


def _failing_cells(
    cell: pa.DataFrameSchema, frame: pl.DataFrame, as_text: pl.DataType, uniform: tuple[str, ...]
) -> pl.Series | None:
    """Rows with a uniform cell that fails the declaration ``cell``.

    The declaration's checks look at one cell at a time, so a cell fails exactly when its value does: each value
    the cells may hold is validated once (a 100 MB RTT month holds 21 million band cells and a few thousand
    distinct values; see :func:`_values_held`), as the screen sees it (``as_text``: parsed counts as text), and
    the rows holding a failing value are found after, in the frame as read."""
    held, read = _values_held(frame, uniform)
    texts = pl.concat([values.cast(as_text) for values in held]).unique()
    index = _failing_rows(cell, pl.DataFrame({STACKED: texts}))
    if index is None:
        return None
    bad = texts.gather(index)
    if bad.is_empty():
        return pl.Series("index", [], dtype=pl.Int64)
    bad_text, null_fails = bad.drop_nulls(), bad.null_count() > 0

    def holds(c: str) -> pl.Expr:
        values = read[c].filter(read[c].cast(as_text).is_in(bad_text)).implode()  # as read in column c
        return pl.col(c).is_in(values) | (pl.col(c).is_null() & null_fails)

    return frame.select(pl.any_horizontal(holds(c) for c in uniform).arg_true()).to_series().cast(pl.Int64)


RANGE_PER_CELL = 16
"""Whole numbers are screened by their range when it holds at most one number for this many cells ..."""
RANGE_MOST = 1 << 22
"""... and at most this many numbers."""


def _values_held(frame: pl.DataFrame, uniform: tuple[str, ...]) -> tuple[list[pl.Series], dict[str, pl.Series]]:
    """Values that include every value the columns hold (as read), and null where one holds it: the series to
    validate, and each column's.

    Columns of whole numbers in a narrow range (RTT's counts: 22 million cells between 0 and some 60,000) get
    every whole number of the range: finding those costs a minimum and a maximum, a tenth of finding each
    column's distinct values, and a value no cell holds fails no row. Otherwise each column's distinct values.
    """
    schema = frame.schema  # built on each access: once here, not once a column
    dtypes = {schema[c] for c in uniform}
    if len(dtypes) == 1 and (dtype := dtypes.pop()).is_integer():
        k = len(uniform)  # each column's least, greatest and null count in one query, combined here
        stats = frame.select(
            pl.col(uniform).min().name.prefix("lo:"),
            pl.col(uniform).max().name.prefix("hi:"),
            pl.col(uniform).null_count().name.prefix("nulls:"),
        ).row(0)
        least = [v for v in stats[:k] if v is not None]
        lo, hi = (min(least), max(v for v in stats[k : 2 * k] if v is not None)) if least else (None, None)
        nulls = sum(stats[2 * k :])
        span = 0 if lo is None else hi - lo + 1
        if 0 < span <= RANGE_MOST and span * RANGE_PER_CELL <= frame.height * len(uniform):
            numbers = pl.int_range(lo, hi + 1, dtype=dtype, eager=True)
            held = pl.concat([numbers, pl.Series([None], dtype=dtype)]) if nulls else numbers
            return [held], dict.fromkeys(uniform, held)  # one series for every column
    per_column = frame.select(pl.col(c).unique().implode() for c in uniform)  # one query, columns in parallel
    read = {c: per_column[c].explode() for c in uniform}
    return list(read.values()), read


def _failing_rows(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.Series | None:
    """Rows of ``frame`` that fail ``schema``; None when a failure is not tied to a row."""
    try:
        schema.validate(frame, lazy=True)
        return pl.Series("index", [], dtype=pl.Int64)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    if cases["index"].null_count():
        return None
    return cases["index"].cast(pl.Int64)


def failing(screen: pl.DataFrame) -> pl.Series:
    """Rows failing any check of a screen (see :func:`screen_rows`)."""
    if screen.width == 0:
        return pl.repeat(False, screen.height, eager=True)
    return ~functools.reduce(operator.and_, screen.iter_columns())


_IN_WORDS = {f"str_matches('{pattern}')": f"is not {words}" for pattern, words in PATTERN_WORDS.items()}


def _reason() -> pl.Expr:
    """``<column> fails <check>``; ``row fails <check>`` for a rule over the whole row; a shared pattern in words
    (``<column> is not a number (...)``) rather than as its regular expression."""
    named = pl.coalesce(pl.col("column"), pl.lit("row"))
    check = pl.col("check")
    said = check.replace_strict(_IN_WORDS, default=pl.lit("fails ") + check, return_dtype=pl.String)
    return pl.concat_str([named, pl.lit(" "), said]).alias("reason")


def relabel(quarantine: pl.DataFrame, column: pl.Expr) -> pl.DataFrame:
    """Records naming their column as ``column`` says (e.g. the sheet and service of a cell), and so their reason."""
    return quarantine.with_columns(column.alias("column")).with_columns(_reason()).select(QUARANTINE_COLUMNS)


def quarantine_rows(
    frame: pl.DataFrame,
    mask: pl.Expr,
    *,
    column: str | None,
    check: str,
    value: pl.Expr,
    reason: str,
    source: str,
    path: str | Path,
    sha256: str,
) -> pl.DataFrame:
    """Quarantine records for the rows of ``frame`` matching ``mask`` (rules pandera cannot express per row)."""
    hit = frame.filter(mask)
    return hit.select(
        pl.lit(source).alias("source"),
        pl.lit(str(path)).alias("source_file"),
        pl.lit(sha256).alias("source_sha256"),
        pl.col("source_row").cast(pl.Int64),
        pl.lit(column, pl.String).alias("column"),
        pl.lit(check).alias("check"),
        value.cast(pl.String).alias("value"),
        pl.lit(reason).alias("reason"),
    ).select(QUARANTINE_COLUMNS)


def finish(
    source: str,
    path: str | Path,
    sha256: str,
    rows_read: int,
    values: pl.DataFrame,
    quarantine: pl.DataFrame | None = None,
    rows_accepted: int | None = None,
    reference_rows: int = 0,
) -> AdapterResult:
    """Validate canonical output against :class:`MetricValues` and record the file's accounting.

    ``rows_accepted`` is the number of *raw* rows that contributed (adapters aggregate many raw rows into
    one value); it defaults to the number of output values plus ``reference_rows`` (raw rows kept as
    reference rather than as values, e.g. the published scores of a NOF file).
    """
    accepted, more = validate_rows(_canonical(values), MetricValues, source=source, path=path, sha256=sha256)
    earlier = empty_quarantine() if quarantine is None or quarantine.width == 0 else quarantine
    quarantine = pl.concat([earlier.select(QUARANTINE_COLUMNS), more], how="vertical_relaxed")
    n_quarantined = quarantined_rows(quarantine)
    n_accepted = rows_accepted if rows_accepted is not None else accepted.height + reference_rows
    account = FileAccount(source, str(path), sha256, rows_read, n_accepted, n_quarantined)
    result = AdapterResult(source, accepted, quarantine, [account])
    result.check_accounting()
    return result


def finish_by_file(
    source: str, values: pl.DataFrame, files: Iterable[tuple[Path, str, int, pl.DataFrame, int]]
) -> AdapterResult:
    """Values computed across files (a quarter from monthly files), finished and accounted file by file.

    ``files``: (path, sha256, rows read, quarantine, rows accepted) of each file; a value belongs to the
    file its ``source_file`` names. When every value passes :class:`MetricValues`, whose checks look at one row
    at a time besides its unique key, each file's share passes too: the files are then accounted without
    validating each share again (what costs, for many small files).
    """
    files = list(files)
    together = _finish_together(source, values, files)
    if together is not None:
        return together
    return combine(
        [
            finish(
                source,
                path,
                sha256,
                rows_read,
                values.filter(pl.col("source_file") == str(path)),
                quarantine,
                rows_accepted=rows_accepted,
            )
            for path, sha256, rows_read, quarantine, rows_accepted in files
        ],
        source,
    )


def _canonical(values: pl.DataFrame) -> pl.DataFrame:
    """Values with the optional columns they lack (null), in the canonical order."""
    absent = [c for c in OPTIONAL_METRIC_VALUE_COLUMNS if c not in values.columns]
    return values.with_columns(pl.lit(None, pl.Float64).alias(c) for c in absent).select(METRIC_VALUE_COLUMNS)


def _finish_together(
    source: str, values: pl.DataFrame, files: list[tuple[Path, str, int, pl.DataFrame, int]]
) -> AdapterResult | None:
    """What :func:`finish_by_file` gives when no value is quarantined, found with one screen; None otherwise."""
    paths = [str(path) for path, *_ in files]
    if not files or len(set(paths)) != len(paths) or any(f[4] is None for f in files):
        return None
    if not _checks_are_per_row(MetricValues):
        return None
    canonical = _canonical(values)
    screen = screen_rows(canonical, MetricValues)
    if screen is None or failing(screen).any():
        return None
    order = pl.col("source_file").replace_strict(paths, range(len(paths)), default=None, return_dtype=pl.Int64)
    accepted = (
        canonical.with_columns(order.alias("_file"))
        .filter(pl.col("_file").is_not_null())
        .sort("_file", maintain_order=True)
        .drop("_file")
    )
    earlier = [empty_quarantine() if q is None or q.width == 0 else q for *_, q, _ in files]
    more = empty_quarantine()
    if all(q.is_empty() and q.schema == more.schema for q in earlier):
        quarantines = [more] * len(files)
    else:
        quarantines = [pl.concat([q.select(QUARANTINE_COLUMNS), more], how="vertical_relaxed") for q in earlier]
    accounts = []
    for (path, sha256, rows_read, _, rows_accepted), quarantine in zip(files, quarantines, strict=True):
        n_quarantined = quarantined_rows(quarantine)
        account = FileAccount(source, str(path), sha256, rows_read, rows_accepted, n_quarantined)
        account.check()
        accounts.append(account)
    quarantine = quarantines[0] if len(quarantines) == 1 else pl.concat(quarantines, how="vertical_relaxed")
    return AdapterResult(source, accepted, quarantine, accounts)


_PER_ROW_CHECKS = {
    "equal_to", "not_equal_to", "greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to",
    "in_range", "isin", "notin", "str_matches", "str_contains", "str_startswith", "str_endswith", "str_length",
}  # fmt: skip
"""Pandera's built-in checks that look at one cell at a time."""


@functools.cache
def _checks_are_per_row(model: type[pa.DataFrameModel]) -> bool:
    """Whether every check of the model looks at one row at a time (its unique key and ``unique`` columns aside),
    so that rows passing within a frame pass within any part of it."""
    schema = model.to_schema()
    if schema.checks:
        return False
    for column in schema.columns.values():
        for check in column.checks:
            if check.name not in _PER_ROW_CHECKS or not check.is_builtin_check(check.name):
                return False
    return True


def combine(results: list[AdapterResult], source: str) -> AdapterResult:
    """Results of several files of one source, as one."""
    if not results:
        return AdapterResult(source)
    return AdapterResult(
        source,
        pl.concat([r.values for r in results], how="vertical_relaxed"),
        pl.concat([r.quarantine for r in results], how="vertical_relaxed"),
        [a for r in results for a in r.accounts],
    )


def refuse_overlap(frame: pl.DataFrame, keys: Sequence[str], what: str) -> None:
    """Two files giving the same key is ambiguous (which one is right?): name both files and stop."""
    if frame.is_empty() or frame["source_file"].n_unique() < 2:
        return
    clash = frame.filter(pl.col("source_file").n_unique().over(keys) > 1)
    if clash.height:
        first = clash.sort(*keys, "source_file").row(0, named=True)
        files = sorted(set(clash.filter(pl.all_horizontal(pl.col(k) == first[k] for k in keys))["source_file"]))
        key = " ".join(str(first[k]) for k in keys)
        raise SourceFileError(files[0], f"{what} {key} is also given by {', '.join(files[1:])}; keep one file")


# --- quarters ---------------------------------------------------------------------------------------------


def wanted_quarters(quarters: Iterable[str] | None) -> set[str] | None:
    """The requested quarters as engine labels (any accepted spelling); None keeps every quarter."""
    return None if quarters is None else {parse_quarter(q).label for q in quarters}


class IncompleteQuarterError(SourceFileError):
    """A requested quarter of which a source holds some months but not all that its values need."""


def require_whole_quarters(
    where: str | Path, what: str, months: Iterable[tuple[int, int]], wanted: set[str] | None
) -> None:
    """Refuse a requested quarter for which ``months`` ((year, month) the files hold) has some but not all three.

    A quarterly value summed over the months that are there would look right and be too small; leaving the value
    out would publish the quarter without it and say nothing. So the run stops, naming the months that are there
    and the ones to land. Quarters with no month at all are the source's to not cover; quarters not requested
    (``wanted`` None: every quarter the files hold) are only ever scored when whole.
    """
    if wanted is None:
        return
    present = set(months)
    for label in sorted(wanted):
        quarter = parse_quarter(label)
        have = [ym for ym in quarter.months if ym in present]
        if have and len(have) < len(quarter.months):
            missing = [ym for ym in quarter.months if ym not in present]
            raise IncompleteQuarterError(
                where,
                f"{what} for {quarter.label} hold {_month_names(have)} but not {_month_names(missing)}: land the "
                "missing month (a quarter's value needs all three) or leave the quarter out of the run",
            )


def _month_names(months: Iterable[tuple[int, int]]) -> str:
    names = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")  # fmt: skip
    return ", ".join(f"{names[m - 1]} {y}" for y, m in months)


def in_quarters(values: pl.DataFrame, wanted: set[str] | None) -> pl.DataFrame:
    """The values of the requested quarters (see :func:`wanted_quarters`)."""
    return values if wanted is None else values.filter(pl.col("quarter").is_in(sorted(wanted)))


def quarter_span(quarter: Quarter) -> str:
    """A quarterly value's ``period``: its three months, e.g. ``2025-04..2025-06``."""
    (y1, m1), _, (y3, m3) = quarter.months
    return f"{y1}-{m1:02d}..{y3}-{m3:02d}"


def organisation(code: pl.Expr) -> pl.Expr:
    """The organisation a code names, as a reader recognises it: compatibility-folded (full-width ``Ｒ０Ａ``), upper
    case, without spaces or punctuation (`` r0a``, ``R0A.``, ``r-0a`` are R0A); null when what is left is not an
    ODS code. Used to withhold the organisation of a row quarantined for how its code is written."""
    folded = code.str.normalize("NFKC").str.to_uppercase().str.replace_all("[^A-Z0-9]", "")
    return pl.when(folded.str.contains(ODS_CODE)).then(folded)


def organisation_name(name: pl.Expr) -> pl.Expr:
    """An organisation's name compared as a reader compares it: compatibility-folded, upper case, runs of spaces as
    one; null when blank (a row whose code cannot be read still names its organisation)."""
    folded = name.str.normalize("NFKC").str.to_uppercase().str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(folded != "").then(folded)


def refuse_rejected(path: Path, rejected: pl.DataFrame, hints: Mapping[str, str]) -> None:
    """Refuse a file over its first rejected cell (quarantine records of :func:`validate_rows`), in words with what to
    write there (``hints`` per column, else the rule's reason), counting the other rows: for inputs whose rows feed a
    test directly, where a quarantined row would pass unseen. Nothing when ``rejected`` holds only repeated keys."""
    rejected = rejected.filter(pl.col("check") != UNIQUENESS)  # a repeated key is the caller's to name
    if rejected.is_empty():
        return
    first = rejected.sort("source_row").row(0, named=True)
    rows = sorted(set(rejected["source_row"].to_list()))
    column, value = first["column"], first["value"]
    said = "is blank" if value is None else f"{value!r} is not accepted"
    rule = str(first["check"]).split("(")[0]
    others = ", ".join(map(str, rows[1:6])) + (" ..." if len(rows) > 6 else "")
    more = f" (also row{'s' if len(rows) > 2 else ''} {others})" if len(rows) > 1 else ""
    hint = hints.get(column, first["reason"])
    raise SourceFileError(path, f"{column} {said} (rule {rule}): {hint}{more}", row=first["source_row"], column=column)
