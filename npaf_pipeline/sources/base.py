"""What every source adapter shares: the result type, whole-file errors, quarantine records, requested quarters.

An adapter turns the raw files of one landing folder into canonical metric values. Row-level problems are
quarantined (file, row, column, rule, value), never dropped; a file that cannot be read at all raises
:class:`SourceFileError`. ``rows read = rows accepted + rows quarantined`` is checked for every file.
"""

from __future__ import annotations

import functools
import hashlib
import operator
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.backends.polars.checks import PolarsCheckBackend
from pandera.backends.polars.register import register_polars_backends
from pandera.config import CONFIG
from pandera.constants import CHECK_OUTPUT_KEY

from npaf_pipeline.quarters import Quarter, parse_quarter
from schemas.canonical import (
    METRIC_VALUE_COLUMNS,
    OPTIONAL_METRIC_VALUE_COLUMNS,
    QUARANTINE_COLUMNS,
    MetricValues,
    empty_metric_values,
    empty_quarantine,
)


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

    The model's checks are first evaluated together in one polars query (:func:`screen_rows`); pandera itself
    (one query per check, which is what costs) then runs only when a row fails, and only on the failing rows
    when the checks give them the same verdicts on their own. Either way the result is what validating the
    whole frame with pandera gives.
    """
    screen = screen_rows(frame, model)
    if screen is not None:
        fails = failing(screen)
        if not fails.any():
            return frame, empty_quarantine()
        positions = fails.arg_true()
        subset = frame[positions]
        again = screen_rows(subset, model)
        if again is not None and again.equals(screen[positions]):
            bad, records = _pandera_records(subset, model, source, path, sha256, row_column, column_names)
            bad = positions.gather(bad)
            accepted = frame.with_row_index("_idx").filter(~pl.col("_idx").is_in(bad.implode())).drop("_idx")
            return accepted, records
    bad, records = _pandera_records(frame, model, source, path, sha256, row_column, column_names)
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


# --- screening: every check of a model in one query -------------------------------------------------------


def screen_rows(
    frame: pl.DataFrame, model: type[pa.DataFrameModel], *, parsed: Collection[str] = ()
) -> pl.DataFrame | None:
    """Every check of ``model`` evaluated on ``frame`` at once: a boolean frame, a column per check (not-null,
    unique and value checks of every column, the model's unique key) and a row per row, True where it passes.

    The checks are pandera's own (the same functions, the same treatment of nulls), so a row passes them all
    exactly when pandera finds nothing wrong with it; what is saved is pandera's separate query, error object
    and copy of the schema per check (about a millisecond each, whatever the size of the frame). None when the
    frame cannot be screened row by row (a column missing or of another dtype than the model declares, a check
    that does not give one answer per row, a model feature this does not model): validate with pandera then.

    ``parsed``: columns the model declares as text but that the caller has already read as numbers with a
    parser no laxer than the column's text patterns (so its ``str_*`` checks hold for every cell): their dtype
    and ``str_*`` checks are skipped, every other check of theirs runs on the numbers.
    """
    compiled = _compiled_screen(model, tuple(frame.schema.items()), frozenset(parsed))
    if compiled is None:
        return None
    selects, unrecorded, unique = compiled
    lazy = frame.lazy()
    queries = [lazy.select(group) for group in selects]
    for i, (name, check, backend) in enumerate(unrecorded):
        try:
            out = backend.apply(PolarsData(lazy, name))
        except Exception:  # pandera would record the error against the file: let it
            return None
        if not isinstance(out, pl.LazyFrame):
            return None
        queries.append(out.select(_passes(pl.col(CHECK_OUTPUT_KEY), check.ignore_na).alias(f"q{i}")))
    try:
        outputs = [series for out in pl.collect_all(queries) for series in out.iter_columns()] if queries else []
    except Exception:  # pandera would record it as a failed check: let it
        return None
    if unique:
        outputs.append(frame.select(unique).is_duplicated().not_().alias("unique"))
    if any(s.len() != frame.height or s.dtype != pl.Boolean for s in outputs):
        return None
    return pl.DataFrame(outputs) if outputs else pl.DataFrame(height=frame.height)


def failing(screen: pl.DataFrame) -> pl.Series:
    """Rows failing any check of a screen (see :func:`screen_rows`)."""
    if screen.width == 0:
        return pl.repeat(False, screen.height, eager=True)
    return ~functools.reduce(operator.and_, screen.iter_columns())  # (quicker than an all_horizontal query)


@functools.lru_cache(maxsize=256)
def _compiled_screen(
    model: type[pa.DataFrameModel], schema: tuple[tuple[str, pl.DataType], ...], parsed: frozenset[str]
) -> tuple[list[list[pl.Expr]], list[tuple[str, object, PolarsCheckBackend]], list[str]] | None:
    """The screen's expressions for frames of this schema (they depend on the columns and dtypes, not the data):
    (one list of expressions per kind of check, checks to run on the frame itself, the unique key); None when
    the frame cannot be screened."""
    plan = _screen_plan(model)
    if plan is None:
        return None
    columns, unique = plan
    dtypes = dict(schema)
    recorder = _Recorder(pl.Schema(schema))
    # One select per kind of check: each of pandera's built-in checks, each check the model applies to many
    # columns, and the model's other checks together (in one select, what they share is worked out once).
    groups: dict[str, list[pl.Expr]] = {"": []}
    uses = Counter(check.name for _, _, backends in columns for check, _ in backends)
    unrecorded: list[tuple[str, object, PolarsCheckBackend]] = []
    for name, column, backends in columns:
        if name not in dtypes:
            return None
        is_parsed = name in parsed
        if not is_parsed and column.dtype is not None and dtypes[name] != column.dtype.type:
            return None
        if not column.nullable:
            present = pl.col(name).is_not_null()
            groups.setdefault("not null", []).append(
                present & pl.col(name).is_not_nan() if dtypes[name].is_float() else present
            )
        if column.unique:
            groups.setdefault("not null", []).append(~pl.col(name).is_duplicated())
        for check, backend in backends:
            if is_parsed and check.name.startswith("str_"):
                continue
            try:
                out = None if check.element_wise else _record(backend, recorder, name)
            except Exception:  # pandera would record the error against the file: let it
                return None
            if isinstance(out, _Recorded):
                shared = check.is_builtin_check(check.name) or uses[check.name] > 1
                groups.setdefault(check.name if shared else "", []).append(_passes(out.expr, check.ignore_na))
            else:
                unrecorded.append((name, check, backend))
    n = 0
    selects = []
    for group in filter(None, groups.values()):
        selects.append([e.alias(f"c{n + i}") for i, e in enumerate(group)])
        n += len(group)
    return selects, unrecorded, unique


def _record(backend: PolarsCheckBackend, recorder: _Recorder, name: str) -> object:
    try:
        return backend.check_fn(PolarsData(recorder, name))
    except _NotRecorded:
        return None


def _passes(output: pl.Expr, ignore_na: bool) -> pl.Expr:
    """A check's output as pandera reads it: a null passes when the check ignores nulls, else fails."""
    return output.fill_null(ignore_na)  # pandera: ``output | output.is_null()`` (the same) or ``fill_null(False)``


class _NotRecorded(Exception):
    """A check did more with its frame than select one expression."""


@dataclass(frozen=True)
class _Recorded:
    expr: pl.Expr


class _Recorder:
    """Stands in for the LazyFrame a check is given: ``select(expr)`` hands back the expression instead of a query.

    Pandera's built-in checks and this project's are all ``data.lazyframe.select(<one expression>)``; recording
    the expressions lets :func:`screen_rows` build them once per model and frame layout and run them together.
    Any other use of the frame raises :class:`_NotRecorded`, and the check is run on the real frame instead.
    """

    def __init__(self, schema: pl.Schema):
        self._schema = schema

    def select(self, *exprs: object, **named: object) -> _Recorded:
        if named or len(exprs) != 1:
            raise _NotRecorded
        expr = exprs[0]
        if isinstance(expr, list | tuple) and len(expr) == 1:
            expr = expr[0]
        if isinstance(expr, str):
            expr = pl.col(expr)
        if not isinstance(expr, pl.Expr):
            raise _NotRecorded
        return _Recorded(expr)

    def collect_schema(self) -> pl.Schema:
        return self._schema

    def __getattr__(self, name: str) -> object:
        raise _NotRecorded


@functools.cache
def _screen_plan(model: type[pa.DataFrameModel]) -> tuple[list, list[str]] | None:
    """(column name, pandera column, [(check, check backend)]) per column and the unique key; None if unsupported."""
    if CONFIG.use_narwhals_backend:
        return None
    register_polars_backends(use_narwhals_backend=False)  # pandera's built-in checks, as its validate() does
    schema = model.to_schema()
    unsupported = (
        schema.checks
        or schema.strict is True
        or schema.ordered
        or getattr(schema, "drop_invalid_rows", False)
        or getattr(schema, "add_missing_columns", False)
    )
    if unsupported:
        return None
    columns = []
    for name, column in schema.columns.items():
        if column.regex or not column.required or column.default is not None or column.drop_invalid_rows:
            return None
        if column.dtype is None and not column.nullable:
            return None
        checks = []
        for check in column.checks:
            if check.groupby is not None or check.raise_warning:
                return None
            builtin = getattr(check._check_fn, "__name__", None)  # as pandera's Check.__call__ does
            if builtin is not None and check.is_builtin_check(builtin):
                check._check_fn = check.get_builtin_check_fn(builtin)
            checks.append((check, PolarsCheckBackend(check)))
        columns.append((name, column, checks))
    unique = schema.unique or []
    if unique and not all(isinstance(k, str) for k in unique):
        return None
    return columns, list(unique)


def _reason() -> pl.Expr:
    """``<column> fails <check>``; ``row fails <check>`` for a rule over the whole row."""
    named = pl.coalesce(pl.col("column"), pl.lit("row"))
    return pl.concat_str([named, pl.lit(" fails "), pl.col("check")]).alias("reason")


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
            builtin = getattr(check._check_fn, "__name__", None)
            if builtin not in _PER_ROW_CHECKS or not check.is_builtin_check(builtin):
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
