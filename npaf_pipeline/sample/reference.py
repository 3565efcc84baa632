"""Organisation reference files: the ODS ``etr`` report and the NOF trust-type list, in their real layouts."""

from __future__ import annotations

import csv
from pathlib import Path

from npaf_pipeline.sample.organisations import Population

ETR_FIELDS = 27
TRUST_TYPE_HEADER = [
    "Trust_code",
    "Trust_name",
    "Region",
    "Trust_type",
    "Trust_subtype",
    "ods_name",
    "nhs_region_code",
    "icb_code",
    "postcode",
    "open_date",
    "close_date",
    "icb_name",
]


def write_etr(pop: Population, folder: Path) -> tuple[Path, int]:
    """``etr.csv``: no header, 27 quoted fields, CRLF, sorted by code; care trusts absent, closed trusts present."""
    rows = [
        _etr_row(o.code, o.name, o.region.code, o.icb.code, o.postcode, o.open_date, "", o.region.letter)
        for o in pop.organisations
        if o.in_etr
    ]
    rows += [
        _etr_row(
            c.code, c.name, c.icb.region.code, c.icb.code, c.postcode, c.open_date, c.close_date, c.icb.region.letter
        )
        for c in pop.closed
    ]
    rows.sort(key=lambda r: r[0])
    path = folder / "etr.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    return path, len(rows)


def _etr_row(
    code: str, name: str, region: str, icb: str, postcode: str, opened: str, closed: str, letter: str
) -> list[str]:
    row = [""] * ETR_FIELDS
    row[0], row[1], row[2], row[3] = code, name.upper(), region, icb
    row[4], row[5], row[7] = "SYNTHETIC HOUSE", "1 EXAMPLE ROAD", "SYNTHETIC TOWN"
    row[9], row[10], row[11] = postcode, opened, closed
    row[21], row[23] = "1", letter
    return row


def write_trust_reference(pop: Population, folder: Path) -> tuple[Path, int]:
    """``trust_reference.csv`` in the layout of ``trust_reference_2025_26.csv`` (care trusts: no ODS columns)."""
    rows = []
    for o in pop.organisations:
        ods = [o.name.upper(), o.region.code, o.icb.code, o.postcode, o.open_date, "", o.icb.name]
        if not o.in_etr:
            ods = ["", "", "", "", "", "", ""]
        rows.append([o.code, o.name, o.region.name, o.type_label, o.subtype, *ods])
    path = folder / "trust_reference.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(TRUST_TYPE_HEADER)
        writer.writerows(sorted(rows))
    return path, len(rows)
