"""The scoring engine: pure polars functions over frames that carry a quarter column."""

from npaf_pipeline.engine.pipeline import EngineResult, run

__all__ = ["EngineResult", "run"]
