"""Lowest and highest quartile of ICBs: the cut-point and who is in the quartile.

The cut is the sample quantile (Hyndman-Fan type from the rule set; type 7 = Excel QUARTILE.INC) of every ICB
with a value in the group: P25 for the lowest quartile, P75 for the highest. With the ``inclusive`` boundary an
ICB exactly on the cut is in the quartile (``value <= P25``, ``value >= P75``); with ``exclusive`` it is not.
Tied ICBs are always on the same side. Values are compared at full precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import polars as pl

from npaf_pipeline.engine.numeric import hf_quantile

Side = Literal["lowest", "highest"]
PROBABILITY: dict[str, float] = {"lowest": 0.25, "highest": 0.75}


def quartile_membership(
    frame: pl.DataFrame,
    by: Sequence[str],
    side: Side,
    method: int = 7,
    boundary: Literal["inclusive", "exclusive"] = "inclusive",
    value: str = "value",
) -> pl.DataFrame:
    """Add ``cut_point``, ``population`` (ICBs with a value in the group) and ``in_quartile`` to every row.

    Rows without a value take part in nothing: their ``in_quartile`` is null.
    """
    by = list(by)
    valued = frame.filter(pl.col(value).is_not_null())
    cuts = [
        (*key, hf_quantile(values, PROBABILITY[side], method), len(values))
        for *key, values in valued.group_by(by).agg(pl.col(value)).iter_rows()
    ]
    schema = {c: frame.schema[c] for c in by} | {"cut_point": pl.Float64, "population": pl.Int64}
    table = pl.DataFrame(cuts, schema=schema, orient="row")
    joined = frame.drop("cut_point", "population", "in_quartile", strict=False).join(table, on=by, how="left")
    x, cut = pl.col(value), pl.col("cut_point")
    if side == "lowest":
        inside = x <= cut if boundary == "inclusive" else x < cut
    else:
        inside = x >= cut if boundary == "inclusive" else x > cut
    return joined.with_columns(pl.when(x.is_not_null()).then(inside).otherwise(None).alias("in_quartile"))
