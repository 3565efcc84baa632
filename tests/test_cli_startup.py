"""`npaf --help` and each sub-command's help load no heavy library, list the shipped rule sets, show no markup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from npaf_pipeline.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("dagster", "polars", "great_expectations", "pandera", "duckdb", "pandas", "pyarrow", "pydantic")
SHIPPED = sorted(p.stem for p in (ROOT / "npaf_pipeline" / "frameworks").glob("*.yaml"))


def _help(*args: str) -> tuple[str, set[str]]:
    """The help text of ``npaf <args> --help`` and the top-level packages the interpreter imported for it."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "npaf_pipeline.cli", *args, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    timings = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in timings}
    return proc.stdout, imported


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_every_subcommand_is_registered() -> None:
    assert {"backfill", "sample-data", "reconcile", "export-nhse", "data-dictionary"} <= set(_subcommands())


@pytest.mark.parametrize("args", [(), *[(name,) for name in _subcommands()]], ids=lambda a: " ".join(a) or "npaf")
def test_help_imports_no_heavy_library(args: tuple[str, ...]) -> None:
    text, imported = _help(*args)
    assert "usage: npaf" in text
    assert not imported & set(HEAVY), f"npaf {' '.join(args)} --help imported {sorted(imported & set(HEAVY))}"


def test_backfill_help_lists_the_shipped_rule_sets_and_shows_no_markup() -> None:
    text, _ = _help("backfill")
    flat = " ".join(text.split())
    assert len(SHIPPED) >= 3
    for rule_set in SHIPPED:
        assert rule_set in flat
    assert "``" not in text and ":func:" not in text and ":class:" not in text


def test_reconcile_help_lists_the_shipped_rule_sets() -> None:
    flat = " ".join(_help("reconcile")[0].split())
    assert all(rule_set in flat for rule_set in SHIPPED)
