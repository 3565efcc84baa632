"""The non-metric inputs of a quarter, from whichever landing sources hold them.

Organisations come from the ODS list with the trust-type reference, or else from NHS England's NOF files;
override and intensive-support flags from the canonical flag files, or else from the NOF files' OF5004 and
OF5007 rows. Each organisation-quarter records which source its flags came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from npaf_pipeline.ruleset import RuleSet
from npaf_pipeline.sources import canonical, nof_csv, nof_dashboard, organisations, registry
from npaf_pipeline.sources.base import FileAccount
from schemas.canonical import empty_quarantine

ORG_COLUMNS = ["quarter", "org_code", "org_name", "org_type", "org_subtype", "region", "icb_code"]


def organisation_inputs(
    landing: Path, quarters: Sequence[str], rs: RuleSet
) -> tuple[pl.DataFrame, pl.DataFrame, list[FileAccount]]:
    """``(organisations per quarter, quarantine, accounts)``."""
    etr = registry.source_files(landing, organisations.ETR_SOURCE)
    types = registry.source_files(landing, organisations.TRUST_TYPES_SOURCE)
    parts, quarantine, accounts = [], empty_quarantine(), []
    if etr and types:
        result = organisations.organisation_reference_result(etr[0], types[0], rs)
        ref = result.frame.filter(pl.col("org_type").is_not_null())
        quarantine, accounts = result.quarantine, result.accounts
        parts.append(pl.concat([ref.with_columns(pl.lit(q).alias("quarter")) for q in quarters]).select(ORG_COLUMNS))
    nof_files = registry.source_files(landing, nof_dashboard.SOURCE)
    if nof_files:
        published = nof_csv.organisations(nof_dashboard.read_release(nof_files, quarters), rs)
        parts.append(published.with_columns(pl.lit(None, pl.String).alias("icb_code")).select(ORG_COLUMNS))
    if not parts:
        return pl.DataFrame(schema=dict.fromkeys(ORG_COLUMNS, pl.String)), quarantine, accounts
    orgs = pl.concat(parts, how="vertical_relaxed").unique(["quarter", "org_code"], keep="first", maintain_order=True)
    return orgs.sort("quarter", "org_code"), quarantine, accounts


def flag_inputs(landing: Path, quarters: Sequence[str]) -> tuple[pl.DataFrame, pl.DataFrame, list[FileAccount]]:
    """``(flags, quarantine, accounts)``: quarter, org_code, financial_override, intensive_support, flag_source."""
    wanted = set(quarters)
    override_files = registry.source_files(landing, canonical.FLAGS_SOURCE)
    support_files = registry.source_files(landing, canonical.SUPPORT_SOURCE)
    quarantine, accounts, frames = [], [], []
    override = support = None
    if override_files:
        result = canonical.read_override_flags(override_files)
        override, quarantine, accounts = result.frame, [result.quarantine], result.accounts
    if support_files:
        result = canonical.read_intensive_support(support_files)
        support = result.frame
        quarantine, accounts = [*quarantine, result.quarantine], [*accounts, *result.accounts]
    if override is not None or support is not None:
        frames.append(canonical.segment_flags(override, support).with_columns(pl.lit("landing").alias("flag_source")))
    nof_files = registry.source_files(landing, nof_dashboard.SOURCE)
    if nof_files:
        published = nof_csv.flags(nof_dashboard.read_release(nof_files, quarters))
        frames.append(published.with_columns(pl.lit("nof_dashboard").alias("flag_source")))
    schema = {
        "quarter": pl.String,
        "org_code": pl.String,
        "financial_override": pl.Boolean,
        "intensive_support": pl.Boolean,
        "flag_source": pl.String,
    }
    flags = (
        pl.concat([f.select(list(schema)) for f in frames], how="vertical_relaxed")
        .filter(pl.col("quarter").is_in(list(wanted)))
        .unique(["quarter", "org_code"], keep="first", maintain_order=True)
        .sort("quarter", "org_code")
        if frames
        else pl.DataFrame(schema=schema)
    )
    q = pl.concat(quarantine, how="vertical_relaxed") if quarantine else empty_quarantine()
    return flags, q, accounts
