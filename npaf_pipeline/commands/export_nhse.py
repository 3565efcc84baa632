"""``npaf export-nhse``: published Parquet -> NHS England's dashboard CSV layout."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export-nhse",
        help="write published quarters in NHS England's NOF CSV layout",
        description="Rebuild NHS England's NOF dashboard CSV (OF0xxx to OF5xxx rows) and its league-table CSV from a "
        "publish output folder.",
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        metavar="OUTPUT_DIR",
        help="folder that publish wrote (holds organisation_segmentation/, metric_scores/, ...)",
    )
    parser.add_argument(
        "--quarters",
        nargs="+",
        metavar="QUARTER",
        help="quarters to export, e.g. '2025-26 Q1' 'Q2 2025/26' (default: every published quarter)",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.csv", help="CSV file to write")
    parser.add_argument(
        "--league-table",
        type=Path,
        metavar="FILE.csv",
        help="league-table CSV to write (default: beside --out, named <FILE>-league-table.csv)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from npaf_pipeline.publish.nhse_csv import (  # here, so that `npaf --help` stays fast
        export_league_table,
        export_nhse,
    )

    if not args.source.is_dir():
        raise FileNotFoundError(f"{args.source}: no such output folder")
    quarters = [q for item in args.quarters or [] for q in item.split(",") if q.strip()]
    rows = export_nhse(args.source, args.out, quarters or None)
    print(f"wrote {rows} rows to {args.out}")
    league = args.league_table or args.out.with_name(f"{args.out.stem}-league-table.csv")
    trusts = export_league_table(args.source, league, quarters or None)
    print(f"wrote {trusts} league-table rows to {league}")
    return 0
