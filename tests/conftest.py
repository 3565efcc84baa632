"""Shared fixtures: where the real NHS England data lives, and the shipped rule set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from npaf_pipeline.ruleset import RuleSet, load_ruleset

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = Path(os.environ.get("NPAF_REAL_DATA", ROOT.parent / "shared" / "real-data"))
ACUTE_Q1 = "nof-acute-q1-2025-26/nhs-oversight-framework-acute-trust-data.csv"
MHC_Q1 = "nof-mhc-q1-2025-26/nhs-oversight-framework-mental-health-and-community-trust-data-q1.csv"


def real_file(relative: str) -> Path:
    """A file under the real-data folder; skip outside CI when absent, fail under CI."""
    path = REAL_DATA / relative
    if not path.exists():
        message = f"real NHS England data not found at {path} (set NPAF_REAL_DATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def rs() -> RuleSet:
    return load_ruleset("nof-2025-26")


@pytest.fixture(scope="session")
def q1_files() -> list[Path]:
    return [real_file(ACUTE_Q1), real_file(MHC_Q1)]
