"""The code location: every asset, check, resource, sensor and schedule of npaf-pipeline."""

from __future__ import annotations

import dagster as dg

from assets.automation import landing_sensor, quarterly_pipeline, quarterly_schedule
from assets.explain import explanation_tables
from assets.icb import icb_system_tests, ingest_icb_values
from assets.ingest import INGEST_ASSETS, landing_ledger
from assets.io_manager import QuarterTablesIOManager
from assets.publish import published_snapshot, segment_changes
from assets.scoring import (
    metric_scores,
    metric_values,
    organisation_reference,
    organisation_scores,
    segmentation,
    segmentation_flags,
)
from assets.settings import NpafSettings, settings_from_env
from assets.site import scorecard_site

ASSETS = [
    *INGEST_ASSETS,
    ingest_icb_values,
    landing_ledger,
    metric_values,
    organisation_reference,
    segmentation_flags,
    metric_scores,
    organisation_scores,
    icb_system_tests,
    segmentation,
    segment_changes,
    published_snapshot,
    explanation_tables,
    scorecard_site,
]


def build_definitions(settings: NpafSettings | None = None) -> dg.Definitions:
    settings = settings or settings_from_env()
    return dg.Definitions(
        assets=ASSETS,
        jobs=[quarterly_pipeline],
        schedules=[quarterly_schedule],
        sensors=[landing_sensor],
        resources={
            "npaf": settings,
            "tables_io_manager": QuarterTablesIOManager(base_dir=str(settings.state / "tables")),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
