"""Engine inputs at every benchmark size, built from NHS England's real Q1 2025/26 values.

The base is one quarter of 205 trusts: the 195 acute and mental health & community trusts of the published Q1
files (values, within-type ranks and override / intensive-support flags exactly as read by ``nof_csv``), plus the
10 ambulance trusts of the trust reference, whose file is not published: their values come from the sample
generator's calibrated model (``npaf_pipeline.sample.model.targets``), relabelled with the real ambulance codes.

Larger sizes replicate the base: copy ``k`` of an organisation gets the code ``<code>~k`` and every quarter but
the real one gets perturbed values (Gaussian noise of a tenth of the metric's spread across trusts, rounded to
2 dp as published and clipped to the metric's valid range; counts and provided scores are kept). The unperturbed
real quarter is the last of a multi-quarter span, so the 1 x 1 size is NHS England's own Q1 input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.paths import NOF_Q1, TRUST_REFERENCE, real
from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.ruleset import RuleSet, load_ruleset
from npaf_pipeline.sample.model import targets
from npaf_pipeline.sample.organisations import build_population
from npaf_pipeline.sources import nof_csv

REAL_QUARTER = "2025-26 Q1"
VALUE_COLUMNS = ["quarter", "org_code", "metric_id", "value", "unit", "tiebreak_rank"]
KEEP_UNITS = ("score", "count")
NOISE = 0.1
SEED = 20250901


@dataclass(frozen=True)
class EngineInputs:
    values: pl.DataFrame
    orgs: pl.DataFrame
    flags: pl.DataFrame

    @property
    def decoded_mb(self) -> float:
        """In-memory (Arrow) size of the three frames, MiB."""
        return sum(f.estimated_size() for f in (self.values, self.orgs, self.flags)) / 2**20

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("values", "orgs", "flags"):
            getattr(self, name).write_parquet(folder / f"{name}.parquet", compression="lz4", statistics=False)
        return folder


def read_inputs(folder: Path) -> EngineInputs:
    return EngineInputs(*(pl.read_parquet(folder / f"{name}.parquet") for name in ("values", "orgs", "flags")))


def base(rs: RuleSet | None = None) -> EngineInputs:
    """One quarter, 205 trusts: the real Q1 2025/26 values plus modelled ambulance trusts."""
    rs = rs or load_ruleset("nof-2025-26")
    release = nof_csv.read_nof_csv([real(p) for p in NOF_Q1])
    orgs = nof_csv.organisations(release, rs).select("org_code", "org_type")
    values = nof_csv.metric_values(release, rs).select(VALUE_COLUMNS)
    flags = nof_csv.flags(release)
    ambulance = _ambulance(rs)
    values = pl.concat([values, ambulance["values"]], how="vertical_relaxed")
    orgs = pl.concat([orgs, ambulance["orgs"]]).sort("org_code")
    flags = pl.concat([flags, ambulance["flags"]]).sort("quarter", "org_code")
    return EngineInputs(values.sort("quarter", "metric_id", "org_code"), orgs, flags)


def _ambulance(rs: RuleSet) -> dict[str, pl.DataFrame]:
    reference = pl.read_csv(real(TRUST_REFERENCE), infer_schema=False)
    codes = sorted(reference.filter(pl.col("Trust_type") == "Ambulance trust")["Trust_code"].to_list())
    pop = build_population(SEED, 3, rs)
    modelled = sorted(o.code for o in pop.organisations if o.org_type == "ambulance")[: len(codes)]
    rename = dict(zip(modelled, codes, strict=True))
    frame = targets(pop, [parse_quarter(REAL_QUARTER)], SEED, rs).filter(pl.col("org_code").is_in(modelled))
    values = frame.select(
        "quarter",
        pl.col("org_code").replace_strict(rename),
        "metric_id",
        "value",
        "unit",
        pl.lit(None, pl.Float64).alias("tiebreak_rank"),
    )
    orgs = pl.DataFrame({"org_code": codes, "org_type": ["ambulance"] * len(codes)})
    flags = pl.DataFrame(
        {
            "quarter": [REAL_QUARTER] * len(codes),
            "org_code": codes,
            "financial_override": [False] * len(codes),
            "intensive_support": [False] * len(codes),
        }
    )
    return {"values": values, "orgs": orgs, "flags": flags}


def quarters_ending_at_real(n: int) -> list[str]:
    """``n`` consecutive quarter labels ending at the real quarter (2025-26 Q1)."""
    last = parse_quarter(REAL_QUARTER)
    return [last.shift(i - n + 1).label for i in range(n)]


def scale_up(b: EngineInputs, orgs_factor: int, quarters: int, rs: RuleSet | None = None) -> EngineInputs:
    """``orgs_factor`` copies of every organisation over ``quarters`` quarters (see the module docstring)."""
    rs = rs or load_ruleset("nof-2025-26")
    labels = quarters_ending_at_real(quarters)
    v = b.values.filter(pl.col("value").is_not_null())
    n, copies = v.height, orgs_factor * quarters
    rng = np.random.default_rng([SEED, orgs_factor, quarters])
    copy = np.repeat(np.arange(orgs_factor), quarters * n)
    qidx = np.tile(np.repeat(np.arange(quarters), n), orgs_factor)
    spread = v.group_by("metric_id").agg(pl.col("value").std().fill_null(0.0).alias("_sd"))
    low = {m.id: m.valid_range[0] if m.valid_range else None for m in rs.metrics}
    high = {m.id: m.valid_range[1] if m.valid_range else None for m in rs.metrics}
    bounds = pl.DataFrame(
        {"metric_id": list(low), "_lo": list(low.values()), "_hi": list(high.values())},
        schema={"metric_id": pl.String, "_lo": pl.Float64, "_hi": pl.Float64},
    )
    tiled = pl.concat([v] * copies) if copies > 1 else v
    real_cell = (copy == 0) & (qidx == quarters - 1)
    noisy = tiled.join(spread, on="metric_id", how="left", maintain_order="left").join(
        bounds, on="metric_id", how="left", maintain_order="left"
    )
    noisy = noisy.with_columns(
        pl.Series("_copy", copy, dtype=pl.Int32),
        pl.Series("_q", qidx, dtype=pl.Int32),
        pl.Series("_z", rng.standard_normal(n * copies)),
        pl.Series("_real", real_cell),
    )
    perturbed = (pl.col("value") + NOISE * pl.col("_sd") * pl.col("_z")).round(2)
    perturbed = (
        pl.when(pl.col("_lo").is_not_null() & (perturbed < pl.col("_lo"))).then(pl.col("_lo")).otherwise(perturbed)
    )
    perturbed = (
        pl.when(pl.col("_hi").is_not_null() & (perturbed > pl.col("_hi"))).then(pl.col("_hi")).otherwise(perturbed)
    )
    keep = pl.col("_real") | pl.col("unit").is_in(KEEP_UNITS).fill_null(False)
    code = _code(pl.col("org_code"))
    values = noisy.select(
        pl.col("_q").replace_strict(dict(enumerate(labels)), return_dtype=pl.String).alias("quarter"),
        code.alias("org_code"),
        "metric_id",
        pl.when(keep).then(pl.col("value")).otherwise(perturbed).alias("value"),
        "unit",
        "tiebreak_rank",
    )
    orgs = pl.concat([b.orgs.with_columns(pl.lit(k, pl.Int32).alias("_copy")) for k in range(orgs_factor)])
    orgs = orgs.select(code.alias("org_code"), "org_type").sort("org_code")
    base_flags = b.flags.drop("quarter")
    flags = pl.concat(
        [
            base_flags.with_columns(pl.lit(k, pl.Int32).alias("_copy"), pl.lit(label).alias("quarter"))
            for k in range(orgs_factor)
            for label in labels
        ]
    ).select("quarter", code.alias("org_code"), "financial_override", "intensive_support")
    return EngineInputs(values, orgs, flags.sort("quarter", "org_code"))


def _code(col: pl.Expr) -> pl.Expr:
    return pl.when(pl.col("_copy") == 0).then(col).otherwise(pl.format("{}~{}", col, pl.col("_copy")))
