"""``npaf explain CODE``: why an organisation is where it is, on one terminal page, from the published snapshot."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def default_snapshot() -> Path:
    """The folder ``npaf backfill`` publishes to: NPAF_OUTPUT_DIR, else build/output."""
    return Path(os.environ.get("NPAF_OUTPUT_DIR", "build/output"))


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "explain",
        help="one page on an organisation's segment: drivers, distance, change since last quarter",
        description=(
            "Read the published snapshot (never the pipeline) and print an organisation's segment and rank with "
            "likely ranges, the items pulling its average most, the value each metric alone would need for the "
            "next better segment, the change since last quarter with its class, the override, and an ICB's "
            "system considerations."
        ),
    )
    p.add_argument("code", help="ODS code of the trust or ICB")
    p.add_argument("--quarter", default=None, help="e.g. '2025-26 Q1' (default: the latest that holds CODE)")
    p.add_argument(
        "--snapshot", type=Path, default=None, help="published output (default: NPAF_OUTPUT_DIR or build/output)"
    )
    p.add_argument("--top", type=int, default=3, help="drivers shown each way (default 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from npaf_pipeline.explain.page import page

    out = args.snapshot or default_snapshot()
    Console().print(page(out, args.code, args.quarter, args.top))
    return 0
