"""The settings of a rule set whose values are this project's choice, with the values in use."""

from __future__ import annotations

import json

import polars as pl
from pydantic import BaseModel

from npaf_pipeline.ruleset.model import RuleSet, resolve_setting


def defaults_in_use(rs: RuleSet) -> pl.DataFrame:
    """setting, value (JSON text): every entry of ``defaults_ours`` and ``system_adjustment.defaults_ours``.

    Record it beside a run's outputs so a reader can tell which rules were the framework's and which were ours.
    """
    paths = list(rs.defaults_ours)
    if rs.system_adjustment is not None:
        paths += [f"system_adjustment.{p}" for p in rs.system_adjustment.defaults_ours]
    rows = [(p, _text(resolve_setting(rs, p))) for p in paths]
    return pl.DataFrame(rows, schema={"setting": pl.String, "value": pl.String}, orient="row")


def _text(value: object) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_none=True)
    elif isinstance(value, list):
        value = [v.model_dump(exclude_none=True) if isinstance(v, BaseModel) else v for v in value]
    return json.dumps(value, sort_keys=True)
