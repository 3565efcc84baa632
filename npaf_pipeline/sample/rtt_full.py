"""RTT waiting times: the "Full CSV data file" (provider x commissioner x RTT part x treatment function).

121 columns in the published order (``schemas.rtt_full.LAYOUT``), one file for the month that ends each quarter
(the NOF reads RTT at the quarter's last month) in ``rtt_full/``, and one for each other month in ``rtt_monthly/``
(the ICB test of RTT performance in every month reads them; a month's bands aim at its quarter's target, with
the monthly noise every file has). Each provider has a
few commissioners and treatment functions (more with ``--scale``), every RTT part (completed admitted and
non-admitted pathways, the incomplete-pathway waiting list, its decision-to-admit subset, new periods) and the
all-specialty ``C_999`` row of each group. The waiting list's weekly bands are drawn from a profile that puts the
provider's OF0023 share within 18 weeks and its OF0003 share beyond 52 weeks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from npaf_pipeline.quarters import Quarter
from npaf_pipeline.sample.organisations import Organisation, Population
from npaf_pipeline.sample.periods import MONTH_NAMES
from npaf_pipeline.sample.randomness import stream, uniforms
from schemas.rtt_full import BANDS, DESCRIPTIVE, LAYOUT, TOTAL_TREATMENT_FUNCTION

PARTS = (
    ("Part_1A", "Completed Pathways For Admitted Patients", 0.025),
    ("Part_1B", "Completed Pathways For Non-Admitted Patients", 0.11),
    ("Part_2", "Incomplete Pathways", 1.0),
    ("Part_2A", "Incomplete Pathways with DTA", 0.22),
    ("Part_3", "New RTT Periods - All Patients", 0.13),
)
"""(part, description, pathways relative to the waiting list)."""
TREATMENT_FUNCTIONS = (
    ("C_100", "General Surgery"),
    ("C_101", "Urology"),
    ("C_110", "Trauma and Orthopaedic"),
    ("C_120", "Ear Nose and Throat"),
    ("C_130", "Ophthalmology"),
    ("C_140", "Oral Surgery"),
    ("C_160", "Plastic Surgery"),
    ("C_170", "Cardiothoracic Surgery"),
    ("C_300", "General Internal Medicine"),
    ("C_301", "Gastroenterology"),
    ("C_320", "Cardiology"),
    ("C_330", "Dermatology"),
    ("C_340", "Respiratory Medicine"),
    ("C_400", "Neurology"),
    ("C_410", "Rheumatology"),
    ("C_430", "Elderly Medicine"),
    ("C_502", "Gynaecology"),
    ("X02", "Other - Medical Services"),
    ("X03", "Other - Mental Health Services"),
    ("X04", "Other - Paediatric Services"),
    ("X05", "Other - Surgical Services"),
    ("X06", "Other - Other Services"),
)
SPECIALTY = {
    "Children's Hospital": "X04",
    "Orthopaedic Hospital": "C_110",
    "Heart and Chest Hospital": "C_170",
    "Eye Hospital": "C_130",
    "Women's Hospital": "C_502",
}
PATHWAYS_PER_ROW = 700
"""Waiting-list pathways per provider x commissioner x treatment function row (size 1). The file holds a few
commissioners and treatment functions, not every one, so a row carries a row's worth of patients, not a share
of the whole list; percentages are what matter and stay within a fraction of a point of the targets."""


def write(
    pop: Population, quarters: list[Quarter], values: pl.DataFrame, seed: int, folder: Path, scale: int
) -> list[tuple[Path, int]]:
    """One file per quarter, for the month that ends it (what the NOF reads)."""
    months = [(q, *q.months[-1]) for q in quarters]
    return [_write_month(pop, q, year, month, values, seed, folder, scale) for q, year, month in months]


def write_other_months(
    pop: Population, quarters: list[Quarter], values: pl.DataFrame, seed: int, folder: Path, scale: int
) -> list[tuple[Path, int]]:
    """One file for each month that does not end its quarter (what the ICB every-month test also reads)."""
    months = [(q, year, month) for q in quarters for year, month in q.months[:-1]]
    return [_write_month(pop, q, year, month, values, seed, folder, scale) for q, year, month in months]


def _write_month(
    pop: Population, q: Quarter, year: int, month: int, values: pl.DataFrame, seed: int, folder: Path, scale: int
) -> tuple[Path, int]:
    target = {
        (org, metric): v
        for org, metric, v in values.filter(
            pl.col("metric_id").is_in(["OF0023", "OF0003"]), pl.col("quarter") == q.label
        )
        .select("org_code", "metric_id", "value")
        .iter_rows()
    }
    providers = [o for o in pop.organisations if "rtt" in o.services or _community_rtt(o, seed)]
    subs = {s: c for c in pop.icbs for s in c.sub_icbs}
    parts = []
    for o in providers:
        p18 = target.get((o.code, "OF0023"), 80.0) / 100
        p52 = target.get((o.code, "OF0003"), 0.5) / 100
        parts.append(_provider(o, subs, year, month, p18, p52, seed, scale))
    descriptive = [row for part in parts for row in part[0]]
    bands = np.concatenate([part[1] for part in parts])
    totals = [t for part in parts for t in part[2]]
    unknown = [u for part in parts for u in part[3]]
    frame = _frame(descriptive, bands, totals, unknown).sort(
        "Provider Org Code", "Commissioner Org Code", "RTT Part Type", "Treatment Function Code"
    )
    day = {2: 28, 4: 30, 6: 30, 9: 30, 11: 30}.get(month, 31) + (month == 2 and year % 4 == 0)
    path = folder / f"{year}{month:02d}{day:02d}-RTT-{MONTH_NAMES[month - 1]}-{year}-full-extract.csv"
    frame.select(LAYOUT).write_csv(path, line_terminator="\n")
    return path, frame.height


def _community_rtt(o: Organisation, seed: int) -> bool:
    """A few community trusts run consultant-led services and report RTT (their values are not scored)."""
    return o.subtype == "Community" and uniforms(seed, "community_rtt", o.code)[0] < 0.34


def _profile(p18: float, p52: float) -> np.ndarray:
    """Share of pathways in each of the 105 weekly bands: p18 in weeks 0-18, p52 beyond 52, decaying within."""
    p18, p52 = min(max(p18, 0.05), 0.99), min(max(p52, 0.0), 0.5)
    middle = max(1.0 - p18 - p52, 0.0)
    weeks = np.arange(len(BANDS), dtype=float)
    out = np.zeros(len(BANDS))
    for lo, hi, share, tau in ((0, 18, p18, 30.0), (18, 52, middle, 18.0), (52, len(BANDS), p52, 10.0)):
        w = np.exp(-(weeks[lo:hi] - lo) / tau)
        out[lo:hi] = share * w / w.sum()
    return out / out.sum()


def _provider(
    o: Organisation, icbs: dict, year: int, month: int, p18: float, p52: float, seed: int, scale: int
) -> tuple[list[list[str]], np.ndarray, list[int], list[int]]:
    rng = stream(seed, "rtt_full", o.code, year, month)
    fixed = stream(seed, "rtt_layout", o.code)
    n_comm, n_tf = 1 + scale, min(len(TREATMENT_FUNCTIONS), 2 * scale)
    own = list(o.icb.sub_icbs)
    others = sorted(s for s, c in icbs.items() if c != o.icb)
    order = fixed.permutation(len(others))
    commissioners = (own + [others[i] for i in order])[:n_comm]
    codes = [c for c, _ in TREATMENT_FUNCTIONS]
    first = SPECIALTY.get(o.kind or "")
    picked = [codes[i] for i in fixed.permutation(len(codes)) if codes[i] != first]
    tfs = sorted(([first] if first else []) + picked[: n_tf - (1 if first else 0)])
    shares = fixed.dirichlet(np.full(n_comm * len(tfs), 2.0))
    per_row = PATHWAYS_PER_ROW * (o.size if o.org_type == "acute" else 0.3)
    size = per_row * len(shares) * (1 + 0.02 * float(rng.standard_normal()))
    p18 += 0.004 * float(rng.standard_normal())
    cells = [(c, t) for c in commissioners for t in tfs]
    descriptive, bands, totals, unknown = [], [], [], []
    waiting = np.zeros((len(cells), len(BANDS)), dtype=np.int64)
    for part, description, ratio in PARTS:
        n = rng.multinomial(round(size * ratio), shares)
        if part == "Part_3":  # new periods: a count, no bands
            band = np.zeros((len(cells), len(BANDS)), dtype=np.int64)
        elif part == "Part_2A":  # with a decision to admit: a subset of the waiting list
            band = rng.binomial(waiting, ratio)
        else:
            faster = 0.1 + 0.1 * (part == "Part_1B")  # completed pathways waited less
            profile = _profile(p18, p52) if part == "Part_2" else _profile(p18 + faster, p52 / 3)
            band = np.stack([rng.multinomial(k, profile) for k in n])
            if part == "Part_2":
                waiting = band
        unk = rng.binomial(3, 0.2, size=len(cells)) if part == "Part_2" else np.zeros(len(cells), dtype=np.int64)
        for c in commissioners:
            rows = [i for i, (cc, _) in enumerate(cells) if cc == c]
            group_bands = band[rows]
            group_total = n[rows] if part == "Part_3" else group_bands.sum(axis=1) + unk[rows]
            for i, row in zip(rows, range(len(rows)), strict=True):
                descriptive.append(_describe(o, icbs, c, year, month, part, description, cells[i][1]))
                bands.append(group_bands[row])
                totals.append(int(group_total[row]))
                unknown.append(int(unk[i]))
            descriptive.append(_describe(o, icbs, c, year, month, part, description, TOTAL_TREATMENT_FUNCTION))
            bands.append(group_bands.sum(axis=0))
            totals.append(int(group_total.sum()))
            unknown.append(int(unk[rows].sum()))
    return descriptive, np.stack(bands), totals, unknown


def _describe(
    o: Organisation, icbs: dict, commissioner: str, year: int, month: int, part: str, description: str, tf: str
) -> list[str]:
    icb = icbs[commissioner]
    tf_name = dict(TREATMENT_FUNCTIONS).get(tf, "Total")
    return [
        f"RTT-{MONTH_NAMES[month - 1]}-{year}",
        o.region.code,
        f"NHS ENGLAND {o.region.upper}",
        o.code,
        o.name.upper(),
        icb.code,
        icb.name.upper(),
        commissioner,
        f"{icb.name.upper().replace(' INTEGRATED CARE BOARD (SYNTHETIC)', ' ICB')} - {commissioner} (SYNTHETIC)",
        part,
        description,
        tf,
        tf_name,
    ]


def _frame(descriptive: list[list[str]], bands: np.ndarray, totals: list[int], unknown: list[int]) -> pl.DataFrame:
    text = pl.DataFrame(descriptive, schema=DESCRIPTIVE, orient="row")
    part = text["RTT Part Type"]
    banded = part != "Part_3"
    completed = part.is_in(["Part_1A", "Part_1B"])
    incomplete = part.is_in(["Part_2", "Part_2A"])
    counts = pl.DataFrame(bands, schema=BANDS, orient="row")
    counts = counts.select(pl.when(banded).then(pl.col(b)).alias(b) for b in BANDS)
    tail = pl.DataFrame(
        {
            "Total": pl.Series(totals).zip_with(completed, pl.Series([None] * len(totals), dtype=pl.Int64)),
            "Patients with unknown clock start date": pl.Series(unknown).zip_with(
                incomplete, pl.Series([None] * len(unknown), dtype=pl.Int64)
            ),
            "Total All": pl.Series(totals),
        }
    )
    return pl.concat([text, counts, tail], how="horizontal")
