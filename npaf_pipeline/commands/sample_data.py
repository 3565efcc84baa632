"""``npaf sample-data``: a synthetic landing zone in the real published layouts, for demos, tests and benchmarks."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from npaf_pipeline.quarters import parse_quarter


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample-data",
        help="write a synthetic landing zone (fictional trusts, every source in its published layout)",
        description=(
            "Write DIR/<source>/<files> for fictional organisations: ODS etr and trust-type list, monthly A&E CSVs, "
            "a CWT-CRS extract, CHS waiting-list workbooks, the AmbSYS time series, RTT full CSVs, canonical metric "
            "values, override flags and an intensive-support list. Values are calibrated to NHS England's Q1 "
            "2025/26 NOF figures. The same arguments always write the same bytes."
        ),
    )
    p.add_argument("--quarters", type=int, required=True, help="number of consecutive quarters")
    p.add_argument("--seed", type=int, required=True, help="random seed (another seed, other values)")
    p.add_argument("--out", type=Path, required=True, help="landing folder to write (created if absent)")
    p.add_argument("--first", default="2025-26 Q1", type=_quarter, help="first quarter (default: 2025-26 Q1)")
    p.add_argument("--scale", type=int, default=1, help="organisations and rows x K (1: ~40 trusts; 5: ~200)")
    p.set_defaults(func=_run)


def _quarter(text: str) -> str:
    try:
        return parse_quarter(text).label
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    from npaf_pipeline.sample import generate  # imported here so other commands start without numpy/xlsxwriter

    started = time.perf_counter()
    result = generate(args.out, args.quarters, args.seed, args.first, args.scale)
    seconds = time.perf_counter() - started
    quarters = result["quarters"]
    print(f"Synthetic landing zone in {result['out']}: {quarters[0]} to {quarters[-1]}, seed {result['seed']}")
    types = ", ".join(f"{n} {t}" for t, n in result["organisations"].items())
    print(f"Organisations: {sum(result['organisations'].values())} ({types})")
    print("Files:")
    for source, files in result["files"].items():
        rows = sum(f["rows"] for f in files)
        size = sum(f["bytes"] for f in files)
        print(f"  {source:<18} {len(files):>3} file(s) {rows:>9,} rows {size / 1e6:>8.2f} MB")
    print(f"Total: {result['bytes'] / 1e6:.2f} MB in {seconds:.1f} s")
    return 0
