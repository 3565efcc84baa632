"""Adapter for NHS England's NOF league-table CSV (landing folder ``nof_league_table/``).

One row per trust: average score, its likely range, adjusted segment, financial-deficit flag, league rank and
its likely range. It is a published reference, not metric values: ``npaf reconcile`` compares a run with it
and ``npaf export-nhse`` writes the same layout. Structural problems stop the file (:class:`SourceFileError`);
a row whose cells break :class:`schemas.nof_league_table.LeagueTableRaw` is quarantined with its file, line,
column and rule, and every file's rows are accounted (read = accepted + quarantined).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.sources.base import FileAccount, SourceFileError, sha256_file, validate_rows
from npaf_pipeline.sources.raw import read_bytes
from schemas.canonical import QUARANTINE_COLUMNS, empty_quarantine
from schemas.nof_league_table import RANK_RANGE, SCORE_RANGE, LeagueTableRaw

SOURCE = "nof_league_table"
COLUMNS = [
    "Quarter",
    "Region",
    "Trust_type",
    "Trust_subtype",
    "Trust_code",
    "Trust_name",
    "Average_score",
    "Likely_range_of_average_score",
    "Segment",
    "Trust_in_financial_deficit",
    "Rank",
    "Likely_range_of_rank",
]
"""The later releases' header, in order (the layout ``npaf export-nhse`` writes)."""
FIRST_RELEASE_QUARTER = "Reporting_date"
"""The first release's name for the quarter column."""
SCHEMA = {
    "quarter": pl.String,
    "region": pl.String,
    "trust_type": pl.String,
    "trust_subtype": pl.String,
    "org_code": pl.String,
    "org_name": pl.String,
    "average_score": pl.Float64,
    "average_low": pl.Float64,
    "average_high": pl.Float64,
    "segment": pl.Int64,
    "financial_deficit": pl.Boolean,
    "rank": pl.Int64,
    "rank_low": pl.Int64,
    "rank_high": pl.Int64,
    "source_file": pl.String,
    "source_row": pl.Int64,
}


@dataclass
class LeagueTables:
    """Typed league-table rows of one or more files, with what was quarantined and each file's accounting."""

    rows: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SCHEMA))
    quarantine: pl.DataFrame = field(default_factory=empty_quarantine)
    accounts: list[FileAccount] = field(default_factory=list)

    def check_accounting(self) -> None:
        for account in self.accounts:
            account.check()


def is_league_table(path: str | Path) -> bool:
    """Whether a CSV's header is a league table's (used to tell league tables from dashboard files)."""
    try:
        head = read_bytes(Path(path))[:4096].decode("utf-8-sig", errors="replace")
    except (OSError, SourceFileError):
        return False
    first = next(csv.reader(io.StringIO(head.splitlines()[0] if head else "")), [])
    names = {h.strip() for h in first}
    return {"Likely_range_of_average_score", "Likely_range_of_rank", "Trust_code"} <= names


def read(paths: Sequence[str | Path], quarters: Sequence[str] | None = None) -> LeagueTables:
    """Every file's rows, restricted to ``quarters`` when given (rows of other quarters still count as read)."""
    results = [_read_one(Path(p)) for p in paths]
    rows = pl.concat([r.rows for r in results]) if results else pl.DataFrame(schema=SCHEMA)
    if quarters is not None:
        wanted = [parse_quarter(q).label for q in quarters]
        rows = rows.filter(pl.col("quarter").is_in(wanted))
    quarantine = pl.concat([r.quarantine for r in results]) if results else empty_quarantine()
    out = LeagueTables(
        rows.sort("quarter", "trust_type", "rank", "org_code"), quarantine, [a for r in results for a in r.accounts]
    )
    out.check_accounting()
    return out


def _read_one(path: Path) -> LeagueTables:
    raw = read_bytes(path)
    if not raw.removeprefix(b"\xef\xbb\xbf").strip():
        raise SourceFileError(path, "the file is empty; expected an NHS England NOF league table")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceFileError(path, f"not UTF-8 text (byte {raw[exc.start]:#x})", row=line) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader)]
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        # which of two same-named columns holds the data cannot be told; never pick one
        raise SourceFileError(path, "named more than once in the header", row=1, column=", ".join(twice))
    names = {FIRST_RELEASE_QUARTER: "Quarter"} if "Quarter" not in header else {}
    header = [names.get(h, h) for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise SourceFileError(
            path,
            f"not an NHS England NOF league table: missing column(s) {', '.join(missing)} (found: {', '.join(header)})",
            row=1,
        )
    index = {c: header.index(c) for c in COLUMNS}
    cells: list[list[str | None]] = []
    lines: list[int] = []
    short: list[tuple[int, int]] = []
    for fields in reader:
        line = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            short.append((line, len(fields)))
            continue
        cells.append([fields[i].strip() or None for i in index.values()])
        lines.append(line)
    if not cells and not short:
        raise SourceFileError(path, "a header but no rows")
    sha = sha256_file(path)
    frame = pl.DataFrame(cells, schema=dict.fromkeys(COLUMNS, pl.String), orient="row").with_columns(
        pl.Series("source_row", lines, dtype=pl.Int64)
    )
    quarter_column = {"Quarter": FIRST_RELEASE_QUARTER} if names else None
    accepted, quarantine = validate_rows(
        frame, LeagueTableRaw, source=SOURCE, path=path, sha256=sha, column_names=quarter_column
    )
    if short:
        quarantine = pl.concat([quarantine, _short_rows(short, len(header), path, sha)]).sort("source_row")
    account = FileAccount(
        SOURCE, str(path), sha, len(lines) + len(short), accepted.height, quarantine["source_row"].n_unique()
    )
    return LeagueTables(_typed(accepted, path), quarantine, [account])


def _short_rows(short: list[tuple[int, int]], width: int, path: Path, sha: str) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (
                SOURCE,
                str(path),
                sha,
                line,
                None,
                "field_count",
                str(n),
                f"row has {n} fields where the header has {width}",
            )
            for line, n in short
        ],
        schema=dict(empty_quarantine().schema),
        orient="row",
    ).select(QUARANTINE_COLUMNS)


def _typed(accepted: pl.DataFrame, path: Path) -> pl.DataFrame:
    quarters = {}
    for text, line in accepted.group_by("Quarter").agg(pl.col("source_row").min()).iter_rows():
        try:
            quarters[text] = parse_quarter(text).label
        except ValueError as exc:
            raise SourceFileError(path, str(exc), row=line, column="Quarter") from None

    def ends(column: str, pattern: str, dtype: pl.DataType) -> list[pl.Expr]:
        return [pl.col(column).str.extract(pattern, g).cast(pl.Float64).cast(dtype) for g in (1, 3)]

    avg_low, avg_high = ends("Likely_range_of_average_score", SCORE_RANGE, pl.Float64)
    rank_low, rank_high = ends("Likely_range_of_rank", RANK_RANGE, pl.Int64)
    return accepted.select(
        pl.col("Quarter").replace_strict(quarters, return_dtype=pl.String).alias("quarter"),
        pl.col("Region").alias("region"),
        pl.col("Trust_type").alias("trust_type"),
        pl.col("Trust_subtype").alias("trust_subtype"),
        pl.col("Trust_code").alias("org_code"),
        pl.col("Trust_name").alias("org_name"),
        pl.col("Average_score").cast(pl.Float64).alias("average_score"),
        avg_low.alias("average_low"),
        avg_high.alias("average_high"),
        pl.col("Segment").cast(pl.Float64).cast(pl.Int64).alias("segment"),
        pl.col("Trust_in_financial_deficit").str.to_lowercase().is_in(["yes", "y"]).alias("financial_deficit"),
        pl.col("Rank").cast(pl.Float64).cast(pl.Int64).alias("rank"),
        rank_low.alias("rank_low"),
        rank_high.alias("rank_high"),
        pl.lit(str(path)).alias("source_file"),
        "source_row",
    )
