"""The state IO manager reads a quarter whole or fails: no input quarter is silently left out."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.definitions import ASSETS
from assets.io_manager import PREVIOUS_QUARTER_OPTIONAL, QuarterTablesIOManager, StoredTableMissing
from assets.partitions import quarterly
from assets.settings import NpafSettings
from tests.dagster_helpers import step_failure

Q1, Q2, Q3 = "2025-04", "2025-07", "2025-10"
LABELS = {Q1: "2025-26 Q1", Q2: "2025-26 Q2", Q3: "2025-26 Q3"}


def _frame(*keys: str) -> pl.DataFrame:
    return pl.DataFrame({"quarter": [LABELS[k] for k in keys], "value": [float(i) for i, _ in enumerate(keys)]})


def _write(manager: QuarterTablesIOManager, obj: object, first: str, last: str) -> None:
    context = dg.build_output_context(
        asset_key="scores",
        asset_partitions_def=quarterly,
        asset_partition_key_range=dg.PartitionKeyRange(first, last),
        instance=dg.DagsterInstance.ephemeral(),
    )
    manager.handle_output(context, obj)


def _load(manager: QuarterTablesIOManager, first: str, last: str, **metadata: object) -> object:
    context = dg.build_input_context(
        asset_key="scores",
        asset_partitions_def=quarterly,
        asset_partition_key_range=dg.PartitionKeyRange(first, last),
        definition_metadata=metadata,
        instance=dg.DagsterInstance.ephemeral(),
    )
    return manager.load_input(context)


def test_every_stored_quarter_is_read(tmp_path: Path) -> None:
    manager = QuarterTablesIOManager(base_dir=str(tmp_path))
    _write(manager, _frame(Q1, Q2, Q3), Q1, Q3)
    assert _load(manager, Q1, Q3)["quarter"].to_list() == [LABELS[Q1], LABELS[Q2], LABELS[Q3]]


def test_a_quarter_that_is_not_stored_fails_with_the_asset_quarter_and_folder_named(tmp_path: Path) -> None:
    manager = QuarterTablesIOManager(base_dir=str(tmp_path))
    _write(manager, _frame(Q1, Q3), Q1, Q1)
    _write(manager, _frame(Q1, Q3), Q3, Q3)
    with pytest.raises(StoredTableMissing) as raised:
        _load(manager, Q1, Q3)
    message = str(raised.value)
    assert message.startswith("scores has nothing stored for 2025-26 Q2")
    assert str(tmp_path / "scores") in message
    assert "npaf backfill --from 2025-26Q2 --to 2025-26Q2" in message


def test_an_asset_never_stored_fails_rather_than_giving_no_rows(tmp_path: Path) -> None:
    manager = QuarterTablesIOManager(base_dir=str(tmp_path))
    with pytest.raises(StoredTableMissing, match="scores has nothing stored for 2025-26 Q1, 2025-26 Q2"):
        _load(manager, Q1, Q2)


def test_only_the_previous_quarter_of_an_input_that_declares_it_may_be_missing(tmp_path: Path) -> None:
    manager = QuarterTablesIOManager(base_dir=str(tmp_path))
    _write(manager, {"segmentation": _frame(Q2, Q3)}, Q2, Q3)
    got = _load(manager, Q1, Q3, **{PREVIOUS_QUARTER_OPTIONAL: True})
    assert got["segmentation"]["quarter"].to_list() == [LABELS[Q2], LABELS[Q3]]
    with pytest.raises(StoredTableMissing, match="2025-26 Q1"):
        _load(manager, Q1, Q3)
    (tmp_path / "scores" / "segmentation" / f"{Q3}.parquet").unlink()
    with pytest.raises(StoredTableMissing, match="nothing stored for 2025-26 Q3"):
        _load(manager, Q1, Q3, **{PREVIOUS_QUARTER_OPTIONAL: True})


def test_a_collection_keeps_only_the_tables_last_written_for_a_quarter(tmp_path: Path) -> None:
    manager = QuarterTablesIOManager(base_dir=str(tmp_path))
    _write(manager, {"scores": _frame(Q1, Q2), "ranks": _frame(Q1, Q2)}, Q1, Q2)  # an earlier version's tables
    _write(manager, {"scores": _frame(Q1, Q2)}, Q1, Q2)
    assert list(_load(manager, Q1, Q2)) == ["scores"]


def test_quarters_stored_by_different_versions_fail_rather_than_mix(tmp_path: Path) -> None:
    manager = QuarterTablesIOManager(base_dir=str(tmp_path))
    _write(manager, {"scores": _frame(Q1, Q2), "ranks": _frame(Q1, Q2)}, Q1, Q2)
    _write(manager, {"scores": _frame(Q2)}, Q2, Q2)  # Q2 stored again by a version without "ranks"
    with pytest.raises(StoredTableMissing) as raised:
        _load(manager, Q1, Q2)
    message = str(raised.value)
    assert "table 'ranks' is stored for 2025-26 Q1 but not for 2025-26 Q2" in message
    assert "Materialize scores for 2025-26 Q1, 2025-26 Q2 again" in message


def test_a_step_whose_upstream_quarter_is_not_stored_fails_before_writing(tmp_path: Path) -> None:
    settings = NpafSettings(
        landing_dir=str(tmp_path / "landing"), output_dir=str(tmp_path / "out"), state_dir=str(tmp_path / "state")
    )
    resources = {"npaf": settings, "tables_io_manager": QuarterTablesIOManager(base_dir=str(settings.state / "tables"))}
    result = dg.materialize(
        ASSETS, partition_key=Q1, resources=resources, raise_on_error=False, selection=["segmentation"]
    )
    assert not result.success
    step, text = step_failure(result)
    assert step == "segmentation"
    assert "has nothing stored for 2025-26 Q1" in text
    assert not (settings.state / "tables" / "segmentation").exists()
