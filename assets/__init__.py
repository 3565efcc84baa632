"""The Dagster code location of npaf-pipeline: thin assets over the engine in ``npaf_pipeline``."""

import warnings

from dagster import BetaWarning, PreviewWarning

# the single-run backfill policy and partition-mapping options we rely on are marked beta; say so once, in docs
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)
