"""A reconstructable job for tests that run Dagster's multiprocess executor (settings from the environment)."""

from __future__ import annotations

import dagster as dg

from assets.definitions import build_definitions
from assets.settings import settings_from_env


def quarterly_job() -> dg.JobDefinition:
    return build_definitions(settings_from_env()).resolve_job_def("quarterly_pipeline")
