"""Leadership capability beside the segment: validated, widened to one column per area, joined, never applied."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pandera.errors
import pandera.polars as pa
import polars as pl

from npaf_pipeline.engine.frames import EngineInputError, require_columns
from npaf_pipeline.icb.finance import refuse_ragged, refuse_repeats
from npaf_pipeline.quarters import is_quarter
from npaf_pipeline.sources import canonical
from npaf_pipeline.sources.base import refuse_rejected, validate_rows
from npaf_pipeline.sources.tables import read_table
from schemas.leadership import CAPABILITY_DOMAINS, OVERALL, LeadershipCapability

COLUMNS = [f"capability_{d}" for d in (OVERALL, *CAPABILITY_DOMAINS)]
LEADERSHIP_SOURCE = "leadership"
RATING_COLUMNS = ["quarter", "org_code", "capability_domain", "rating"]
KEYS = ["quarter", "org_code", "capability_domain"]
WHAT = "a leadership capability file (" + ", ".join(RATING_COLUMNS) + ")"
HINTS = {
    "quarter": "write the quarter as 2025-26 Q1 or Q1 2025/26",
    "org_code": "write the organisation's ODS code (3 to 6 capital letters or digits)",
    "capability_domain": "write overall or one of " + ", ".join(CAPABILITY_DOMAINS),
    "rating": "write the rating as supplied (any label that is not blank)",
}
"""What to write instead, per column, in the message that refuses a leadership file."""


class LeadershipRow(LeadershipCapability):
    """A rating as a file row: the model's rules, the quarter read by the quarter parser (``2025-27 Q1`` has the
    label's shape but is no quarter), and the row's number in the file."""

    source_row: int = pa.Field(ge=1, description="row in the file (a CSV's header is row 1)")

    @pa.check("quarter", name="is_a_quarter")
    def _quarter(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("quarter").map_elements(is_quarter, return_dtype=pl.Boolean))


def validate_leadership(ratings: pl.DataFrame) -> pl.DataFrame:
    """Ratings checked against :class:`schemas.leadership.LeadershipCapability`; every failure in one error."""
    try:
        return LeadershipCapability.validate(ratings, lazy=True)
    except (pandera.errors.SchemaErrors, pandera.errors.SchemaError) as exc:
        raise EngineInputError(f"leadership capability ratings: {exc}") from None


def read_leadership(path: str | Path, known: Collection[str] | None = None) -> pl.DataFrame:
    """quarter, org_code, capability_domain, rating from a CSV (or Parquet) file, validated.

    Read by the shared table reader (UTF-8, header found in the first lines, a column named twice, a ragged row
    or a header with no rows refused) and :class:`schemas.leadership.LeadershipCapability`; quarters in any
    spelling the quarter parser reads. A row that breaks a rule refuses the file naming row, column, rule and
    value, and two rows for one quarter, organisation and area name both: a rating set aside or chosen between
    would be reported beside the segment as if it were the organisation's. ``known``: the organisation codes of
    the run's reference; a code that is none of them raises :class:`canonical.UnknownOrganisationError` (its
    organisation would silently go without its rating).
    """
    path = Path(path)
    columns = {c: c for c in RATING_COLUMNS}
    raw = read_table(path, source=LEADERSHIP_SOURCE, columns=columns, required=RATING_COLUMNS, what=WHAT)
    refuse_ragged(path, raw.quarantine, WHAT)
    if known is not None:
        canonical.require_known_codes(raw.frame, known, path, "the leadership capability file")
    frame = raw.frame.with_columns(canonical.normalise_quarter())
    _, rejected = validate_rows(frame, LeadershipRow, source=LEADERSHIP_SOURCE, path=path, sha256=raw.sha256)
    refuse_rejected(path, rejected, HINTS)
    refuse_repeats(frame.with_columns(pl.lit(str(path)).alias("source_file")), KEYS)
    return frame.select(RATING_COLUMNS)


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
