"""``npaf data-dictionary``: regenerate docs/data-dictionary.md from the published-table models, or check it."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

DEFAULT_PATH = Path("docs") / "data-dictionary.md"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data-dictionary",
        help="write docs/data-dictionary.md from schemas/published.py",
        description="Regenerate the data dictionary of the published tables; with --check, only verify it.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is missing or out of date")
    parser.add_argument(
        "--path", type=Path, default=DEFAULT_PATH, help=f"dictionary file (default: {DEFAULT_PATH}, from the cwd)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from npaf_pipeline.publish.atomic import write_text_atomic  # here, so that `npaf --help` stays fast
    from npaf_pipeline.publish.dictionary import shipped_markdown

    expected = shipped_markdown()
    path: Path = args.path
    if not args.check:
        write_text_atomic(path, expected)
        print(f"wrote {path}")
        return 0
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if current == expected:
        print(f"{path} is up to date")
        return 0
    if current is None:
        print(f"{path} does not exist; run `npaf data-dictionary` to create it", file=sys.stderr)
        return 1
    diff = difflib.unified_diff(current.splitlines(), expected.splitlines(), str(path), "generated", lineterm="")
    print(f"{path} is out of date; run `npaf data-dictionary` to regenerate it:", file=sys.stderr)
    for line in list(diff)[:40]:
        print(line, file=sys.stderr)
    return 1
