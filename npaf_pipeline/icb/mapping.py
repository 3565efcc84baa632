"""Which ICB each trust belongs to, and the list of ICBs, from the organisation reference."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandera.polars as pa
import polars as pl

from npaf_pipeline.engine.frames import require_columns
from npaf_pipeline.sources.base import SourceFileError, refuse_rejected, validate_rows
from npaf_pipeline.sources.tables import read_table
from schemas.organisations import ICB_CODE

ICB_LOOKUP_COLUMNS = {"icb_code": "org_code", "icb_name": "org_name"}
ICB_LIST_COLUMNS = {"icb_code": "icb_code", "icb_name": "icb_name", "region": "region"}
ICB_LIST_WHAT = "an ICB list (icb_code, icb_name[, region])"
ICB_LIST_HINTS = {
    "icb_code": "write the ICB's ODS code as ODS writes it: Q and two capital letters or digits, e.g. QMJ",
    "icb_name": "write the ICB's name",
}
ICB_LIST_SCHEMA = {
    "org_code": pl.String,
    "org_name": pl.String,
    "region": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
}
ICB_ORG_TYPE = "icb"
"""The organisation type key of ICBs in every shipped rule set."""


class IcbListInput(pa.DataFrameModel):
    """One row of the ICB list: the reference every other ICB input is checked against."""

    icb_code: str = pa.Field(str_matches=ICB_CODE, description="ODS code of the ICB, as ODS etr field 4 (QMJ)")
    icb_name: str = pa.Field(description="the ICB's name")
    region: str = pa.Field(nullable=True, description="NHS England region (optional)")
    source_row: int = pa.Field(ge=1, description="row in the file (a CSV's header is row 1)")


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
    """An ICB list (``icb_code, icb_name``, e.g. ``icb_lookup.csv``) as organisations: org_code, org_name, org_type.

    Refused with :class:`SourceFileError` (see :func:`read_icb_list`) rather than read in part: the list is the
    reference the other ICB inputs are checked against.
    """
    rows = read_icb_list([Path(path)])
    return rows.select("org_code", "org_name", pl.lit(ICB_ORG_TYPE).alias("org_type"))


def read_icb_list(paths: Sequence[Path]) -> pl.DataFrame:
    """org_code, org_name, region (null when the file has no ``region`` column), source_file, source_row.

    Read as the other reference tables are (UTF-8, header found in the first lines, blank lines skipped). Every
    row must hold an ICB code written as ODS writes it and a name; a code given twice must say the same thing both
    times (the repeat is then one ICB). Anything else refuses the file naming file, row and column: a mistyped
    code would become an ICB of its own and the real one would silently go unassessed, and a file without rows
    would assess no ICB at all.
    """
    frames = []
    for path in paths:
        raw = read_table(path, source=path.parent.name, columns=ICB_LIST_COLUMNS, required=["icb_code", "icb_name"],
                         what=ICB_LIST_WHAT)  # fmt: skip
        if raw.quarantine.height:
            first = raw.quarantine.sort("source_row").row(0, named=True)
            raise SourceFileError(path, f"{first['reason']}: not {ICB_LIST_WHAT}", row=first["source_row"])
        frame = raw.frame
        if frame.is_empty():  # a Parquet file with no rows (a CSV's is refused by read_table)
            raise SourceFileError(path, f"no data rows; expected {ICB_LIST_WHAT}")
        if "region" not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias("region"))
        _, rejected = validate_rows(frame, IcbListInput, source=path.parent.name, path=path, sha256=raw.sha256)
        if rejected.height:
            refuse_rejected(path, rejected, ICB_LIST_HINTS)
        frames.append(
            frame.select(
                pl.col("icb_code").alias("org_code"),
                pl.col("icb_name").alias("org_name"),
                "region",
                pl.lit(str(path)).alias("source_file"),
                "source_row",
            )
        )
    if not frames:
        return pl.DataFrame(schema=ICB_LIST_SCHEMA)
    rows = pl.concat(frames)
    _refuse_disagreement(rows)
    return rows.unique("org_code", keep="first", maintain_order=True).sort("org_code")


def _refuse_disagreement(rows: pl.DataFrame) -> None:
    """One ICB code given twice with a different name or region: which is right? Name both rows and stop."""
    said = pl.concat_str(pl.col("org_name"), pl.col("region").fill_null(""), separator="\x1f")
    clash = rows.filter(said.n_unique().over("org_code") > 1)
    if clash.is_empty():
        return
    first = clash.row(0, named=True)
    other = clash.filter(
        (pl.col("org_code") == first["org_code"])
        & (pl.col("org_name").ne_missing(first["org_name"]) | pl.col("region").ne_missing(first["region"]))
    ).row(0, named=True)

    def where(row: dict) -> str:
        place = f"row {row['source_row']}" + (
            "" if row["source_file"] == first["source_file"] else f" of {row['source_file']}"
        )
        region = f", region {row['region']!r}" if row["region"] is not None else ""
        return f"{place} ({row['org_name']!r}{region})"

    raise SourceFileError(
        first["source_file"],
        f"ICB {first['org_code']} is given twice and the rows disagree: {where(first)} and {where(other)}; "
        "keep the right one",
        row=first["source_row"],
        column="icb_code",
    )
