"""Which ICB each trust belongs to, and the list of ICBs, from the organisation reference."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from npaf_pipeline.engine.frames import require_columns

ICB_LOOKUP_COLUMNS = {"icb_code": "org_code", "icb_name": "org_name"}
ICB_ORG_TYPE = "icb"
"""The organisation type key of ICBs in every shipped rule set."""


def trust_icb(reference: pl.DataFrame) -> pl.DataFrame:
    """org_code -> icb_code for every organisation the reference places in an ICB (ODS ``etr`` field 4).

    Closed trusts are kept: data from before a trust closed still belongs to its ICB. Organisations without an
    ICB (care trusts missing from ODS, independent providers) are absent, and aggregation reports them.
    """
    require_columns(reference, ["org_code", "icb_code"], "organisation reference")
    return (
        reference.select("org_code", "icb_code")
        .drop_nulls("icb_code")
        .unique("org_code", keep="first")
        .sort("org_code")
    )


def icb_codes(reference: pl.DataFrame, *, open_only: bool = True) -> list[str]:
    """The ICB codes of the reference's trusts (open trusts only, by default)."""
    frame = reference
    if open_only and "close_date" in reference.columns:
        frame = reference.filter(pl.col("close_date").is_null())
    return sorted(frame["icb_code"].drop_nulls().unique().to_list())


def read_icb_lookup(path: str | Path) -> pl.DataFrame:
    """An ICB list (``icb_code, icb_name``, e.g. ``icb_lookup.csv``) as organisations: org_code, org_name, org_type."""
    raw = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    raw = raw.rename({c: c.strip().lower() for c in raw.columns})
    require_columns(raw, list(ICB_LOOKUP_COLUMNS), f"ICB list {path}")
    return (
        raw.select([pl.col(c).str.strip_chars().alias(new) for c, new in ICB_LOOKUP_COLUMNS.items()])
        .with_columns(pl.lit(ICB_ORG_TYPE).alias("org_type"))
        .sort("org_code")
    )
