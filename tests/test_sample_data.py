"""``npaf sample-data``: every generated file reads back through the real adapters, and the engine runs on it."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline import cli, inputs
from npaf_pipeline.engine import run
from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.sample import generate
from npaf_pipeline.sample.calibration import (
    COVERAGE,
    COVERAGE_METRIC,
    OVERRIDE_SHARE,
    PROBABILITIES,
    QUANTILES,
    SCORE_COUNTS,
)
from npaf_pipeline.sample.model import targets, value_metrics
from npaf_pipeline.sample.organisations import ICB_COUNT, REGIONS, build_population
from npaf_pipeline.sources import registry
from npaf_pipeline.sources.base import AdapterResult
from schemas.common import ODS_CODE
from tests.conftest import ACUTE_Q1, MHC_Q1, real_file

QUARTERS = ["2025-26 Q1", "2025-26 Q2"]
SEED = 11
RAW_SOURCES = ["ae_monthly", "cwt_crs", "chs_waiting_lists", "ambsys", "rtt_full"]
PERCENT_OUTSIDE_0_100 = {"OF0079", "OF0081", "OF0085", "OF0086"}
"""Published in percent and legitimately outside 0-100 (Q1 2025/26: OF0079 down to -19.58, OF0086 up to 138.61),
which ``schemas.canonical_inputs.MetricValuesInput`` currently refuses (``percent_between_0_and_100``)."""


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample") / "landing"
    return out, generate(out, len(QUARTERS), SEED)


@pytest.fixture(scope="module")
def results(landing) -> dict[str, AdapterResult]:
    out, _ = landing
    sources = [s for s in registry.VALUE_SOURCES if s != "nof_dashboard"]
    return {s: registry.reader(s)(registry.source_files(out, s), QUARTERS) for s in sources}


@pytest.fixture(scope="module")
def values(results) -> pl.DataFrame:
    merged, superseded = registry.merge_values({s: r.values for s, r in results.items()})
    assert superseded.is_empty()  # no two sources give the same value
    return merged


@pytest.fixture(scope="module")
def orgs(landing, rs) -> pl.DataFrame:
    frame, quarantine, accounts = inputs.organisation_inputs(landing[0], QUARTERS, rs)
    assert quarantine.is_empty()
    for account in accounts:
        account.check()
    return frame


@pytest.fixture(scope="module")
def flags(landing) -> pl.DataFrame:
    frame, quarantine, accounts = inputs.flag_inputs(landing[0], QUARTERS)
    assert quarantine.is_empty()
    for account in accounts:
        account.check()
    return frame


# --- the landing zone -------------------------------------------------------------------------------------


def test_every_source_folder_is_written_and_the_readme_says_synthetic(landing) -> None:
    out, summary = landing
    assert summary["organisations"] == {"acute": 24, "ambulance": 4, "mhc": 12}
    assert summary["icbs"] == {"total": 42, "hosting_trusts": 39}
    assert summary["subtypes"]["Care Trust"] == 1 and summary["subtypes"]["Acute - Specialist"] == 3
    for source in [*RAW_SOURCES, "canonical", "ods_etr", "trust_reference", "override_flags", "intensive_support"]:
        assert registry.source_files(out, source), source
        assert all(f["rows"] > 0 for f in summary["files"][source]), source
    assert len(registry.source_files(out, "ae_monthly")) == 6  # every month of two quarters
    assert len(registry.source_files(out, "chs_waiting_lists")) == 6
    assert len(registry.source_files(out, "rtt_full")) == 2  # the months that end a quarter
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in readme.lower()
    assert "npaf sample-data --quarters 2 --seed 11 --first '2025-26 Q1' --scale 1 --out DIR" in readme
    assert "ICBs: 42, as many as England has, 39 of them hosting trusts" in readme
    assert summary["bytes"] == sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def test_names_and_codes_are_marked_fictional(landing) -> None:
    out, _ = landing
    ref = pl.read_csv(out / "trust_reference" / "trust_reference.csv", infer_schema=False)
    assert ref["Trust_name"].str.starts_with("Synthetic ").all()
    assert ref["Trust_name"].str.ends_with("(synthetic)").all()
    assert ref["Trust_code"].str.contains(r"^Z[A-Z]{2,3}$").all()
    assert ref["icb_code"].drop_nulls().str.contains(r"^Q[ZQ][1-9A-Z]$").all()
    etr = pl.read_csv(out / "ods_etr" / "etr.csv", has_header=False, infer_schema=False)
    assert etr["column_2"].str.contains("SYNTHETIC").all()
    ae = pl.read_csv(registry.source_files(out, "ae_monthly")[0], infer_schema=False)
    assert ae.filter(pl.col("Period") != "TOTAL")["Org name"].str.contains(r"\(SYNTHETIC\)$").all()
    values = pl.read_csv(registry.source_files(out, "canonical")[0], infer_schema=False)
    assert (values["note"] == "synthetic (npaf sample-data)").all()


def test_codes_do_not_clash_with_real_ods_codes(landing) -> None:
    etr = pl.read_csv(real_file("ods-etr-nov2025/etr.csv"), has_header=False, infer_schema=False)
    real_trusts, real_icbs = set(etr["column_1"]), set(etr["column_4"].drop_nulls())
    out, _ = landing
    ours = pl.read_csv(out / "ods_etr" / "etr.csv", has_header=False, infer_schema=False)
    ref = pl.read_csv(out / "trust_reference" / "trust_reference.csv", infer_schema=False)
    codes = set(ours["column_1"]) | set(ref["Trust_code"])
    assert all(re.match(ODS_CODE, c) for c in codes)
    assert not codes & real_trusts
    assert not set(ours["column_4"]) & real_icbs
    assert not any(c.startswith(("R", "T")) for c in codes)
    lookup = pl.read_csv(real_file("reference-derived/icb_lookup.csv"), infer_schema=False)
    icbs = pl.read_csv(out / "icb_reference" / "icb_reference.csv", infer_schema=False)
    assert lookup.height == ICB_COUNT == icbs.height
    assert not set(icbs["icb_code"]) & (set(lookup["icb_code"]) | real_icbs)
    assert not {c[:2] for c in icbs["icb_code"]} & {c[:2] for c in lookup["icb_code"]}  # no real prefix either


# --- the ICBs -----------------------------------------------------------------------------------------------


def test_england_icb_count_per_region_is_that_of_the_real_reference() -> None:
    real = pl.read_csv(real_file("reference-derived/trust_reference_2025_26.csv"), infer_schema=False)
    per_region = real.drop_nulls("icb_code").select("icb_code", "nhs_region_code").unique()
    assert dict(per_region.group_by("nhs_region_code").len().iter_rows()) == {r.code: r.icbs for r in REGIONS}
    assert ICB_COUNT == 42


@pytest.mark.parametrize("scale, hosting", [(1, 39), (2, 42), (3, 42), (5, 42)])
def test_always_42_icbs_and_trusts_dealt_evenly(rs, scale: int, hosting: int) -> None:
    """42 ICBs at every scale; every ICB hosts a trust of the ODS list from 42 such trusts, else one at most each.

    Scale 1 has 39 trusts in the ODS list (its care trust is not in it), so three ICBs host none the pipeline sees.
    """
    for seed in (SEED, SEED + 1):
        pop = build_population(seed, scale, rs)
        assert len(pop.icbs) == ICB_COUNT == len({c.code for c in pop.icbs})
        assert [c.code for c in pop.icbs] == sorted(c.code for c in pop.icbs)
        assert all(re.fullmatch(r"Q[ZQ][1-9A-Z]", c.code) for c in pop.icbs)
        assert {r.code: sum(c.region == r for c in pop.icbs) for r in REGIONS} == {r.code: r.icbs for r in REGIONS}
        per_icb = [sum(o.icb == c for o in pop.organisations) for c in pop.icbs]
        assert max(per_icb) - min(per_icb) <= 1 and sum(per_icb) == len(pop.organisations)
        in_ods = [o for o in pop.organisations if o.in_etr]
        assert len(pop.hosting_icbs()) == min(ICB_COUNT, len(in_ods)) == hosting


# --- reading back with the real adapters ------------------------------------------------------------------


def test_raw_sources_read_back_with_nothing_quarantined(results) -> None:
    for source in RAW_SOURCES:
        result = results[source]
        result.check_accounting()
        assert result.accounts, source
        assert result.quarantine.is_empty(), (source, result.quarantine.head())
        assert result.values.height, source
        assert set(result.values["quarter"]) == set(QUARTERS), source


def _canonical_rows(out: Path) -> pl.DataFrame:
    return pl.concat(
        pl.read_csv(path, infer_schema=False)
        .with_row_index("source_row", offset=2)
        .with_columns(pl.col("source_row").cast(pl.Int64), pl.lit(str(path)).alias("source_file"))
        for path in registry.source_files(out, "canonical")
    )


def test_canonical_values_read_back_with_nothing_quarantined(landing, results) -> None:
    result = results["canonical"]
    result.check_accounting()
    assert result.quarantine.is_empty(), result.quarantine.head()
    written = _canonical_rows(landing[0])
    assert result.values.height == written.height
    # signed percentages (finance plans, variance, productivity, cost index) are values, not errors
    signed = written.filter((pl.col("unit") == "percent") & ~pl.col("value").cast(pl.Float64).is_between(0, 100))
    assert set(signed["metric_id"]) <= PERCENT_OUTSIDE_0_100 and signed.height > 0


def test_organisations_and_flags_come_from_the_landing_zone(orgs, flags, landing, rs) -> None:
    out, _ = landing
    ref = pl.read_csv(out / "trust_reference" / "trust_reference.csv", infer_schema=False)
    assert orgs.height == ref.height * len(QUARTERS)
    assert orgs["org_type"].null_count() == 0
    assert set(orgs["org_type"]) == {"acute", "mhc", "ambulance"}
    care = ref.filter(pl.col("Trust_subtype") == "Care Trust")["Trust_code"].to_list()
    assert orgs.filter(pl.col("org_code").is_in(care))["icb_code"].null_count() == len(care) * len(QUARTERS)
    assert (flags["flag_source"] == "landing").all()
    assert flags.height == orgs.height and flags["financial_override"].null_count() == 0
    share = flags.join(orgs, on=["quarter", "org_code"]).group_by("org_type").agg(pl.col("financial_override").mean())
    by_type = dict(share.iter_rows())
    assert by_type["acute"] == pytest.approx(OVERRIDE_SHARE["acute"], abs=0.2)
    assert by_type["mhc"] == pytest.approx(OVERRIDE_SHARE["mhc"], abs=0.25)
    supported = flags.filter(pl.col("intensive_support"))
    assert 2 <= supported.height // len(QUARTERS) <= 6


def test_every_metric_has_values_for_every_organisation_type_it_covers(values, orgs, rs) -> None:
    keys = ["quarter", "org_code", "metric_id"]
    given = values.select(*keys, "unit")
    typed = given.join(orgs.select("quarter", "org_code", "org_type"), on=["quarter", "org_code"], how="left")
    assert typed["org_type"].null_count() == 0
    present = set(typed.select("quarter", "metric_id", "org_type").unique().iter_rows())
    missing = [
        (q, m.id, t)
        for m in value_metrics(rs)
        for t in m.org_types
        if t not in rs.reporting_only_org_types
        for q in QUARTERS
        if (q, m.id, t) not in present
    ]
    assert not missing
    counts = dict(typed.filter(pl.col("metric_id").is_in(["OF0048", "OF0088"])).group_by("unit").len().iter_rows())
    assert counts.get("count", 0) > 0 and counts["rate"] > counts["count"]  # a few small trusts publish counts


def test_raw_extracts_reproduce_the_values_they_were_built_around(values, rs) -> None:
    pop = build_population(SEED, 1, rs)
    wanted = targets(pop, [parse_quarter(q) for q in QUARTERS], SEED, rs)
    raw = values.filter(pl.col("source") != "canonical").join(wanted, on=["quarter", "org_code", "metric_id"])
    assert set(raw["metric_id"]) == {"OF0003", "OF0005", "OF0010", "OF0011", "OF0013", "OF0017", "OF0023", "OF0028"}
    gaps = raw.group_by("metric_id").agg((pl.col("value") - pl.col("value_right")).abs().median().alias("gap"))
    assert gaps["gap"].max() < 1.5, gaps


# --- determinism and the command ---------------------------------------------------------------------------


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_arguments_same_bytes_another_seed_other_values(landing, tmp_path: Path, capsys) -> None:
    out, _ = landing
    assert cli.main(["sample-data", "--quarters", "2", "--seed", str(SEED), "--out", str(tmp_path / "again")]) == 0
    printed = capsys.readouterr().out
    assert "Organisations: 40 (24 acute, 4 ambulance, 12 mhc)" in printed and "rtt_full" in printed
    assert _tree(tmp_path / "again") == _tree(out)
    other = _tree(Path(generate(tmp_path / "other", len(QUARTERS), SEED + 1)["out"]))
    first = _tree(out)
    for source in [*RAW_SOURCES, "canonical", "ods_etr", "trust_reference"]:
        ours = {k: v for k, v in first.items() if k.startswith(f"{source}/")}
        theirs = {k: v for k, v in other.items() if k.startswith(f"{source}/")}
        assert ours and theirs, source
        assert set(ours.values()).isdisjoint(theirs.values()), source


def test_bad_arguments_are_plain_errors(tmp_path: Path, capsys) -> None:
    assert cli.main(["sample-data", "--quarters", "0", "--seed", "1", "--out", str(tmp_path)]) == 2
    assert "at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["sample-data", "--quarters", "1", "--seed", "1", "--out", str(tmp_path), "--first", "Q5 2025"])


# --- the engine on the sample ------------------------------------------------------------------------------


def test_engine_segments_every_trust_with_a_spread_of_segments(values, orgs, flags, rs) -> None:
    result = run(values, orgs, rs, flags, with_ranges=False)
    seg = result.segmentation
    assert seg.height == orgs.height
    assert seg["final_segment"].null_count() == 0
    for quarter in QUARTERS:
        this = seg.filter(pl.col("quarter") == quarter)
        assert set(this["unadjusted_segment"]) == {1, 2, 3, 4}
        assert set(this.filter(~pl.col("intensive_support").fill_null(False))["final_segment"]) >= {1, 2, 3, 4}
    assert seg.filter(pl.col("final_segment") == 5).height == flags["intensive_support"].sum()
    moves = seg.pivot(on="quarter", index="org_code", values="unadjusted_segment")
    changed = moves.filter(pl.col(QUARTERS[0]) != pl.col(QUARTERS[1])).height
    assert 0 < changed < moves.height / 2  # stable-ish: a few trusts move each quarter


# --- calibration -------------------------------------------------------------------------------------------


def _nof() -> pl.DataFrame:
    acute = pl.read_csv(real_file(ACUTE_Q1), infer_schema=False)
    mhc = pl.read_csv(real_file(MHC_Q1), infer_schema=False).drop("Quarter")
    types = {"Acute trust": "acute", "Mental health and community trust": "mhc"}
    return pl.concat([acute, mhc]).with_columns(
        pl.col("Trust_type").replace_strict(types).alias("org_type"),
        pl.col("Value").cast(pl.Float64, strict=False).alias("value"),
    )


@pytest.mark.parametrize(
    "metric, org_type",
    [("OF0013", "acute"), ("OF0010", "acute"), ("OF0011", "acute"), ("OF0079", "acute"), ("OF0079", "mhc"),
     ("OF0082", "mhc"), ("OF0005", "mhc"), ("OF0086", "mhc"), ("OF0048", "acute")],
)  # fmt: skip
def test_calibration_quantiles_are_those_of_the_real_files(metric: str, org_type: str) -> None:
    rows = _nof().filter(
        (pl.col("Metric_ID") == metric) & (pl.col("org_type") == org_type) & pl.col("value").is_not_null()
    )
    if metric == "OF0048":
        rows = rows.filter(pl.col("Units") == "rate")
    measured = tuple(round(rows["value"].quantile(p, "linear"), 3) for p in PROBABILITIES)
    assert measured == pytest.approx(QUANTILES[(metric, org_type)], abs=1e-9)


def test_calibration_scores_coverage_and_override_share_are_those_of_the_real_files() -> None:
    nof = _nof()
    scores = nof.filter(pl.col("Metric_ID") == "OF1069").group_by("value").len()
    assert {int(v): n for v, n in scores.iter_rows()} == SCORE_COUNTS[("OF0069", "acute")]
    override = nof.filter(pl.col("Metric_ID") == "OF5004").group_by("org_type").agg(pl.col("value").mean())
    assert dict(override.iter_rows()) == pytest.approx(OVERRIDE_SHARE)
    trusts = nof.select("Trust_code", "Trust_subtype").unique().group_by("Trust_subtype").len()
    for service in ("community_waits", "ucr", "cyp_mh"):
        metric = "OF1" + COVERAGE_METRIC[service][3:]
        scored = nof.filter((pl.col("Metric_ID") == metric) & pl.col("value").is_not_null())
        share = scored.group_by("Trust_subtype").len().join(trusts, on="Trust_subtype", suffix="_all")
        measured = {s: round(n / total, 2) for s, n, total in share.iter_rows()}
        assert measured == COVERAGE[service], service


def test_generated_values_follow_the_calibration(rs) -> None:
    pop = build_population(SEED, 5, rs)
    q1 = targets(pop, [parse_quarter("2025-26 Q1")], SEED, rs)
    for (metric, org_type), quantiles in QUANTILES.items():
        got = q1.filter(
            (pl.col("metric_id") == metric) & (pl.col("org_type") == org_type) & (pl.col("unit") != "count")
        )
        if got.height < 15:
            continue
        assert quantiles[0] - 1e-9 <= got["value"].min() and got["value"].max() <= quantiles[-1] + 1e-9, metric
        assert quantiles[2] <= got["value"].median() <= quantiles[6], (metric, org_type)  # within p10-p90
