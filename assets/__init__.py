"""The Dagster code location of npaf-pipeline: thin assets over the engine in ``npaf_pipeline``."""

import warnings

# The single-run backfill policy and partition-mapping options we rely on are marked beta or preview; say so once,
# in docs. Matched by message so that importing this package (e.g. for ``npaf backfill --help``) loads no dagster.
warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")
