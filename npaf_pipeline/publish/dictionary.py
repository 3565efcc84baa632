"""The data dictionary and the Frictionless data package, both generated from the pandera models.

Nothing here restates a column: descriptions, units, examples, types and constraints are read from
``schemas/published.py``, so the documents cannot drift from what is written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandera.polars as pa

from npaf_pipeline.partitions import PART_FILE
from npaf_pipeline.ruleset import available, load_ruleset
from npaf_pipeline.ruleset.model import RuleSet
from schemas.published import SCHEMA_VERSION, published_models

DATAPACKAGE_FILE = "datapackage.json"
_FRICTIONLESS = {"String": "string", "Int64": "integer", "Float64": "number", "Boolean": "boolean"}


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    nullable: bool
    unit: str
    example: Any
    description: str
    constraints: dict[str, Any]


def domains_of(rulesets: Sequence[RuleSet]) -> list[tuple[str, str]]:
    """(id, name) of every domain, first spelling wins, in rule-set order."""
    seen: dict[str, str] = {}
    for rs in rulesets:
        for d in rs.domains:
            seen.setdefault(d.id, d.name)
    return list(seen.items())


def shipped_models() -> dict[str, type[pa.DataFrameModel]]:
    """Published models with the domain columns of every shipped rule set (what the docs describe)."""
    return published_models(domains_of([load_ruleset(name) for name in available()]))


def _constraints(column: pa.Column) -> dict[str, Any]:
    out: dict[str, Any] = {"required": not column.nullable}
    for check in column.checks:
        stats = check.statistics or {}
        if check.name == "isin":
            out["enum"] = list(stats["allowed_values"])
        elif check.name == "str_matches":
            out["pattern"] = str(stats["pattern"])
        elif check.name == "greater_than_or_equal_to":
            out["minimum"] = stats["min_value"]
        elif check.name == "less_than_or_equal_to":
            out["maximum"] = stats["max_value"]
    return out


def column_specs(model: type[pa.DataFrameModel]) -> list[ColumnSpec]:
    specs = []
    for name, col in model.to_schema().columns.items():
        meta = col.metadata or {}
        specs.append(
            ColumnSpec(
                name=name,
                type=_FRICTIONLESS[str(col.dtype)],
                nullable=bool(col.nullable),
                unit=str(meta.get("unit", "")),
                example=meta.get("example"),
                description=col.description or "",
                constraints=_constraints(col),
            )
        )
    return specs


def table_schema(model: type[pa.DataFrameModel]) -> dict[str, Any]:
    """A Frictionless Table Schema for one model."""
    fields = []
    for c in column_specs(model):
        fields.append(
            {
                "name": c.name,
                "type": c.type,
                "description": c.description,
                "unit": c.unit,
                "example": c.example,
                "constraints": c.constraints,
            }
        )
    return {"fields": fields, "primaryKey": list(model.to_schema().unique or [])}


def datapackage(models: Mapping[str, type[pa.DataFrameModel]], out_dir: Path) -> dict[str, Any]:
    """The data package for an output folder: one resource per table, listing its Parquet files."""
    resources = []
    for name, model in models.items():
        files = sorted(p.relative_to(out_dir).as_posix() for p in (out_dir / name).glob(f"fy=*/quarter=*/{PART_FILE}"))
        if not files:
            continue
        schema = model.to_schema()
        resources.append(
            {
                "name": name,
                "title": name.replace("_", " "),
                "description": f"{(model.__doc__ or '').strip()} Grain: {schema.description}.",
                "profile": "tabular-data-resource",
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
                "path": files,
                "schema": table_schema(model),
            }
        )
    return {
        "profile": "tabular-data-package",
        "name": "npaf-pipeline-outputs",
        "title": "NHS Oversight Framework segmentation outputs",
        "version": SCHEMA_VERSION,
        "resources": resources,
    }


def datapackage_text(models: Mapping[str, type[pa.DataFrameModel]], out_dir: Path) -> str:
    return json.dumps(datapackage(models, out_dir), indent=2, ensure_ascii=False) + "\n"


# --- markdown ---------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    text = "" if value is None else (json.dumps(value) if isinstance(value, bool) else str(value))
    return text.replace("|", "\\|").replace("\n", " ")


def _constraint_text(c: dict[str, Any]) -> str:
    parts = []
    if "enum" in c:
        parts.append("one of " + ", ".join(f"`{v}`" for v in c["enum"]))
    if "minimum" in c and "maximum" in c:
        parts.append(f"{c['minimum']} to {c['maximum']}")
    elif "minimum" in c:
        parts.append(f">= {c['minimum']}")
    elif "maximum" in c:
        parts.append(f"<= {c['maximum']}")
    if "pattern" in c:
        parts.append(f"matches `{c['pattern']}`")
    return "; ".join(parts)


def render_markdown(models: Mapping[str, type[pa.DataFrameModel]], rule_sets: Sequence[str]) -> str:
    """docs/data-dictionary.md: one section per table, one row per column."""
    lines = [
        "# Data dictionary: published tables",
        "",
        "Generated from `schemas/published.py` by `npaf data-dictionary`. Do not edit by hand: CI runs",
        "`npaf data-dictionary --check` and fails when this file is out of date.",
        "",
        f"Contract version (`schema_version`): **{SCHEMA_VERSION}**. Each table is stored as",
        "`<output>/<table>/fy=<fy>/quarter=<Qn>/part-0.parquet`; see [outputs.md](outputs.md) for how to read them.",
        "Columns are only added in later versions, never renamed or retyped.",
        "",
        "The per-domain columns of `organisation_segmentation` (`<domain>_score`, `<domain>_segment`,",
        f"`<domain>_rank`) follow the rule set's domains; listed here for: {', '.join(rule_sets)}.",
        "",
        "Types are Frictionless types: string (Parquet UTF-8, dictionary-encoded), integer (int64),",
        "number (float64), boolean. *Nulls* says whether the column may be empty.",
        "",
    ]
    for name, model in models.items():
        schema = model.to_schema()
        doc = " ".join((model.__doc__ or "").split())
        key = ", ".join(f"`{k}`" for k in schema.unique or [])
        lines += [f"## {name}", "", doc, "", f"- Grain: {schema.description}", f"- Primary key: {key}", ""]
        lines += [
            "| column | type | nulls | unit | meaning | constraints | example |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in column_specs(model):
            lines.append(
                f"| `{c.name}` | {c.type} | {'yes' if c.nullable else 'no'} | {_cell(c.unit)} | {_cell(c.description)} "
                f"| {_cell(_constraint_text(c.constraints))} | {_cell(c.example)} |"
            )
        lines.append("")
    return "\n".join(lines)


def shipped_markdown() -> str:
    """The dictionary as the repository ships it (every shipped rule set's domains)."""
    return render_markdown(shipped_models(), available())
