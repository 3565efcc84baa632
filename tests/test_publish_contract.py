"""The published contract: every column documented, examples valid, dictionary current, engine Dagster-free."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline.cli import main
from npaf_pipeline.publish.dictionary import render_markdown, shipped_markdown, table_schema
from npaf_pipeline.ruleset import RuleSet
from schemas.published import SCHEMA_VERSION, TABLES, published_models

ROOT = Path(__file__).resolve().parent.parent
DICTIONARY = ROOT / "docs" / "data-dictionary.md"
POLARS = {"String": pl.String, "Int64": pl.Int64, "Float64": pl.Float64, "Boolean": pl.Boolean}


def _models(rs: RuleSet) -> dict:
    return published_models([(d.id, d.name) for d in rs.domains])


def test_schema_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", SCHEMA_VERSION)


def test_every_column_has_description_unit_and_example(rs: RuleSet) -> None:
    for name, model in _models(rs).items():
        schema = model.to_schema()
        assert (model.__doc__ or "").strip() and schema.description, name
        assert schema.unique and set(schema.unique) <= set(schema.columns), name
        assert list(schema.columns)[:3] == ["fy", "quarter", "quarter_label"], name
        for col in schema.columns.values():
            meta = col.metadata or {}
            assert col.description and meta.get("unit") and meta.get("example") is not None, (name, col.name)


def test_examples_satisfy_their_own_column_rules(rs: RuleSet) -> None:
    """A one-row table of the documented examples validates: the docs never show an impossible value."""
    for model in _models(rs).values():
        columns = model.to_schema().columns
        row = {n: pl.Series(n, [c.metadata["example"]], dtype=POLARS[str(c.dtype)]) for n, c in columns.items()}
        model.validate(pl.DataFrame(list(row.values())))


def test_domain_columns_follow_the_rule_set(rs: RuleSet) -> None:
    columns = list(_models(rs)["organisation_segmentation"].to_schema().columns)
    for d in rs.domains:
        assert {f"{d.id}_score", f"{d.id}_segment", f"{d.id}_rank"} <= set(columns)
    assert {c for c in columns if c.endswith("_score")} == {"average_score", *(f"{d.id}_score" for d in rs.domains)}


def test_frictionless_schema_mirrors_the_model() -> None:
    schema = table_schema(TABLES["league_table"])
    fields = {f["name"]: f for f in schema["fields"]}
    assert schema["primaryKey"] == ["fy", "quarter", "trust_code"]
    assert fields["segment"]["type"] == "integer"
    assert fields["segment"]["constraints"] == {"required": True, "minimum": 1, "maximum": 4}
    assert fields["trust_in_financial_deficit"]["type"] == "boolean"
    assert fields["likely_range_of_average_score"]["constraints"] == {"required": False}


def test_data_dictionary_in_docs_is_current() -> None:
    assert main(["data-dictionary", "--check", "--path", str(DICTIONARY)]) == 0


def test_check_fails_on_a_stale_dictionary_and_rewrite_fixes_it(tmp_path: Path) -> None:
    path = tmp_path / "dictionary.md"
    assert main(["data-dictionary", "--check", "--path", str(path)]) == 1
    path.write_text(shipped_markdown().replace("ODS code of the organisation", "ODS code"), encoding="utf-8")
    assert main(["data-dictionary", "--check", "--path", str(path)]) == 1
    assert main(["data-dictionary", "--path", str(path)]) == 0
    assert main(["data-dictionary", "--check", "--path", str(path)]) == 0


def test_dictionary_lists_every_column_once(rs: RuleSet) -> None:
    text = render_markdown(_models(rs), [rs.id])
    for name, model in _models(rs).items():
        section = text.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        for column in model.to_schema().columns:
            assert section.count(f"| `{column}` |") == 1, (name, column)


@pytest.mark.parametrize("folder", ["npaf_pipeline", "schemas"])
def test_engine_and_schemas_never_import_dagster(folder: str) -> None:
    offenders = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / folder).rglob("*.py")
        if re.search(r"^\s*(import|from)\s+dagster", p.read_text(encoding="utf-8"), re.MULTILINE)
    ]
    assert offenders == []
