"""NHS financial-year quarters as Dagster partitions: key ``2025-04`` is 2025/26 Q1 (April to June)."""

from __future__ import annotations

import os

import dagster as dg

from npaf_pipeline.quarters import Quarter, parse_quarter

# NOF 2025/26 is the first framework year. Benchmarks and what-if runs over synthetic history set
# NPAF_FIRST_PARTITION (e.g. 2017-04) before the code location loads; it is read once, here.
FIRST_QUARTER = parse_quarter(os.environ.get("NPAF_FIRST_PARTITION", "2025-04")).partition_key

quarterly = dg.TimeWindowPartitionsDefinition(
    start=FIRST_QUARTER,
    cron_schedule="0 0 1 1,4,7,10 *",
    fmt="%Y-%m",
    timezone="Europe/London",
)


def quarter_of(partition_key: str) -> Quarter:
    """The quarter a partition key stands for (labels such as ``2025-26 Q1`` come from here)."""
    return parse_quarter(partition_key)


def labels_of(partition_keys: list[str]) -> list[str]:
    return [quarter_of(k).label for k in partition_keys]
