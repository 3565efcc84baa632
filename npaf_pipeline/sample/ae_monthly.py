"""A&E attendances and emergency admissions: one provider CSV per month, as NHS England publishes it.

Counts are built so that the quarter's 4-hour performance (all department types, booked appointments included,
as the adapter computes OF0013) lands on the organisation's target: the breaches left over after the low-breach
departments (type 3, booked) fall on the main department. Some community trusts run type 3 units only, as in the
real files. The file ends with the England TOTAL row.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

from npaf_pipeline.quarters import Quarter, of_month
from npaf_pipeline.sample.organisations import Organisation, Population
from npaf_pipeline.sample.periods import MONTH_NAMES, months
from npaf_pipeline.sample.randomness import stream, uniforms
from npaf_pipeline.sources.ae_monthly import COLUMNS

HEADER = list(COLUMNS)
COUNTS = HEADER[4:]
TYPE1_PER_MONTH = 10_400  # median type 1 attendances of an acute trust, June 2025


def write(
    pop: Population, quarters: list[Quarter], values: pl.DataFrame, seed: int, folder: Path
) -> list[tuple[Path, int]]:
    target = _targets(values)
    reporting = [o for o in pop.organisations if "ae" in o.services or _type3_only(o, seed)]
    written = []
    for year, month in months(quarters):
        label = of_month(year, month).label
        rows = [_row(o, year, month, target.get((label, o.code), {}), seed) for o in reporting]
        totals = [sum(int(r[i]) for r in rows) for i in range(4, len(HEADER))]
        path = folder / f"Monthly-AE-{MONTH_NAMES[month - 1]}-{year}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(HEADER)
            writer.writerows(rows)
            writer.writerow(["TOTAL"] * 4 + totals)
        written.append((path, len(rows) + 1))
    return written


def _targets(values: pl.DataFrame) -> dict[tuple[str, str], dict[str, float]]:
    out: dict[tuple[str, str], dict[str, float]] = {}
    for q, org, metric, value in (
        values.filter(pl.col("metric_id").is_in(["OF0013", "OF0014"]))
        .select("quarter", "org_code", "metric_id", "value")
        .iter_rows()
    ):
        out.setdefault((q, org), {})[metric] = value
    return out


def _type3_only(o: Organisation, seed: int) -> bool:
    """Half the community trusts run an urgent treatment centre or minor injuries unit (type 3)."""
    return o.subtype == "Community" and uniforms(seed, "type3", o.code)[0] < 0.5


def _row(o: Organisation, year: int, month: int, target: dict[str, float], seed: int) -> list[str]:
    rng = stream(seed, "ae_monthly", o.code, year, month)
    wobble = 1.0 + 0.05 * float(rng.standard_normal())
    u = uniforms(seed, "ae_mix", o.code)
    c = dict.fromkeys(COUNTS, 0)
    if "ae" not in o.services:  # a type 3 unit only
        other = round(3000 * o.size * wobble)
        c["A&E attendances Other A&E Department"] = other
        c["Attendances over 4hrs Other Department"] = round(other * (0.01 + 0.03 * u[0]))
        c["Emergency admissions via A&E - Other A&E department"] = round(other * 0.005)
        c["Other emergency admissions"] = round(100 * o.size)
        return _cells(o, year, month, c)
    eye = o.kind == "Eye Hospital"
    main = "A&E attendances Type 2" if eye else "A&E attendances Type 1"
    c[main] = round(TYPE1_PER_MONTH * o.size * wobble)
    if not eye and u[0] < 0.15:
        c["A&E attendances Type 2"] = round(c[main] * 0.03)
    if u[1] < 0.8 and o.kind is None:
        c["A&E attendances Other A&E Department"] = round(c[main] * 0.4 * wobble)
    if u[0] > 0.5:
        c["A&E attendances Booked Appointments Type 1" if not eye else "A&E attendances Booked Appointments Type 2"] = (
            round(c[main] * 0.025)
        )
    if u[1] > 0.55:
        c["A&E attendances Booked Appointments Other Department"] = round(
            c["A&E attendances Other A&E Department"] * 0.06
        )
    within = target.get("OF0013", 75.0) + 0.8 * float(rng.standard_normal())
    within = min(max(within, 40.0), 99.5)
    attendances = sum(v for k, v in c.items() if k.startswith("A&E attendances"))
    breaches = round(attendances * (1.0 - within / 100.0))
    minor = {
        "Attendances over 4hrs Type 2": ("A&E attendances Type 2", 0.04),
        "Attendances over 4hrs Other Department": ("A&E attendances Other A&E Department", 0.03),
        "Attendances over 4hrs Booked Appointments Type 1": ("A&E attendances Booked Appointments Type 1", 0.15),
        "Attendances over 4hrs Booked Appointments Type 2": ("A&E attendances Booked Appointments Type 2", 0.1),
        "Attendances over 4hrs Booked Appointments Other Department": (
            "A&E attendances Booked Appointments Other Department",
            0.02,
        ),
    }
    main_breach = "Attendances over 4hrs Type 2" if eye else "Attendances over 4hrs Type 1"
    for breach, (attended, rate) in minor.items():
        if breach != main_breach:
            c[breach] = min(round(c[attended] * rate), breaches)
            breaches -= c[breach]
    c[main_breach] = min(max(breaches, 0), c[main])
    type1 = c["A&E attendances Type 1"]
    c["Patients who have waited 4-12 hs from DTA to admission"] = round(type1 * 0.055 * wobble)
    c["Patients who have waited 12+ hrs from DTA to admission"] = round(type1 * target.get("OF0014", 8.0) / 400.0)
    c["Emergency admissions via A&E - Type 1"] = round(type1 * 0.27)
    c["Emergency admissions via A&E - Type 2"] = round(c["A&E attendances Type 2"] * 0.03)
    c["Emergency admissions via A&E - Other A&E department"] = round(c["A&E attendances Other A&E Department"] * 0.01)
    c["Other emergency admissions"] = round(c[main] * 0.08)
    return _cells(o, year, month, c)


def _cells(o: Organisation, year: int, month: int, counts: dict[str, int]) -> list[str]:
    parent = f"NHS ENGLAND {o.region.upper}" + ("" if o.region.code == "Y56" else " ")  # as published
    period = f"MSitAE-{MONTH_NAMES[month - 1].upper()}-{year}"
    return [period, o.code, parent, o.name.upper(), *(str(counts[k]) for k in COUNTS)]
