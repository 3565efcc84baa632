"""The ``npaf`` command line. Each sub-command is a module exposing ``register(subparsers)``: the engine's
own in ``npaf_pipeline/commands/``, and others (the Dagster-backed ``backfill``) declared as ``npaf.commands``
entry points, so the engine never imports the orchestration layer. Errors become plain messages.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from npaf_pipeline import __version__, commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="npaf", description="NHS Oversight Framework pipeline")
    parser.add_argument("--version", action="version", version=f"npaf {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    names = [f"{commands.__name__}.{info.name}" for info in pkgutil.iter_modules(commands.__path__)]
    names += [ep.value for ep in entry_points(group="npaf.commands")]
    for name in sorted(set(names)):
        module = importlib.import_module(name)
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("npaf: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as exc:  # every input problem the engine reports is one of these
        if args.debug:
            raise
        print(f"npaf {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # an unexpected failure: still a sentence first, the traceback on request
        if args.debug:
            raise
        print(f"npaf {args.command}: unexpected {type(exc).__name__}: {exc} (re-run with --debug)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
