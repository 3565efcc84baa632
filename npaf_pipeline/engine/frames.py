"""Frame plumbing shared by the engine steps: column checks and the organisation-type join."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl


class EngineInputError(ValueError):
    """An input frame the engine cannot use; the message says which frame and what is wrong."""


def require_columns(frame: pl.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EngineInputError(f"{name}: missing column(s) {missing}; has {frame.columns}")


def attach_org_type(frame: pl.DataFrame, orgs: pl.DataFrame) -> pl.DataFrame:
    """Add ``org_type`` from the organisation reference (per quarter when the reference has a quarter column).

    Organisations missing from the reference are an error: scoring them against an unknown peer group
    would be silently wrong.
    """
    require_columns(orgs, ["org_code", "org_type"], "organisations")
    keys = ["quarter", "org_code"] if "quarter" in orgs.columns else ["org_code"]
    ref = orgs.select(*keys, "org_type").unique(subset=keys, keep="first")
    out = frame.drop("org_type", strict=False).join(ref, on=keys, how="left")
    unknown = out.filter(pl.col("org_type").is_null())["org_code"].unique().sort().to_list()
    if unknown:
        raise EngineInputError(f"{len(unknown)} organisation(s) not in the organisation reference: {unknown[:10]}")
    return out
