"""What a segment means: the rule set's segment descriptions attached to each organisation's segment."""

from __future__ import annotations

import polars as pl

from npaf_pipeline.engine.frames import require_columns
from npaf_pipeline.ruleset.model import RuleSet


def attach_segment_descriptions(
    segmentation: pl.DataFrame, rs: RuleSet, segment_column: str = "final_segment"
) -> pl.DataFrame:
    """Add ``segment_description``: the rule set's wording for the segment in ``segment_column``.

    Null where the organisation has no segment or the rule set describes no such segment. Nothing else changes.
    """
    require_columns(segmentation, [segment_column], "segmentation")
    table = pl.DataFrame(
        {
            "_segment": list(rs.segment_descriptions),
            "segment_description": list(rs.segment_descriptions.values()),
        },
        schema={"_segment": pl.Int64, "segment_description": pl.String},
    )
    keyed = segmentation.drop("segment_description", strict=False).with_columns(
        pl.col(segment_column).cast(pl.Int64).alias("_segment")
    )
    return keyed.join(table, on="_segment", how="left", maintain_order="left").drop("_segment")
