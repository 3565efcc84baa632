"""The state IO manager reads a quarter whole or fails: no input quarter is silently left out."""

from __future__ import annotations

import logging
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


def _write(manager: QuarterTablesIOManager, obj: object, first: str, last: str, asset: str = "scores") -> None:
    with dg.DagsterInstance.ephemeral() as instance:  # closed here, not by the garbage collector later
        context = dg.build_output_context(
            asset_key=asset,
            asset_partitions_def=quarterly,
            asset_partition_key_range=dg.PartitionKeyRange(first, last),
            instance=instance,
        )
        manager.handle_output(context, obj)


def _load(manager: QuarterTablesIOManager, first: str, last: str, **metadata: object) -> object:
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_input_context(
            asset_key="scores",
            asset_partitions_def=quarterly,
            asset_partition_key_range=dg.PartitionKeyRange(first, last),
            definition_metadata=metadata,
            instance=instance,
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


def _segmentation(manager: QuarterTablesIOManager, key: str, final: list[int]) -> None:
    frame = pl.DataFrame(
        {
            "quarter": LABELS[key],
            "org_code": ["RAA", "RBB"],
            "org_type": "acute",
            "unadjusted_segment": final,
            "adjusted_segment": final,
            "final_segment": final,
            "override_flag": False,
        }
    )
    _write(manager, {"segmentation": frame}, key, key, asset="segmentation")


def test_segment_changes_say_when_the_previous_quarter_is_not_stored(tmp_path: Path) -> None:
    settings = NpafSettings(
        landing_dir=str(tmp_path / "landing"), output_dir=str(tmp_path / "out"), state_dir=str(tmp_path / "state")
    )
    manager = QuarterTablesIOManager(base_dir=str(settings.state / "tables"))
    resources = {"npaf": settings, "tables_io_manager": manager}
    _segmentation(manager, Q2, [2, 3])

    def run() -> tuple[dict, list[str], pl.DataFrame]:
        with dg.DagsterInstance.ephemeral() as instance:
            result = dg.materialize(
                ASSETS, partition_key=Q2, resources=resources, selection=["segment_changes"], instance=instance
            )
            logs = instance.all_logs(result.run_id)
        (event,) = result.get_asset_materialization_events()
        warnings = [e.user_message for e in logs if not e.is_dagster_event and e.level == logging.WARNING]
        stored = pl.read_parquet(settings.state / "tables" / "segment_changes" / f"{Q2}.parquet")
        return event.materialization.metadata, warnings, stored

    metadata, warnings, stored = run()  # 2025-26 Q1 never computed: not known, and said so
    assert metadata["compared_with"].value == "nothing: 2025-26 Q1 is not stored"
    assert any("nothing stored for the previous quarter, 2025-26 Q1" in w for w in warnings), warnings
    assert stored.is_empty()
    _segmentation(manager, Q1, [2, 2])  # now computed: RBB moved from 2 to 3
    metadata, warnings, stored = run()
    assert metadata["compared_with"].value == "2025-26 Q1"
    assert not warnings
    assert stored["org_code"].to_list() == ["RBB"]
