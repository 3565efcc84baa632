"""NHS financial-year quarters as Dagster partitions: key ``2025-04`` is 2025/26 Q1 (April to June)."""

from __future__ import annotations

import dagster as dg

from npaf_pipeline.quarters import Quarter, parse_quarter

FIRST_QUARTER = "2025-04"

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
