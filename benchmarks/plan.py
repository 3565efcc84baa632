"""What ``make bench`` measures, and how many times: the sizes, the file sets and the backfills.

pyperf repeats each benchmark as (worker processes, values per process); one loop per value, no pyperf
warm-up (the engine's workers warm up on the 1 x 1 input themselves, outside the clock). The counts keep a full
run within 20 minutes on two cores.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmarks.paths import ETR, NOF_Q1, TRUST_REFERENCE, real


@dataclass(frozen=True)
class Size:
    """Engine inputs of ``orgs`` x the 205 trusts over ``quarters`` quarters; runs: impl -> (processes, values)."""

    orgs: int
    quarters: int
    runs: dict[str, tuple[int, int]]

    @property
    def key(self) -> str:
        return f"x{self.orgs}_q{self.quarters}"


def _size(orgs: int, quarters: int, engine: tuple[int, int], pandas: tuple[int, int], ranges=None, mc1000=None) -> Size:
    runs = {"engine": engine, "pandas": pandas}
    if ranges:
        runs["engine_ranges"] = ranges
    if mc1000:  # the 1,000-replicate bootstrap, side by side with the exact one (target 2)
        runs["engine_ranges_mc1000"] = mc1000
    return Size(orgs, quarters, runs)


@dataclass(frozen=True)
class Backfill:
    """A single-run Dagster backfill of a landing zone."""

    key: str
    kind: str  # "sample": the sample generator's landing zone; "nof": NHS England's Q1 2025/26 NOF files
    quarters: int
    first: str
    last: str
    values: int = 1
    """Runs, each in a worker process of its own: a backfill runs in a fresh process, as ``npaf backfill``
    launches it, so what a run loads for itself (Great Expectations, the NOF parses) is in each run's time."""
    env: dict[str, str] = field(default_factory=dict)
    terminal: bool = False
    """Also run once as a person runs it, ``npaf backfill`` in a process of its own (``dagster job launch``, the
    code server and the run worker included), timed by the wall clock: what the person waits for."""

    @property
    def nof_files(self) -> int:
        return len(NOF_Q1) if self.kind == "nof" else 0


@dataclass(frozen=True)
class Plan:
    engine: list[Size]
    ingest: dict[tuple[int, str], int]  # (quarters, source) -> values of each mode
    backfills: list[Backfill]


SOURCES = ["ae_monthly", "cwt_crs", "chs_waiting_lists", "ambsys", "rtt_full"]
MAKE_RUN = Backfill("sample 6q", "sample", 6, "2025-26 Q1", "2026-27 Q2", values=2, terminal=True)
"""``make run``: the sample generator's six quarters (seed 2025) from 2025-26 Q1."""
NOF = Backfill("nof 1q", "nof", 1, "2025-26 Q1", "2025-26 Q1", values=3)
"""NHS England's two Q1 2025/26 NOF files with the trust reference and ETR: counts the NOF parses of a run. Three
runs: the shortest backfill, whose shares (publishing, the explanation layer) move most with the machine's load."""

FULL = Plan(
    engine=[
        _size(1, 1, (1, 3), (1, 3), (1, 3)),
        _size(1, 8, (1, 3), (1, 3)),
        _size(10, 1, (1, 3), (1, 3), (1, 2)),
        _size(10, 8, (1, 3), (1, 2)),
        _size(10, 32, (1, 3), (1, 2)),
        _size(100, 1, (1, 3), (1, 2), (1, 1), (1, 1)),
        _size(100, 32, (1, 2), (1, 1)),
    ],
    ingest={
        **{(1, s): 3 for s in SOURCES if s != "rtt_full"},
        (1, "rtt_full"): 3,
        **{(12, s): 3 for s in SOURCES if s != "rtt_full"},
        (12, "rtt_full"): 1,
    },
    backfills=[
        MAKE_RUN,
        NOF,
        Backfill("sample 32q", "sample", 32, "2017-18 Q1", "2024-25 Q4", env={"NPAF_FIRST_PARTITION": "2017-04"}),
    ],
)
QUICK = Plan(
    engine=[_size(1, 1, (1, 1), (1, 1), (1, 1)), _size(1, 8, (1, 1), (1, 1), (1, 1))],
    ingest={(1, "ae_monthly"): 1, (1, "ambsys"): 1},
    backfills=[replace(NOF, values=1)],
)


def build_landing(work: Path, b: Backfill) -> Path:
    """The backfill's landing zone under ``work`` (NOF: symbolic links to the shared real files, never copies)."""
    from npaf_pipeline.sample import generate

    landing = work / f"landing-{b.key.replace(' ', '-')}"
    if landing.exists():
        return landing
    if b.kind == "sample":
        generate(landing, quarters=b.quarters, seed=2025, first=b.first, scale=1)
        return landing
    for source, files in {"nof_dashboard": NOF_Q1, "trust_reference": [TRUST_REFERENCE], "ods_etr": [ETR]}.items():
        (landing / source).mkdir(parents=True)
        for relative in files:
            target = real(relative)
            os.symlink(target.resolve(), landing / source / target.name)
    return landing
