"""AmbSYS time series workbook: an ``Introduction`` sheet with the ``Published`` date and the hidden ``Raw`` sheet.

``Raw`` is laid out as NHS England lays it out: caption rows, the indicator-code header on row 5, England rows
month by month, the NHS region totals (regions with more than one service), a ``Raw data`` banner, then the
services month by month, with the formula ``Concatenated`` key in column A and the helper columns (which repeat
``Month`` and ``Year``) at the right. The series starts in April of the first quarter's financial year so the
year-to-date measure (OF0028) is complete. Category 2 times and conveyance rates follow OF0017 and OF0028.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from pathlib import Path

import polars as pl

from npaf_pipeline.quarters import Quarter, of_month, quarter_range
from npaf_pipeline.sample.organisations import Organisation, Population
from npaf_pipeline.sample.periods import MONTH_NAMES, months
from npaf_pipeline.sample.randomness import stream
from npaf_pipeline.sample.xlsx import COMMENT, workbook

INDICATORS = ("A0", "A1", "A7", "A8", "A9", "A10", "A11", "A12", "A24", "A30", "A17", "A53", "A54", "A55", "A56")
CAPTIONS = {"A0": "Contacts", "A1": "Count", "A7": "Incidents", "A24": "Total time", "A30": "Total time"}
LEAD = ["Concatenated", "Year", "Month", "Reg", None, "Area", "Trust"]
HELPERS = ["Month", "Year", "month", "Days"]
HEADER = [*LEAD, *INDICATORS, None, *HELPERS]


def write(
    pop: Population, quarters: list[Quarter], values: pl.DataFrame, seed: int, folder: Path
) -> list[tuple[Path, int]]:
    target = {
        (q, org, metric): v
        for q, org, metric, v in values.filter(pl.col("metric_id").is_in(["OF0017", "OF0028"]))
        .select("quarter", "org_code", "metric_id", "value")
        .iter_rows()
    }
    first = quarters[0]
    span = months(quarter_range(Quarter(first.fy_start, 1), quarters[-1]))
    services = sorted((o for o in pop.organisations if "ambulance" in o.services), key=lambda o: o.name.upper())
    data = {(o.code, ym): _month(o, ym, target, first, seed) for o in services for ym in span}
    regions = sorted(
        {o.region for o in services if sum(p.region == o.region for p in services) > 1}, key=lambda r: r.code
    )
    last = span[-1]
    last_day = date(last[0], last[1], calendar.monthrange(*last)[1])
    path = folder / f"AmbSYS-Time-Series-until-{last_day:%Y%m%d}.xlsx"
    book = workbook(path, "Ambulance Quality Indicators, Systems Indicators (synthetic)")
    _introduction(book, _published(last))
    sheet = book.add_worksheet("Raw")
    sheet.hide()
    when = book.add_format({"num_format": "mmm-yy"})
    sheet.write(2, 7, "Calls")
    for c, name in enumerate(HEADER):
        if name in CAPTIONS:
            sheet.write(3, c, CAPTIONS[name])
        if name is not None:
            sheet.write(4, c, name)
    r = 5
    for ym in span:
        _row(sheet, r, ym, "ENG", None, None, _sum(data, services, ym), when)
        r += 1
    r += 2
    for region in regions:
        members = [o for o in services if o.region == region]
        for ym in span:
            _row(sheet, r, ym, region.code, region, None, _sum(data, members, ym), when)
            r += 1
        r += 1
    sheet.write(r, 0, "Raw data")
    r += 1
    rows = len(span) * (1 + len(regions))
    for ym in span:
        for o in services:
            _row(sheet, r, ym, o.code, o.region, o.name.upper(), data[(o.code, ym)], when)
            r += 1
            rows += 1
    book.close()
    return [(path, rows)]


def _month(o: Organisation, ym: tuple[int, int], target: dict, first: Quarter, seed: int) -> dict[str, int]:
    label = of_month(*ym).label if of_month(*ym) >= first else first.label
    rng = stream(seed, "ambsys", o.code, *ym)
    incidents = round(
        (90_000 if o.org_type == "ambulance" else 6_000) * o.size * (1 + 0.04 * float(rng.standard_normal()))
    )
    c2_mins = target.get((label, o.code, "OF0017"), 28.0) + 0.8 * float(rng.standard_normal())
    convey = target.get((label, o.code, "OF0028"), 50.0) / 100 + 0.004 * float(rng.standard_normal())
    c = {"A7": incidents}
    c["A0"], c["A1"] = round(incidents * 1.6), round(incidents * 1.25)
    c["A8"], c["A9"], c["A10"] = round(incidents * 0.09), round(incidents * 0.06), round(incidents * 0.48)
    c["A11"], c["A12"] = round(incidents * 0.17), round(incidents * 0.01)
    c["A24"] = round(c["A8"] * 60 * (8.3 + 0.4 * float(rng.standard_normal())))
    c["A30"] = round(c["A10"] * 60 * max(c2_mins, 5.0))
    c["A17"] = round(incidents * 0.065)  # no face-to-face response (hear and treat)
    c["A56"] = incidents - c["A17"]
    c["A53"] = min(round(incidents * convey), c["A56"])
    c["A54"] = min(round(incidents * 0.035), c["A56"] - c["A53"])
    c["A55"] = c["A56"] - c["A53"] - c["A54"]
    return c


def _sum(data: dict, members: list[Organisation], ym: tuple[int, int]) -> dict[str, int]:
    return {k: sum(data[(o.code, ym)][k] for o in members) for k in INDICATORS}


def _row(sheet, r: int, ym: tuple[int, int], area: str, region, trust: str | None, counts: dict, when) -> None:
    year, month = ym
    fy_start = year if month >= 4 else year - 1
    fy = f"{fy_start}-{(fy_start + 1) % 100:02d}"
    name = MONTH_NAMES[month - 1].upper()
    sheet.write_formula(r, 0, f"=B{r + 1}&C{r + 1}&F{r + 1}", None, f"{fy}{name}{area}")
    sheet.write_string(r, 1, fy)
    sheet.write_string(r, 2, name)
    if region is not None:
        sheet.write_string(r, 3, region.code)
        sheet.write_string(r, 4, region.name)
    sheet.write_string(r, 5, area)
    if trust:
        sheet.write_string(r, 6, trust)
    for c, key in enumerate(INDICATORS, start=len(LEAD)):
        sheet.write_number(r, c, counts[key])
    base = len(LEAD) + len(INDICATORS) + 1
    sheet.write_number(r, base, month)
    sheet.write_number(r, base + 1, year)
    sheet.write_datetime(r, base + 2, datetime(year, month, 1), when)
    sheet.write_number(r, base + 3, calendar.monthrange(year, month)[1])


def _published(last: tuple[int, int]) -> date:
    """The second Thursday of the month after the last month, when NHS England publishes AmbSYS."""
    year, month = (last[0] + 1, 1) if last[1] == 12 else (last[0], last[1] + 1)
    first = date(year, month, 1)
    return date(year, month, 1 + (3 - first.weekday()) % 7 + 7)


def _introduction(book, published: date) -> None:
    intro = book.add_worksheet("Introduction")
    intro.activate()
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "d mmmm yyyy", "align": "left"})
    lines = [
        "About the Ambulance Quality Indicators (AQI): synthetic data",
        COMMENT,
        "The Raw sheet follows the layout of NHS England's AmbSYS time series; every number in it is invented.",
    ]
    for r, line in enumerate(lines):
        intro.write_string(r, 0, line, bold if r == 0 else None)
    intro.write_string(5, 0, "Source")
    intro.write_string(5, 1, "npaf sample-data (synthetic)")
    intro.write_string(7, 0, "Published")
    intro.write_datetime(7, 1, datetime(published.year, published.month, published.day), day)
