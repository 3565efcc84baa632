"""Fails loudly when an upgrade breaks one of the pinned libraries or their known traps (design §5)."""

from __future__ import annotations

import importlib

import pytest

PINNED = {
    "dagster": "1.13.",
    "dagster_webserver": "1.13.",
    "pandera": "0.35.",
    "pyarrow": "26.",
    "great_expectations": "1.24.",
}


@pytest.mark.parametrize(("module", "prefix"), sorted(PINNED.items()))
def test_pinned_versions(module: str, prefix: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__version__.startswith(prefix), f"{module} {mod.__version__} is not the pinned {prefix}x family"


def test_polars_major_is_1() -> None:
    import polars as pl

    major, minor = (int(x) for x in pl.__version__.split(".")[:2])
    assert major == 1 and minor >= 44, "polars 2.x breaks dagster-polars and pandera's date coercion"


def test_pandas_below_3() -> None:
    import pandas as pd

    assert int(pd.__version__.split(".")[0]) < 3


def test_dagster_and_webserver_in_lockstep() -> None:
    import dagster
    import dagster_webserver

    assert dagster.__version__ == dagster_webserver.__version__


def test_pandera_polars_validates_values_on_eager_frames() -> None:
    import pandera.polars as pa
    import polars as pl

    class Model(pa.DataFrameModel):
        x: int = pa.Field(ge=0)

    with pytest.raises(pa.errors.SchemaError):
        Model.validate(pl.DataFrame({"x": [1, -1]}))


def test_fastexcel_backs_polars_read_excel() -> None:
    import fastexcel

    assert fastexcel.__version__


def test_engine_has_no_dagster_import() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "npaf_pipeline"
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if any(line.lstrip().startswith(("import dagster", "from dagster")) for line in p.read_text().splitlines())
    ]
    assert offenders == [], f"the engine must not import Dagster: {offenders}"
