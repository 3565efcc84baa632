"""Leadership capability beside the segment: validated, widened to one column per area, joined, never applied."""

from __future__ import annotations

from pathlib import Path

import pandera.errors
import polars as pl

from npaf_pipeline.engine.frames import EngineInputError, require_columns
from schemas.leadership import CAPABILITY_DOMAINS, OVERALL, LeadershipCapability

COLUMNS = [f"capability_{d}" for d in (OVERALL, *CAPABILITY_DOMAINS)]


def validate_leadership(ratings: pl.DataFrame) -> pl.DataFrame:
    """Ratings checked against :class:`schemas.leadership.LeadershipCapability`; every failure in one error."""
    try:
        return LeadershipCapability.validate(ratings, lazy=True)
    except (pandera.errors.SchemaErrors, pandera.errors.SchemaError) as exc:
        raise EngineInputError(f"leadership capability ratings: {exc}") from None


def read_leadership(path: str | Path) -> pl.DataFrame:
    """A CSV of quarter, org_code, capability_domain, rating, validated."""
    frame = pl.read_csv(path, infer_schema=False)
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    return validate_leadership(frame.with_columns(pl.col(pl.String).str.strip_chars()))


def beside_segments(segmentation: pl.DataFrame, ratings: pl.DataFrame) -> pl.DataFrame:
    """``segmentation`` with ``capability_overall`` and one ``capability_<area>`` column per area appended.

    Every segmentation column is returned unchanged (capability informs support, not the segment); organisations
    without ratings get nulls.
    """
    require_columns(segmentation, ["quarter", "org_code"], "segmentation")
    valid = validate_leadership(ratings)
    wide = valid.with_columns(pl.concat_str([pl.lit("capability_"), pl.col("capability_domain")]).alias("_column"))
    wide = wide.pivot(on="_column", index=["quarter", "org_code"], values="rating")
    missing = [c for c in COLUMNS if c not in wide.columns]
    wide = wide.with_columns([pl.lit(None, pl.String).alias(c) for c in missing]).select(
        "quarter", "org_code", *COLUMNS
    )
    out = segmentation.drop(COLUMNS, strict=False).join(
        wide, on=["quarter", "org_code"], how="left", maintain_order="left"
    )
    return out
