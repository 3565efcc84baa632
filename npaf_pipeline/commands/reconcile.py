"""``npaf reconcile``: recompute NHS England's published NOF files and report match rates."""

from __future__ import annotations

import argparse
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from npaf_pipeline.commands import shipped_rule_sets

if TYPE_CHECKING:
    import polars as pl


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reconcile",
        help="recompute published NOF results and compare, end to end and stage by stage",
        description=(
            "Read NHS England NOF dashboard CSVs, recompute every stage from the published inputs, and compare "
            "with every published OF1xxx, OF40xx, OF41xx and OF5xxx value and rank. Exits 0 whenever the "
            "comparison ran, whatever it found."
        ),
    )
    p.add_argument(
        "files",
        nargs="+",
        type=Path,
        help="NOF dashboard CSV files (any trust types, any quarters), and optionally NHS England's league-table "
        "CSVs for the same quarters (told apart by their header)",
    )
    p.add_argument(
        "--out", type=Path, required=True, help="folder for reconciliation.parquet and known_differences.csv"
    )
    p.add_argument(
        "--framework",
        default="nof-2025-26",
        help=f"rule set: one of {', '.join(shipped_rule_sets())}, or a YAML path (default: nof-2025-26)",
    )
    p.add_argument("--quarter", default=None, help="quarter of files without a Quarter column, e.g. '2025-26 Q1'")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import polars as pl  # heavy imports here, so that `npaf --help` stays fast

    from npaf_pipeline.reconcile.compare import INHERITED_REASON, reconcile
    from npaf_pipeline.ruleset import load_ruleset
    from npaf_pipeline.sources import nof_league_table
    from npaf_pipeline.sources.nof_csv import read_nof_csv

    rs = load_ruleset(args.framework)
    tables = [f for f in args.files if nof_league_table.is_league_table(f)]
    data = [f for f in args.files if f not in tables]
    if not data:
        raise ValueError("league tables are compared with a run of NHS England's data files: give those CSVs too")
    release = read_nof_csv(data, quarter=args.quarter)
    league = nof_league_table.read(tables, release.quarters) if tables else None
    result = reconcile(release, rs, league_table=league.rows if league else None)
    args.out.mkdir(parents=True, exist_ok=True)
    result.rows.write_parquet(args.out / "reconciliation.parquet")
    counts = result.rows.group_by("known_difference").len().rename({"len": "rows"})
    rank_counts = result.rows.group_by("rank_known_difference").len().rename({"len": "rank_rows"})
    # entries about ids not reconciled here (the likely ranges, without league tables) are not listed
    present = result.rows["metric_id"].unique().to_list()
    relevant = [k for k in result.known if any(fnmatch(m, p) for m in present for p in k.metrics)]
    reasons = {k.id: k.reason for k in relevant} | {"inherited-from-upstream": INHERITED_REASON}
    known = (
        pl.DataFrame({"id": list(reasons), "reason": list(reasons.values())})
        .join(counts, left_on="id", right_on="known_difference", how="left")
        .join(rank_counts, left_on="id", right_on="rank_known_difference", how="left")
        .with_columns(pl.col("rows").fill_null(0), pl.col("rank_rows").fill_null(0))
    )
    known.write_csv(args.out / "known_differences.csv")
    orgs = result.rows.select("org_code").n_unique()
    print(f"Reconciled {', '.join(release.quarters)}: {orgs} organisations, rule set {rs.id} {rs.version}\n")
    print(_render(result.stage_summary(), "By stage"))
    print()
    print(_render(result.summary(), "By published id"))
    print()
    print("Known differences (rows covered: value / rank):")
    for row in known.iter_rows(named=True):
        print(f"  - {row['id']} ({row['rows']} / {row['rank_rows']}): {row['reason']}")
    unexplained = result.rows.filter(~pl.col("match") & pl.col("known_difference").is_null())
    print(f"\nUnexplained value differences: {unexplained.height}")
    for row in unexplained.head(20).iter_rows(named=True):
        print(
            f"  {row['mode']:<10} {row['quarter']} {row['org_code']:<5} {row['metric_id']}: "
            f"published {row['published_value']} computed {row['computed_value']}"
        )
    rank_gaps = result.rows.filter((pl.col("rank_match") == False) & pl.col("rank_known_difference").is_null())  # noqa: E712
    print(f"Unexplained rank differences: {rank_gaps.height}")
    for row in rank_gaps.head(20).iter_rows(named=True):
        print(
            f"  {row['mode']:<10} {row['quarter']} {row['org_code']:<5} {row['metric_id']}: "
            f"published rank {row['published_rank']} computed {row['computed_rank']}"
        )
    _print_set_aside(result.set_aside)
    if league is not None:
        print(f"\nLeague tables: {league.rows.height} trusts read, {league.quarantine.height} cells quarantined")
        for row in league.quarantine.head(20).iter_rows(named=True):
            print(f"  {row['source_file']}, line {row['source_row']}: {row['reason']} ({row['value']})")
        _print_without_data(result.league_without_data)
    print(f"\nWrote {args.out / 'reconciliation.parquet'} and {args.out / 'known_differences.csv'}")
    return 0


def _print_without_data(without: pl.DataFrame) -> None:
    """League-table trusts that no data file given holds: not compared (there is nothing to compute them from)."""
    if without.is_empty():
        return
    print(f"League-table trusts not in the data files (not compared): {without.height}")
    for (quarter, trust_type), group in without.group_by("quarter", "trust_type", maintain_order=True):
        codes = group["org_code"].to_list()
        shown = ", ".join(codes[:12]) + (f" and {len(codes) - 12} more" if len(codes) > 12 else "")
        print(f"  {quarter} {trust_type}: {shown}")


def _print_set_aside(set_aside: pl.DataFrame) -> None:
    """Published values kept out of the recomputation because the method has no score for them."""
    print(f"\nPublished values set aside (no score under the rule set): {set_aside.height}")
    if set_aside.is_empty():
        return
    for row in set_aside.head(20).iter_rows(named=True):
        where = f"{row['source_file']}, line {row['source_row']}, column {row['column']}"
        print(f"  {where}: {row['reason']} (value {row['value']})")


def _render(table: pl.DataFrame, title: str) -> str:
    label = "stage" if "stage" in table.columns else "metric_id"
    lines = [
        title,
        f"  {'mode':<10} {label:<24} {'rows':>5} {'match':>7} {'known':>6} {'match outside known':>22} "
        f"{'ranks':>6} {'rank =':>7} {'rank ±2':>8}",
    ]
    for r in table.iter_rows(named=True):
        outside = r["rows_outside_known"]
        pct = f"{100 * r['matched_outside_known'] / outside:.1f}%" if outside else "-"
        rank_pct = f"{100 * r['rank_matched'] / r['ranked']:.1f}%" if r["ranked"] else "-"
        lines.append(
            f"  {r['mode']:<10} {r[label]:<24} {r['rows']:>5} {r['matched']:>7} {r['known']:>6} "
            f"{r['matched_outside_known']:>6}/{outside:<6} {pct:>8} {r['ranked']:>6} {rank_pct:>7} "
            f"{r['rank_within_2']:>8}"
        )
    return "\n".join(lines)
