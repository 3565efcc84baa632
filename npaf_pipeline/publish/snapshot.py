"""Publish an engine result: every table of every quarter present, validated first, swapped in per quarter."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from npaf_pipeline import __version__
from npaf_pipeline.engine import EngineResult
from npaf_pipeline.publish.atomic import Transaction, publish_lock, recover, write_text_atomic
from npaf_pipeline.publish.catalog import build_catalog
from npaf_pipeline.publish.dictionary import DATAPACKAGE_FILE, datapackage_text
from npaf_pipeline.publish.manifest import MANIFEST_FILE, build_manifest, dumps, file_sha256, manifest_unit
from npaf_pipeline.publish.parquet import PART_FILE, conform, kv_metadata, to_arrow, write_parquet
from npaf_pipeline.publish.tables import InputFile, build_tables, describe_inputs, inputs_from_values, quarters_present
from npaf_pipeline.quarters import Quarter, parse_quarter
from npaf_pipeline.ruleset.model import RuleSet
from schemas.published import SCHEMA_VERSION, published_models


def partition_unit(table: str, quarter: Quarter) -> Path:
    """A table's folder for one quarter, relative to the output root."""
    return Path(table) / f"fy={quarter.fy}" / f"quarter=Q{quarter.q}"


def domain_metadata(rs: RuleSet) -> list[dict[str, str | None]]:
    """Domain ids, names and NHS England ids, stored in every file so exports need no rule set."""
    return [{"id": d.id, "name": d.name, "score_id": d.score_id, "segment_id": d.segment_id} for d in rs.domains]


def publish_quarters(
    result: EngineResult,
    orgs: pl.DataFrame,
    values: pl.DataFrame,
    rs: RuleSet,
    out_dir: str | Path,
    quarantine: pl.DataFrame | None = None,
    inputs: Sequence[str | Path] | None = None,
    checks: Sequence[Mapping[str, Any]] | None = None,
    *,
    generated_at: str | None = None,
    before_commit: Callable[[str], None] | None = None,
    acceptance: bool = True,
    system_evidence: pl.DataFrame | None = None,
    on_wait: Callable[[str], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write every published table for every quarter in ``result``; return paths and row counts.

    ``inputs``: the raw files of the run (hashed into the manifest); by default the files the values name.
    ``checks``: check results (JSON-serialisable mappings; one with a ``quarter`` key goes to that quarter only).
    ``generated_at``: a run time for the manifests only (data files never hold one, so reruns are identical).
    ``before_commit``: called with each quarter label after its files are staged and before they are swapped in.
    ``acceptance``: run the Great Expectations suite on every quarter before anything is written (one Data Docs
    site for the run, ``<out>/data-docs/index.html``); a failure raises :class:`AcceptanceError` and nothing is
    published.
    ``system_evidence``: the ICB system tests' evidence, published as ``system_considerations`` (empty without).
    ``on_wait``: told (once) when another publish to the same folder holds its lock and this one waits for it.
    ``on_progress``: told each stage as it starts (``validating …``, ``writing <quarter>``, ``published <quarter>``,
    ``catalog``), so a caller can show where a long publish is.
    """
    progress = on_progress or (lambda _stage: None)
    out = Path(out_dir)
    with publish_lock(out, on_wait=on_wait):  # one publish per folder: recover() must not meet a live one
        recover(out)
        versions = {"code_version": __version__, "schema_version": SCHEMA_VERSION}
        declared: list[InputFile] | None = describe_inputs(inputs) if inputs is not None else None
        frames = build_tables(result, orgs, values, rs, quarantine, declared, versions, system_evidence, history=out)
        files = declared if declared is not None else inputs_from_values(frames["metric_values"])
        models = published_models([(d.id, d.name) for d in rs.domains])
        tables = {name: conform(frames[name], model) for name, model in models.items()}  # all valid before any write

        report: dict[str, Any] = {"out_dir": str(out), "quarters": {}}
        quarters = [parse_quarter(label) for label in quarters_present(result, values)]
        checks = list(checks or [])
        if acceptance:
            progress(f"validating {len(quarters)} quarter(s) with the acceptance suite")
            checks += _accept(out, quarters, tables, rs, report)
        for quarter in quarters:
            progress(f"writing {quarter.label}")
            report["quarters"][quarter.label] = _publish_one(
                out, quarter, tables, models, rs, versions, files, checks, generated_at, before_commit
            )
            progress(f"published {quarter.label}")
            if acceptance:
                report["quarters"][quarter.label]["data_docs"] = report["data_docs"][quarter.label]
        datapackage = out / DATAPACKAGE_FILE
        write_text_atomic(datapackage, datapackage_text(models, out))
        report["datapackage"] = str(datapackage)
        progress("building the DuckDB catalog")
        report["catalog"] = str(build_catalog(out, models))
        return report


def _accept(
    out: Path, quarters: Sequence[Quarter], tables: Mapping[str, pl.DataFrame], rs: RuleSet, report: dict[str, Any]
) -> list[dict[str, Any]]:
    """Validate all quarters at once with the acceptance suite first: a failure in any quarter stops the publish.

    One validation per table and one Data Docs site for the run; each quarter's entry points at that site.
    """
    from npaf_pipeline.publish.expectations import data_docs_dir, validate_tables

    labels = [quarter.label for quarter in quarters]
    part = {name: t.filter(pl.col("quarter_label").is_in(labels)) for name, t in tables.items()}
    result = validate_tables(part, rs, data_docs_dir(out), quarters=labels)
    result.raise_if_failed()
    report["data_docs"] = dict.fromkeys(labels, str(result.data_docs_index))
    return [{"quarter": label, "name": "acceptance_suite", "passed": not result.failures_in(label)} for label in labels]


def _publish_one(
    out: Path,
    quarter: Quarter,
    tables: Mapping[str, pl.DataFrame],
    models: Mapping[str, Any],
    rs: RuleSet,
    versions: Mapping[str, str],
    files: Sequence[InputFile],
    checks: Sequence[Mapping[str, Any]] | None,
    generated_at: str | None,
    before_commit: Callable[[str], None] | None,
) -> dict[str, Any]:
    txn = Transaction(out)
    try:
        written: dict[str, dict[str, Any]] = {}
        for name, model in models.items():
            part = tables[name].filter(pl.col("quarter_label") == quarter.label)
            unit = partition_unit(name, quarter)
            staged = txn.path(unit) / PART_FILE
            meta = kv_metadata(
                table=name,
                description=" ".join((model.__doc__ or "").split()),
                primary_key=list(model.to_schema().unique or []),
                quarter=quarter.label,
                schema_version=versions["schema_version"],
                code_version=versions["code_version"],
                rule_set_id=rs.id,
                rule_set_version=rs.version,
                domains=domain_metadata(rs),
            )
            write_parquet(to_arrow(part, model, meta), staged)
            written[name] = {"path": (unit / PART_FILE).as_posix(), "rows": part.height, "sha256": file_sha256(staged)}
        changes = tables["segment_changes"].filter(pl.col("quarter_label") == quarter.label)
        manifest = build_manifest(quarter, rs, versions, files, written, checks, generated_at, changes)
        munit = manifest_unit(quarter)
        write_text_atomic(txn.path(munit) / MANIFEST_FILE, dumps(manifest))
        if before_commit is not None:
            before_commit(quarter.label)
        txn.commit()
    except BaseException:
        txn.abort()
        raise
    return {
        "tables": {n: {"path": str(out / w["path"]), "rows": w["rows"]} for n, w in written.items()},
        "manifest": str(out / munit / MANIFEST_FILE),
    }
