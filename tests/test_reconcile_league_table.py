"""`npaf reconcile` with league-table files beside the data files: league fields and likely ranges compared.

NHS England's league-table files are not among the shared real files, so the league table here is written
from the published Q1 data file's own OF5002/OF5000/OF5004 rows, with likely ranges that this engine computed
end to end; one bound is then moved by hand so that exactly one comparison must fail.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline.cli import main
from npaf_pipeline.engine import run
from npaf_pipeline.reconcile import league
from npaf_pipeline.reconcile.compare import reconcile
from npaf_pipeline.sources import nof_csv, nof_league_table
from tests.conftest import ACUTE_Q1, real_file

pytestmark = pytest.mark.real_data
MOVED = "RP6"
NO_DATA = "RRU"


def _league_file(path: Path, release: nof_csv.NofRelease, ranges: pl.DataFrame) -> Path:
    pub = release.rows.filter(pl.col("metric_id").is_in(["OF5002", "OF5000", "OF5004"]))
    wide = pub.pivot(on="metric_id", index=["org_code", "region", "trust_type", "trust_subtype", "org_name"],
                     values="value", aggregate_function="first")  # fmt: skip
    rank = pub.filter(pl.col("metric_id") == "OF5000").select("org_code", pl.col("rank").alias("league_rank"))
    wide = wide.join(rank, on="org_code").join(ranges, on="org_code").sort("org_code")
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        out = csv.writer(handle)
        out.writerow(["Reporting_date", *nof_league_table.COLUMNS[1:]])  # the first release's layout
        for r in wide.iter_rows(named=True):
            high = r["average_high"] + (0.05 if r["org_code"] == MOVED else 0.0)
            out.writerow(["Q1 2025/26", r["region"], r["trust_type"], r["trust_subtype"], r["org_code"],
                          r["org_name"], f"{r['OF5002']}", f"{r['average_low']} to {high:.2f}", f"{r['OF5000']}",
                          "Yes" if r["OF5004"] == 1 else "No", f"{r['league_rank']}",
                          f"{r['rank_low']} to {r['rank_high']}"])  # fmt: skip
        # an ambulance trust: a league table of a type whose data file is not among the files reconciled
        out.writerow(["Q1 2025/26", "London", "Ambulance trust", "Ambulance", NO_DATA, "London Ambulance Service",
                      "2.1", "1.8 to 2.4", "2.0", "No", "3.0", "1 to 6"])  # fmt: skip
    return path


@pytest.fixture(scope="module")
def reconciled(tmp_path_factory: pytest.TempPathFactory, rs) -> pl.DataFrame:
    data = real_file(ACUTE_Q1)
    release = nof_csv.read_nof_csv(data)
    values, orgs = nof_csv.metric_values(release, rs), nof_csv.organisations(release, rs)
    result = run(values, orgs, rs, nof_csv.flags(release)).as_text()
    ranges = result.segmentation.select("org_code", *league.LIKELY.values())
    folder = tmp_path_factory.mktemp("league")
    table = _league_file(folder / "league.csv", release, ranges)
    assert main(["reconcile", str(data), str(table), "--out", str(folder / "out")]) == 0
    return pl.read_parquet(folder / "out" / "reconciliation.parquet")


def test_a_league_table_trust_without_data_is_listed_and_not_compared(tmp_path: Path, rs, capsys) -> None:
    data = real_file(ACUTE_Q1)
    release = nof_csv.read_nof_csv(data)
    ranges = pl.DataFrame(
        {"org_code": release.rows["org_code"].unique().sort()},
    ).with_columns(pl.lit(1.0).alias("average_low"), pl.lit(3.0).alias("average_high"),
                   pl.lit(1).alias("rank_low"), pl.lit(134).alias("rank_high"))  # fmt: skip
    table = nof_league_table.read([_league_file(tmp_path / "league.csv", release, ranges)], release.quarters)
    result = reconcile(release, rs, league_table=table.rows)
    assert result.league_without_data.rows() == [("2025-26 Q1", NO_DATA, "Ambulance trust")]
    assert NO_DATA not in result.rows["org_code"].to_list()
    assert main(["reconcile", str(data), str(tmp_path / "league.csv"), "--out", str(tmp_path / "out")]) == 0
    said = capsys.readouterr().out
    assert "League-table trusts not in the data files (not compared): 1\n  2025-26 Q1 Ambulance trust: RRU" in said
    assert f"{NO_DATA} " not in said.split("Unexplained value differences")[1].split("League tables")[0]


def test_likely_range_rows_carry_published_and_computed_bounds(reconciled: pl.DataFrame) -> None:
    likely = reconciled.filter(pl.col("metric_id").str.starts_with("likely_"))
    assert set(likely["metric_id"]) == set(league.LIKELY)
    assert likely.group_by("mode").len().sort("mode").rows() == [("end_to_end", 4 * 134), ("stage", 4 * 134)]
    e2e = likely.filter(pl.col("mode") == "end_to_end")
    assert e2e["published_value"].null_count() == 0 and e2e["computed_value"].null_count() == 0
    # the moved bound is the only end-to-end difference, and 0.05 is outside the replicate allowance
    missed = e2e.filter(~pl.col("match"))
    assert missed.select("org_code", "metric_id").rows() == [(MOVED, "likely_average_high")]
    assert missed["abs_difference"].item() == pytest.approx(0.05)
    assert missed["known_difference"].item() is None


def test_league_fields_reconcile_stage_by_stage_on_a_release_of_one_trust_type(reconciled: pl.DataFrame) -> None:
    stage = reconciled.filter((pl.col("mode") == "stage") & pl.col("metric_id").str.starts_with("league_"))
    assert stage.height == 4 * 134
    assert stage["match"].all()
    assert stage.filter(pl.col("metric_id") == "league_rank")["rank_match"].all()


def test_implied_cutpoints_reproduce_every_published_unadjusted_segment(q1_files, rs) -> None:
    release = nof_csv.read_nof_csv(q1_files)
    orgs = nof_csv.organisations(release, rs)
    published = release.rows.select("quarter", "org_code", "metric_id", pl.col("value").alias("published_value"))
    cuts = league.implied_cutpoints(published, orgs, rs)
    pub = published.filter(pl.col("metric_id").is_in(["OF5002", "OF5003"])).pivot(
        on="metric_id", index=["quarter", "org_code"], values="published_value"
    )
    both = pub.join(orgs.select("quarter", "org_code", "org_type"), on=["quarter", "org_code"]).with_columns(
        pl.lit("trusts").alias("population")
    )
    pop = {t: p.id for p in rs.segmentation for t in p.org_types}
    both = both.with_columns(pl.col("org_type").replace_strict(pop, default=None).alias("population"))
    joined = both.join(cuts, on=["quarter", "population"])
    segment = 1 + sum((pl.col("OF5002") > pl.col(f"cut_{k}")).cast(pl.Int64) for k in (1, 2, 3))
    assert joined.height == 195
    assert joined.filter(segment != pl.col("OF5003")).is_empty()
