"""Publish an engine result as one new snapshot: every table of every quarter present, validated first, then
made current with one atomic pointer swap (see :mod:`npaf_pipeline.publish.atomic` for the layout)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from npaf_pipeline import __version__
from npaf_pipeline.engine import EngineResult
from npaf_pipeline.partitions import PART_FILE, partition_unit
from npaf_pipeline.publish.atomic import (
    KEEP_SNAPSHOTS,
    Checkpoint,
    Transaction,
    adopt_legacy,
    publish_lock,
    recover,
    require_symlinks,
    write_text_atomic,
)
from npaf_pipeline.publish.catalog import CATALOG_FILE, build_catalog
from npaf_pipeline.publish.dictionary import DATAPACKAGE_FILE, datapackage_text
from npaf_pipeline.publish.manifest import MANIFEST_FILE, MANIFESTS, build_manifest, dumps, file_sha256, manifest_unit
from npaf_pipeline.publish.parquet import conform, kv_metadata, to_arrow, write_parquet
from npaf_pipeline.publish.tables import InputFile, build_tables, describe_inputs, inputs_from_values, quarters_present
from npaf_pipeline.quarters import Quarter, parse_quarter
from npaf_pipeline.ruleset.model import RuleSet
from schemas.published import SCHEMA_VERSION, published_models

DATA_DOCS = "data-docs"
REJECTED_DOCS = "data-docs-rejected"
# built from the data files, so left out of the snapshot's name: the same data keeps the same snapshot
DERIVED = (CATALOG_FILE, DATA_DOCS)


def data_docs_dir(root: Path) -> Path:
    """The one place the Data Docs folder is chosen: inside the snapshot being built (``root``).

    One site per publish, holding one validation per table over every quarter it publishes; the next validating
    publish replaces it (each quarter's manifest keeps its own acceptance result)."""
    return root / DATA_DOCS


def stable_names(tables: Sequence[str]) -> list[str]:
    """Top-level entries of a snapshot, each also a stable path ``<out>/<name>``."""
    return [*tables, MANIFESTS, DATA_DOCS, DATAPACKAGE_FILE, CATALOG_FILE]


def domain_metadata(rs: RuleSet) -> list[dict[str, str | None]]:
    """Domain ids, names and NHS England ids, stored in every file so exports need no rule set."""
    return [{"id": d.id, "name": d.name, "score_id": d.score_id, "segment_id": d.segment_id} for d in rs.domains]


def _replaced(rel: Path, quarters: Sequence[Quarter], acceptance: bool) -> bool:
    """Whether a file of the current snapshot is rewritten (or dropped) by a publish of ``quarters``.

    The Data Docs folder belongs to the acceptance run that writes it, so it is never carried into a snapshot
    whose publish validates (Great Expectations must not rewrite a file hard-linked from an older snapshot).
    """
    if rel.parts[0] in (CATALOG_FILE, DATAPACKAGE_FILE) or rel.parts[0].startswith("."):
        return True
    if acceptance and rel.parts[0] == DATA_DOCS:
        return True
    for quarter in quarters:
        partition = (f"fy={quarter.fy}", f"quarter=Q{quarter.q}")
        if any(rel.parts[i : i + 2] == partition for i in range(len(rel.parts) - 1)):
            return True
    return False


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
    keep: int = KEEP_SNAPSHOTS,
    checkpoint: Checkpoint | None = None,
) -> dict[str, Any]:
    """Publish every table of every quarter in ``result`` as one new snapshot; return paths and row counts.

    The report's ``seconds`` say where the publish spent its time (wall seconds per stage: building the tables,
    the explanation tables, each table's acceptance suite, the Data Docs, writing, the catalog and commit). They
    are never written into the snapshot, whose bytes depend on the data alone.

    ``inputs``: the raw files of the run (hashed into the manifest); by default the files the values name.
    ``checks``: check results (JSON-serialisable mappings; one with a ``quarter`` key goes to that quarter only).
    ``generated_at``: a run time for the manifests only (data files never hold one, so reruns are identical).
    ``before_commit``: called with each quarter label after every file is staged and before the snapshot is
    made current.
    ``acceptance``: run the Great Expectations suite on every quarter before anything is written: one validation
    per table for all the run's quarters and one Data Docs site for the run, inside the new snapshot
    (``<out>/data-docs/index.html``); a failure raises :class:`AcceptanceError`, nothing is published and the Data
    Docs that show why go to ``<out>/data-docs-rejected/``.
    ``system_evidence``: the ICB system tests' evidence, published as ``system_considerations`` (empty without).
    ``on_wait``: told (once) when another publish to the same folder holds its lock and this one waits for it.
    ``on_progress``: told each stage as it starts (``validating …``, ``writing <quarter>``, ``published <quarter>``,
    ``building the DuckDB catalog``), so a caller can show where a long publish is.
    ``keep``: snapshots kept (the current one and those most recently current before it).
    ``checkpoint``: called with the name of each step as it completes (tests stop a publish at each one).
    """
    progress = on_progress or (lambda _stage: None)
    out = Path(out_dir)
    step = checkpoint or (lambda _name: None)
    require_symlinks(out)
    with publish_lock(out, on_wait=on_wait):  # one publish per folder: recover() must not meet a live one
        step("locked")
        recover(out)
        models = published_models([(d.id, d.name) for d in rs.domains])
        adopt_legacy(out, stable_names(list(models)), step)
        versions = {"code_version": __version__, "schema_version": SCHEMA_VERSION}
        declared: list[InputFile] | None = describe_inputs(inputs) if inputs is not None else None
        seconds: dict[str, float] = {}
        started = time.perf_counter()
        frames = build_tables(
            result, orgs, values, rs, quarantine, declared, versions, system_evidence, history=out, seconds=seconds
        )
        files = declared if declared is not None else inputs_from_values(frames["metric_values"])
        tables = {name: conform(frames[name], model) for name, model in models.items()}  # all valid before any write
        seconds["tables"] = time.perf_counter() - started - seconds.get("explanation_tables", 0.0)

        report: dict[str, Any] = {"out_dir": str(out), "quarters": {}, "seconds": seconds}
        quarters = [parse_quarter(label) for label in quarters_present(result, values)]
        checks = list(checks or [])
        txn = Transaction(out, step)
        try:
            step("staging")
            txn.carry_over(lambda rel: _replaced(rel, quarters, acceptance))
            step("carried over")
            if acceptance:
                progress(f"validating {len(quarters)} quarter(s) with the acceptance suite")
                checks += _accept(txn.root, quarters, tables, rs, report)
                report["data_docs"] = {q: _stable(out, txn.root, p) for q, p in report["data_docs"].items()}
                step("accepted")
            started = time.perf_counter()
            for quarter in quarters:
                progress(f"writing {quarter.label}")
                report["quarters"][quarter.label] = _stage_quarter(
                    txn, out, quarter, tables, models, rs, versions, files, checks, generated_at
                )
                if acceptance:
                    report["quarters"][quarter.label]["data_docs"] = report["data_docs"][quarter.label]
            write_text_atomic(txn.root / DATAPACKAGE_FILE, datapackage_text(models, txn.root))
            step("staged datapackage")
            seconds["write"] = time.perf_counter() - started
            txn.seal(DERIVED)
            for quarter in quarters:
                if before_commit is not None:
                    before_commit(quarter.label)
            progress("building the DuckDB catalog and making the new snapshot current")
            started = time.perf_counter()
            final = txn.commit(keep, finish=lambda folder: build_catalog(folder, models))
            seconds["catalog_and_commit"] = time.perf_counter() - started
            for quarter in quarters:
                progress(f"published {quarter.label}")
        except BaseException as exc:
            _keep_rejected_docs(out, txn, exc)
            txn.abort()
            raise
        report["snapshot"] = str(final)
        report["datapackage"] = str(out / DATAPACKAGE_FILE)
        report["catalog"] = str(out / CATALOG_FILE)
        return report


def _stable(out: Path, root: Path, path: str) -> str:
    """A path inside the snapshot being built, as readers reach it through ``<out>``."""
    return str(out / Path(path).resolve().relative_to(root.resolve()))


def _keep_rejected_docs(out: Path, txn: Transaction, exc: BaseException) -> None:
    """After a failed acceptance suite, keep its Data Docs (outside any snapshot) to show which rows failed."""
    from npaf_pipeline.publish.expectations import AcceptanceError

    docs = txn.root / DATA_DOCS
    if isinstance(exc, AcceptanceError) and docs.is_dir():
        shutil.rmtree(out / REJECTED_DOCS, ignore_errors=True)
        os.rename(docs, out / REJECTED_DOCS)


def _accept(
    out: Path, quarters: Sequence[Quarter], tables: Mapping[str, pl.DataFrame], rs: RuleSet, report: dict[str, Any]
) -> list[dict[str, Any]]:
    """Validate all quarters at once with the acceptance suite first: a failure in any quarter stops the publish.

    One validation per table and one Data Docs site for the run; each quarter's entry points at that site.
    """
    from npaf_pipeline.publish.expectations import validate_tables

    labels = [quarter.label for quarter in quarters]
    part = {name: t.filter(pl.col("quarter_label").is_in(labels)) for name, t in tables.items()}
    result = validate_tables(part, rs, data_docs_dir(out), quarters=labels)
    result.raise_if_failed()
    report["data_docs"] = dict.fromkeys(labels, str(result.data_docs_index))
    report["seconds"].update({f"acceptance {name}": s for name, s in result.seconds.items()})
    return [{"quarter": label, "name": "acceptance_suite", "passed": not result.failures_in(label)} for label in labels]


def _stage_quarter(
    txn: Transaction,
    out: Path,
    quarter: Quarter,
    tables: Mapping[str, pl.DataFrame],
    models: Mapping[str, Any],
    rs: RuleSet,
    versions: Mapping[str, str],
    files: Sequence[InputFile],
    checks: Sequence[Mapping[str, Any]] | None,
    generated_at: str | None,
) -> dict[str, Any]:
    """Write one quarter's table files and manifest into the snapshot being built."""
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
        txn.checkpoint(f"staged {name} {quarter.label}")
    changes = tables["segment_changes"].filter(pl.col("quarter_label") == quarter.label)
    manifest = build_manifest(quarter, rs, versions, files, written, checks, generated_at, changes)
    munit = manifest_unit(quarter)
    write_text_atomic(txn.path(munit) / MANIFEST_FILE, dumps(manifest))
    txn.checkpoint(f"staged manifest {quarter.label}")
    return {
        "tables": {n: {"path": str(out / w["path"]), "rows": w["rows"]} for n, w in written.items()},
        "manifest": str(out / munit / MANIFEST_FILE),
    }
