"""The organisation reference: who an organisation is (ODS ``etr``) and how NOF scores it (a trust-type list).

ODS says which trusts exist, where, under which ICB, and when they opened and closed; it keeps closed trusts,
and so does the reference, with their close date (a backfill of an old quarter needs them). The trust-type list
says which NOF peer group each scored trust is in: its ``Trust_type`` becomes the rule set's organisation-type
key. Care trusts (TAD, TAH, TAJ) are not in ``etr``: they come from the trust-type list alone.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from npaf_pipeline.ruleset.model import RuleSet
from npaf_pipeline.sources.base import quarantine_rows, validate_rows
from npaf_pipeline.sources.tables import TableResult, account, read_table
from schemas.organisations import EtrRaw, TrustTypesRaw

ETR_SOURCE = "ods_etr"
TRUST_TYPES_SOURCE = "trust_reference"
ETR_FIELDS = 27
# etr field position (1-based, the file has no header) -> canonical column
ETR_COLUMNS = {
    1: "org_code",
    2: "org_name",
    3: "region_code",
    4: "icb_code",
    10: "postcode",
    11: "open_date",
    12: "close_date",
}
# trust-type list column -> canonical column (further columns in the file are ignored)
TRUST_TYPE_COLUMNS = {
    "Trust_code": "org_code",
    "Trust_name": "org_name",
    "Region": "region",
    "Trust_type": "trust_type",
    "Trust_subtype": "org_subtype",
}
# NHS England region codes (ODS) -> region names, used where the trust-type list gives no region
REGION_NAMES = {
    "Y56": "London",
    "Y58": "South West",
    "Y59": "South East",
    "Y60": "Midlands",
    "Y61": "East of England",
    "Y62": "North West",
    "Y63": "North East and Yorkshire",
}
REFERENCE_SCHEMA = {
    "org_code": pl.String,
    "org_name": pl.String,
    "region": pl.String,
    "icb_code": pl.String,
    "org_type": pl.String,
    "org_subtype": pl.String,
    "open_date": pl.Date,
    "close_date": pl.Date,
}


def read_ods_etr(path: str | Path) -> pl.DataFrame:
    """The ODS ``etr`` rows that pass validation (see :func:`ods_etr_result` for the quarantine)."""
    return ods_etr_result(path).frame


def ods_etr_result(path: str | Path) -> TableResult:
    """ODS ``etr`` report -> org_code, org_name, region_code, icb_code, postcode, open_date, close_date (Date)."""
    raw = read_table(
        path, source=ETR_SOURCE, columns=ETR_COLUMNS, required=(), what="an ODS etr file", n_fields=ETR_FIELDS
    )
    accepted, rejected = validate_rows(raw.frame, EtrRaw, source=ETR_SOURCE, path=raw.path, sha256=raw.sha256)
    quarantine = pl.concat([raw.quarantine, rejected])
    frame = accepted.with_columns(
        pl.col("open_date", "close_date").str.strptime(pl.Date, "%Y%m%d"),
    ).drop("source_row")
    return TableResult(
        ETR_SOURCE, frame.sort("org_code"), quarantine, [account(ETR_SOURCE, raw, accepted.height, quarantine)]
    )


def trust_types_result(path: str | Path, rs: RuleSet) -> TableResult:
    """Trust-type list -> org_code, org_name, region, org_type (rule-set key), org_subtype.

    A ``Trust_type`` the rule set does not know is quarantined: scoring a trust in an unknown peer group would be
    silently wrong. An unevaluated formula in ``Region`` (``=VLOOKUP(...)``, seen in exported lists) counts as blank.
    """
    raw = read_table(
        path,
        source=TRUST_TYPES_SOURCE,
        columns={c: c for c in TRUST_TYPE_COLUMNS},
        required=list(TRUST_TYPE_COLUMNS),
        what="a trust-type list (Trust_code, Trust_name, Region, Trust_type, Trust_subtype)",
        formula_as_missing=("Region",),
    )
    accepted, rejected = validate_rows(
        raw.frame, TrustTypesRaw, source=TRUST_TYPES_SOURCE, path=raw.path, sha256=raw.sha256
    )
    keys = {label: rs.org_type_key(label) for label in accepted["Trust_type"].unique().to_list()}
    accepted = accepted.with_columns(
        pl.col("Trust_type").replace_strict(keys, default=None, return_dtype=pl.String).alias("org_type")
    )
    unknown = pl.col("org_type").is_null()
    typeless = quarantine_rows(
        accepted,
        unknown,
        column="Trust_type",
        check="known_trust_type",
        value=pl.col("Trust_type"),
        reason=f"Trust_type is not an organisation type of rule set {rs.id}",
        source=TRUST_TYPES_SOURCE,
        path=raw.path,
        sha256=raw.sha256,
    )
    accepted = accepted.filter(~unknown)
    quarantine = pl.concat([raw.quarantine, rejected, typeless])
    frame = accepted.rename(TRUST_TYPE_COLUMNS).select("org_code", "org_name", "region", "org_type", "org_subtype")
    accounts = [account(TRUST_TYPES_SOURCE, raw, accepted.height, quarantine)]
    return TableResult(TRUST_TYPES_SOURCE, frame.sort("org_code"), quarantine, accounts)


def organisation_reference(etr_path: str | Path, trust_types_path: str | Path, rs: RuleSet) -> pl.DataFrame:
    """One row per organisation in either input (see :func:`organisation_reference_result` for the quarantine)."""
    return organisation_reference_result(etr_path, trust_types_path, rs).frame


def organisation_reference_result(etr_path: str | Path, trust_types_path: str | Path, rs: RuleSet) -> TableResult:
    """org_code, org_name, region, icb_code, org_type, org_subtype, open_date, close_date.

    Names, regions and types come from the trust-type list (NHS England's spelling); ICB and dates from ODS.
    Organisations only in ODS (closed trusts, trusts NOF does not score) have no org_type.
    """
    etr = ods_etr_result(etr_path)
    types = trust_types_result(trust_types_path, rs)
    joined = etr.frame.join(types.frame, on="org_code", how="full", coalesce=True, suffix="_nof")
    frame = joined.select(
        "org_code",
        pl.coalesce("org_name_nof", "org_name").alias("org_name"),
        pl.coalesce("region", pl.col("region_code").replace_strict(_region_names(joined), default=None)).alias(
            "region"
        ),
        "icb_code",
        "org_type",
        "org_subtype",
        "open_date",
        "close_date",
    ).cast(REFERENCE_SCHEMA)
    quarantine = pl.concat([etr.quarantine, types.quarantine])
    return TableResult("organisations", frame.sort("org_code"), quarantine, [*etr.accounts, *types.accounts])


def _region_names(joined: pl.DataFrame) -> dict[str, str]:
    """Region code -> name, spelled as the trust-type list spells it most often (NHS England's NOF files say
    'East', 'North East'), falling back to the standard names for codes the list never names."""
    spelled = (
        joined.drop_nulls(["region", "region_code"])
        .group_by("region_code", "region")
        .len()
        .sort("len", "region", descending=[True, False])
        .unique("region_code", keep="first")
    )
    return REGION_NAMES | dict(spelled.select("region_code", "region").iter_rows())
