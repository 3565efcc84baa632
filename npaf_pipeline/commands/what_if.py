"""``npaf what-if``: re-run a published quarter with changed values and show what moves (nothing is written)."""

from __future__ import annotations

import argparse
from pathlib import Path

from npaf_pipeline.commands.explain import default_snapshot


def _assignment(text: str) -> tuple[str, float]:
    metric, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return metric.strip().upper(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected METRIC=VALUE such as OF0013=78.5, got {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "what-if",
        help="re-run a published quarter with changed metric values",
        description=(
            "Re-run one quarter from the published snapshot with some of an organisation's values changed and show "
            "its new metric scores, average, segment, rank and likely ranges, and which other organisations move. "
            "--hold-population gives the first-order answer instead (only this organisation re-scored; the others' "
            "scores, the cut-points and the flags held), as segment_distance states it. Never writes."
        ),
    )
    p.add_argument("--quarter", default=None, help="e.g. '2025-26 Q1' (default: the latest that holds --org)")
    p.add_argument("--org", required=True, help="ODS code of the organisation whose values change")
    p.add_argument(
        "--set",
        dest="changes",
        action="append",
        type=_assignment,
        required=True,
        metavar="METRIC=VALUE",
        help="a changed value, e.g. OF0013=78.5 (repeatable)",
    )
    p.add_argument(
        "--snapshot", type=Path, default=None, help="published output (default: NPAF_OUTPUT_DIR or build/output)"
    )
    p.add_argument("--hold-population", action="store_true", help="first order: hold everyone else as published")
    p.add_argument("--others", type=int, default=15, help="other organisations listed (default 15)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from npaf_pipeline.explain.page import resolve_org, resolve_quarter
    from npaf_pipeline.explain.report import what_if_page
    from npaf_pipeline.explain.snapshot import read_quarter
    from npaf_pipeline.explain.whatif import full, hold_population, load_quarter

    out = args.snapshot or default_snapshot()
    label = resolve_quarter(out, args.quarter, args.org)
    seg = read_quarter(out, "organisation_segmentation", label)
    assert seg is not None
    org = resolve_org(seg, args.org, label)
    inputs = load_quarter(out, label)
    changes = dict(args.changes)
    outcome = hold_population(inputs, org, changes) if args.hold_population else full(inputs, org, changes)
    Console().print(what_if_page(inputs, org, changes, outcome, args.others))
    return 0
