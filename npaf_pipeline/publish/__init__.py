"""Publishing: Hive-partitioned Parquet per table, manifests, the data package, a DuckDB catalog, NHSE CSV."""

from npaf_pipeline.publish.snapshot import publish_quarters

__all__ = ["publish_quarters"]
