"""NHS England's dashboard and league-table CSV layouts, rebuilt from published Parquet so existing NHS tools can
read our runs.

Rows: OF0xxx values, OF1xxx scores, OF40xx domain scores, OF41xx domain segments and the OF50xx summary,
with values rounded half-up to 2 dp. The domain ids come from the files' own metadata, so an export needs
the published folder only, not the rule set that produced it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from npaf_pipeline.engine.numeric import round_value
from npaf_pipeline.partitions import PART_FILE, partition_unit, plain_partitions
from npaf_pipeline.publish.atomic import write_text_atomic
from npaf_pipeline.publish.parquet import read_kv_metadata
from npaf_pipeline.quarters import Quarter, parse_quarter
from npaf_pipeline.sources import nof_csv, nof_league_table

COLUMNS = nof_csv.LAYOUT
"""NHS England's dashboard CSV header, defined once with the reader of those files."""
SUMMARY = [  # (id, description, organisation_segmentation column, unit, rank column)
    ("OF5000", "Adjusted segment", "adjusted_segment", "segment", "amr_rank"),
    ("OF5002", "Average metric score", "average_score", "score", "average_rank"),
    ("OF5003", "Unadjusted segment", "unadjusted_segment", "segment", None),
    ("OF5004", "Financial override", "override_flag", "flag", None),
    ("OF5005", "Final segment score override", "final_segment", "segment", None),
    ("OF5007", "Is the organisation in the Recovery Support Programme?", "intensive_support", "flag", None),
]
NO_VALUE_ROW = {"provided_score", "lookup"}  # published as a score only
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")


class ExportError(ValueError):
    """A published folder or quarter that cannot be exported."""


def neutralise(cell: str) -> str:
    """Prefix text a spreadsheet would run as a formula with an apostrophe; numbers pass unchanged."""
    if cell.startswith(_FORMULA_START) and not _NUMBER.match(cell.strip()):
        return "'" + cell
    return cell


def number(value: Any) -> str:
    """Half-up to 2 dp as the engine rounds (x.xx49999… from binary floats counts as a half, as in a
    spreadsheet), written as NHS England writes it (``2.0``, ``3.64``); empty for null."""
    if value is None:
        return ""
    text = f"{round_value(float(value), 2):.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _rank(value: Any) -> str:
    return "" if value is None else str(int(value))


def published_quarters(out_dir: Path) -> list[Quarter]:
    """Quarters with an organisation_segmentation partition, oldest first."""
    found = []
    for part in (out_dir / "organisation_segmentation").glob(f"fy=*/quarter=*/{PART_FILE}"):
        fy = part.parent.parent.name.removeprefix("fy=")
        q = part.parent.name.removeprefix("quarter=")
        found.append(parse_quarter(f"{fy} {q}"))
    return sorted(found)


def _read(out_dir: Path, table: str, quarter: Quarter) -> tuple[pl.DataFrame, dict[str, str]]:
    path = out_dir / partition_unit(table, quarter) / PART_FILE
    if not path.is_file():
        raise ExportError(f"{out_dir}: no {table} published for {quarter.label} (expected {path})")
    return plain_partitions(pl.read_parquet(path)), read_kv_metadata(path)


def _org_cells(row: dict[str, Any], quarter: Quarter) -> list[str]:
    keys = ("region", "org_type_label", "org_subtype", "org_code", "org_name")
    return [quarter.nhse_label, *(row.get(k) or "" for k in keys)]


def _line(
    org: list[str],
    where: tuple[str, str],
    metric: tuple[str, str],
    period: str,
    unit: str,
    value: Any,
    stats: tuple[str, str, str] = ("", "", ""),
    rank: Any = None,
) -> list[str]:
    """One CSV row: organisation cells, (domain, sub-domain), (id, description), then the figures."""
    return [*org, *where, *metric, period, unit, number(value), *stats, _rank(rank)]


def _metric_lines(org: list[str], s: dict[str, Any], quarter: Quarter) -> Iterator[list[str]]:
    where, period = (s["domain_name"], s["sub_domain"] or ""), s["period"] or quarter.nhse_label
    if s["value"] is not None and s["method"] not in NO_VALUE_ROW:
        stats = (number(s["type_median"]), number(s["type_lower_quartile"]), number(s["type_upper_quartile"]))
        yield _line(
            org, where, (s["metric_id"], s["metric_name"]), period, s["unit"] or "", s["value"], stats, s["metric_rank"]
        )
    if s["score"] is not None:
        yield _line(org, where, (s["score_id"], s["metric_name"]), period, "score", s["score"], rank=s["metric_rank"])


def _summary_lines(org: list[str], row: dict[str, Any], domains: list[dict], quarter: Quarter) -> Iterator[list[str]]:
    label = quarter.nhse_label
    for d in domains:
        for kind, rank in (("score", row.get(f"{d['id']}_rank")), ("segment", None)):
            value, metric_id = row.get(f"{d['id']}_{kind}"), d.get(f"{kind}_id")
            if metric_id and value is not None:
                text = f"{d['name']} domain {kind}"
                yield _line(org, (d["name"], text), (metric_id, text), label, kind, value, rank=rank)
    for metric_id, text, column, unit, rank_column in SUMMARY:
        if row.get(column) is not None:
            rank = row.get(rank_column) if rank_column else None
            yield _line(org, ("Summary", "Summary"), (metric_id, text), label, unit, row[column], rank=rank)


def quarter_rows(out_dir: Path, quarter: Quarter) -> Iterator[list[str]]:
    """Every CSV row of one quarter, organisation by organisation (cells before formula neutralisation)."""
    orgs, meta = _read(out_dir, "organisation_segmentation", quarter)
    scores, _ = _read(out_dir, "metric_scores", quarter)
    domains = json.loads(meta.get("domains", "[]"))
    by_code = {r["org_code"]: r for r in orgs.iter_rows(named=True)}
    metric_rows: dict[str, list[dict[str, Any]]] = {}
    for s in scores.sort("org_code", "metric_id").iter_rows(named=True):
        metric_rows.setdefault(s["org_code"], []).append(s)
    for code in sorted(set(by_code) | set(metric_rows)):
        row = by_code.get(code, {"org_code": code})
        org = _org_cells(row, quarter)
        for s in metric_rows.get(code, []):
            yield from _metric_lines(org, s, quarter)
        yield from _summary_lines(org, row, domains, quarter)


def export_nhse(out_dir: str | Path, dest: str | Path, quarters: Sequence[str] | None = None) -> int:
    """Write NHS England's CSV layout for ``quarters`` (default: every published quarter); return data rows."""
    return _write_csv(Path(out_dir), Path(dest), quarters, COLUMNS, quarter_rows)


def _write_csv(
    out: Path,
    dest: Path,
    quarters: Sequence[str] | None,
    header: Sequence[str],
    rows_of: Callable[[Path, Quarter], Iterator[list[str]]],
) -> int:
    """One NHS England CSV (BOM, CRLF, formula cells neutralised) of every chosen quarter's rows; return rows."""
    chosen = sorted({parse_quarter(q) for q in quarters}) if quarters else published_quarters(out)
    if not chosen:
        raise ExportError(f"{out}: no published quarters found (is this a publish output folder?)")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    n = 0
    for quarter in chosen:
        for row in rows_of(out, quarter):
            writer.writerow([neutralise(cell) for cell in row])
            n += 1
    write_text_atomic(dest, buffer.getvalue(), encoding="utf-8-sig")
    return n


# --- the league table ---------------------------------------------------------------------------------------

LEAGUE_COLUMNS = nof_league_table.COLUMNS
"""NHS England's league-table header (later releases), defined once with the reader of those files."""


def _whole(value: Any) -> str:
    """Segments and ranks as NHS England writes them: ``1.0``."""
    return "" if value is None else f"{int(value)}.0"


def _range(low: Any, high: Any, cell: Any) -> str:
    """``1.2 to 1.89`` / ``1 to 11``; empty when the run has no likely range."""
    if low is None or high is None:
        return ""
    return str(cell) if cell else f"{low} to {high}"


def league_rows(out_dir: Path, quarter: Quarter) -> Iterator[list[str]]:
    """League-table rows of one quarter, by trust type and position (cells before formula neutralisation)."""
    table, _ = _read(out_dir, "league_table", quarter)
    for r in table.sort("trust_type", "rank", "trust_code").iter_rows(named=True):
        low, high = r["likely_range_of_average_score_low"], r["likely_range_of_average_score_high"]
        avg_range = _range(
            None if low is None else number(low),
            None if high is None else number(high),
            r["likely_range_of_average_score"],
        )
        rank_range = _range(r["likely_range_of_rank_low"], r["likely_range_of_rank_high"], r["likely_range_of_rank"])
        yield [
            quarter.nhse_label,
            r["region"] or "",
            r["trust_type"],
            r["trust_subtype"] or "",
            r["trust_code"],
            r["trust_name"] or "",
            number(r["average_score"]),
            avg_range,
            _whole(r["segment"]),
            "Yes" if r["trust_in_financial_deficit"] else "No",
            _whole(r["rank"]),
            rank_range,
        ]


def export_league_table(out_dir: str | Path, dest: str | Path, quarters: Sequence[str] | None = None) -> int:
    """Write NHS England's league-table CSV layout for ``quarters`` (default: every published quarter)."""
    return _write_csv(Path(out_dir), Path(dest), quarters, LEAGUE_COLUMNS, league_rows)
