"""The explanation layer: why each organisation sits where it does, what would move it, and what moved since the
previous quarter. Pure polars over the engine result and the published tables (no Dagster), computed once and
published, so BI, the command line and the site all read the same answer."""
