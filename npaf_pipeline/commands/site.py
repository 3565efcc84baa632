"""``npaf site``: the static scorecard and league-table site, built from a published snapshot."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "site",
        help="write the static scorecard and league-table site from a published snapshot",
        description=(
            "Write a self-contained static site (league tables per quarter and type, a page per organisation and "
            "quarter, national and data-quality pages) that opens from the folder or any static file server, with "
            "no network. The folder is replaced whole; it must be new, empty, or a previous site."
        ),
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the site to")
    parser.add_argument(
        "--snapshot",
        type=Path,
        metavar="DIR",
        help="publish output folder to read (default: NPAF_OUTPUT_DIR or build/output)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from npaf_pipeline.site import build_site  # polars and jinja2 load only when the command runs

    snapshot = args.snapshot or Path(os.environ.get("NPAF_OUTPUT_DIR", "build/output"))
    report = build_site(snapshot, args.out)
    print(report.summary())
    return 0
