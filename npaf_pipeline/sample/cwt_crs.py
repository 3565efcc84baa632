"""Cancer Waiting Times: one CWT-CRS provider extract (xlsx, one sheet) covering every month of the quarters.

Rows per provider and month, as in the published extract: 28-day FDS by route and suspected cancer; 31-day and
62-day by route broken down twice, by cancer type (TREATMENT MODALITY 'ALL MODALITIES') and by modality (CANCER
TYPE 'ALL CANCERS'), both margins of one table of patients so they count the same people. 62-day counts come in
halves (a patient shared by two trusts counts 0.5 to each). Rates follow the OF0010 and OF0011 targets.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from npaf_pipeline.quarters import Quarter, of_month
from npaf_pipeline.sample.organisations import Population
from npaf_pipeline.sample.periods import MONTH_NAMES, months
from npaf_pipeline.sample.randomness import stream
from npaf_pipeline.sample.xlsx import workbook
from npaf_pipeline.sources.cwt_crs import COLUMNS

SHEET = "CWT CRS Provider Extract"
FDS_ROUTES = {
    "URGENT SUSPECTED CANCER": (
        "Suspected breast cancer",
        "Suspected lower gastrointestinal cancer",
        "Suspected lung cancer",
        "Suspected skin cancer",
        "Suspected urological malignancies (excluding testicular)",
        "Suspected gynaecological cancer",
        "Suspected head & neck cancer",
        "Suspected upper gastrointestinal cancer",
        "Suspected cancer - non-specific symptoms",
        "Suspected haematological malignancies (excluding acute leukaemia)",
    ),
    "BREAST SYMPTOMATIC, CANCER NOT SUSPECTED": (
        "Exhibited (non-cancer) breast symptoms - cancer not initially suspected",
    ),
    "NATIONAL SCREENING PROGRAMME": ("Suspected breast cancer", "Suspected lower gastrointestinal cancer"),
}
CANCER_TYPES = (
    "Breast",
    "Lower Gastrointestinal",
    "Lung",
    "Skin",
    "Urological - Prostate",
    "Gynaecological",
    "Head & Neck",
    "Haematological - Lymphoma",
    "Upper Gastrointestinal - Hepatobiliary",
    "Other (a)",
)
MODALITIES = ("Surgery", "Anti-cancer drug regimen", "Radiotherapy", "Other")
ROUTES_31 = ("First Treatment", "Subsequent Treatment")
ROUTES_62 = ("Urgent Suspected Cancer", "Consultant Upgrade", "Screening", "Breast Symptomatic")


def write(
    pop: Population, quarters: list[Quarter], values: pl.DataFrame, seed: int, folder: Path, scale: int
) -> list[tuple[Path, int]]:
    rates = {
        (q, org, metric): value
        for q, org, metric, value in values.filter(pl.col("metric_id").is_in(["OF0010", "OF0011"]))
        .select("quarter", "org_code", "metric_id", "value")
        .iter_rows()
    }
    n_types = min(len(CANCER_TYPES), 3 + scale)
    providers = [o for o in pop.organisations if "cancer" in o.services]
    rows: list[list] = []
    for year, month in months(quarters):
        label = of_month(year, month).label
        for o in providers:
            rng = stream(seed, "cwt_crs", o.code, year, month)
            fds = rates.get((label, o.code, "OF0010"), 76.0) / 100
            c62 = rates.get((label, o.code, "OF0011"), 70.0) / 100
            base = [datetime(year, month, 1), _fy(year, month), MONTH_NAMES[month - 1][:3].upper()]
            rows += _fds(base, o.code, o.size, fds, rng, n_types)
            routes_31, routes_62 = ROUTES_31[: 1 + scale // 2], ROUTES_62[: 2 + scale // 3]
            rows += _treated(base, o.code, "31-day Combined", routes_31, o.size * 250, 0.91, rng, n_types, False)
            rows += _treated(base, o.code, "62-day Combined", routes_62, o.size * 110, c62, rng, n_types, True)
    rows.sort(key=lambda r: (r[0], r[3], r[5], r[6] or "", r[7], r[4]))  # month, standard, route, breakdown, org
    first, last = months(quarters)[0], months(quarters)[-1]
    name = f"CWT-CRS-{MONTH_NAMES[first[1] - 1][:3]}-{first[0]}-to-{MONTH_NAMES[last[1] - 1][:3]}-{last[0]}"
    path = folder / f"{name}-Data-Extract-Provider.xlsx"
    book = workbook(path, "CWT-CRS provider extract (synthetic)")
    sheet = book.add_worksheet(SHEET)
    period = book.add_format({"num_format": "Mmm-YY"})
    sheet.write_row(0, 0, list(COLUMNS))
    for r, row in enumerate(rows, start=1):
        sheet.write_datetime(r, 0, row[0], period)
        sheet.write_row(r, 1, row[1:8])
        for c, number in enumerate(row[8:], start=8):
            sheet.write_number(r, c, number)
    book.close()
    return [(path, len(rows))]


def _fy(year: int, month: int) -> str:
    start = year if month >= 4 else year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def _fds(base: list, code: str, size: float, rate: float, rng: np.random.Generator, n_types: int) -> list[list]:
    rows = []
    for route, types in FDS_ROUTES.items():
        for cancer in types[:n_types]:
            total = int(rng.poisson(size * 1600 / (n_types + 3)))
            if total == 0:
                continue
            p = min(max(rate + 0.04 * float(rng.standard_normal()), 0.0), 1.0)
            within = int(rng.binomial(total, p))
            rows.append([*base, "28-day FDS", code, route, None, cancer, total, within, total - within])
    return rows


def _treated(
    base: list,
    code: str,
    standard: str,
    routes: tuple[str, ...],
    volume: float,
    rate: float,
    rng: np.random.Generator,
    n_types: int,
    halves: bool,
) -> list[list]:
    """One route's patients as a cancer type x modality table; both margins are published."""
    rows = []
    for route in routes:
        lam = volume / len(routes) / (n_types * len(MODALITIES))
        units = rng.poisson(lam * (2 if halves else 1), size=(n_types, len(MODALITIES)))
        p = np.clip(rate + 0.05 * rng.standard_normal(size=units.shape), 0.0, 1.0)
        within = rng.binomial(units, p)
        div = 2.0 if halves else 1.0
        for i, cancer in enumerate(CANCER_TYPES[:n_types]):
            rows.append(
                _counts([*base, standard, code, route, "ALL MODALITIES", cancer], units[i].sum(), within[i].sum(), div)
            )
        for j, modality in enumerate(MODALITIES):
            rows.append(
                _counts(
                    [*base, standard, code, route, modality, "ALL CANCERS"], units[:, j].sum(), within[:, j].sum(), div
                )
            )
    return [r for r in rows if r[-3] > 0]


def _counts(lead: list, total: int, within: int, div: float) -> list:
    return [*lead, _number(total / div), _number(within / div), _number((total - within) / div)]


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)
