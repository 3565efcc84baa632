"""Raw-extract sets for the ingest benchmark: one quarter and twelve quarters' worth of files at published sizes.

One quarter (2025-26 Q1) is NHS England's own files from the shared real-data folder: the April, May and June
2025 A&E CSVs, the CWT-CRS April-July 2025 extract, the CHS workbooks of the quarter's three months (June 2025 as
published; April and May re-dated copies of it, as below) and the AmbSYS time series, read where they are; plus a
generated RTT full extract for June 2025 (no real one is at hand): the sample generator's writer at
``--scale 9``, about 207,000 rows and 105 MB, in the published 121-column layout.

Twelve quarters (2022-23 Q2 to 2025-26 Q1) are the same real files re-dated, byte for byte otherwise, into a
temporary folder (never the repository): 36 monthly A&E CSVs (the ``Period`` cell rewritten), 36 monthly CHS
workbooks (the month in the table titles rewritten), ten four-month CWT extracts (the PERIOD dates and the YEAR and
MONTH cells rewritten; the real April-July 2025 extract is the last), the one AmbSYS workbook (it already covers
every month since 2017) and 12 quarter-end RTT extracts (the generated one with its ``Period`` rewritten), as the
sample generator lays RTT out.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from datetime import date
from pathlib import Path

from benchmarks.paths import real
from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.ruleset import load_ruleset
from npaf_pipeline.sample import rtt_full
from npaf_pipeline.sample.model import targets
from npaf_pipeline.sample.organisations import build_population

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
AE_FILES = {
    (2024, 8): "ae-monthly-2024-25/Monthly-AE-August-2024.csv",
    (2024, 9): "ae-monthly-2024-25/Monthly-AE-September-2024.csv",
    (2024, 10): "ae-monthly-2024-25/Monthly-AE-October-2024-revised.csv",
    (2024, 11): "ae-monthly-2024-25/Monthly-AE-November-2024-revised.csv",
    (2024, 12): "ae-monthly-2024-25/Monthly-AE-December-2024.csv",
    (2025, 1): "ae-monthly-2024-25/Monthly-AE-January-2025.csv",
    (2025, 2): "ae-monthly-2024-25/Monthly-AE-February-2025-revised.csv",
    (2025, 3): "ae-monthly-2024-25/Monthly-AE-March-2025.csv",
    (2025, 4): "ae-monthly-2024-25/Monthly-AE-April-2025.csv",
    (2025, 5): "ae-monthly-2024-25/Monthly-AE-May-2025.csv",
    (2025, 6): "ae-monthly-2024-25/Monthly-AE-June-2025-1-1.csv",
    (2025, 7): "ae-monthly-2024-25/July-2025-CSV-9jfy4.csv",
}
CWT_FILE = "cwt-crs-provider-apr-jul2025/CWT-CRS-Apr-2025-to-Jul-2025-Data-Extract-Provider.xlsx"
CHS_FILE = "chs-waiting-lists-jun2025/Community-health-services-waiting-lists-2025-26-June.xlsx"
AMBSYS_FILE = "ambsys-to-aug2025/AmbSYS-Time-Series-until-20250831.xlsx"
RTT_SCALE = 9
SOURCES = ["ae_monthly", "cwt_crs", "chs_waiting_lists", "ambsys", "rtt_full"]
LAST_QUARTER = "2025-26 Q1"


def quarters(n: int) -> list[str]:
    last = parse_quarter(LAST_QUARTER)
    return [last.shift(i - n + 1).label for i in range(n)]


def months_of(labels: list[str]) -> list[tuple[int, int]]:
    return [ym for label in labels for ym in parse_quarter(label).months]


def build(workdir: Path, n_quarters: int) -> dict[str, list[Path]]:
    """Files per source for ``n_quarters`` (1 or 12) quarters ending 2025-26 Q1; see the module docstring."""
    rtt_june = _generated_rtt(workdir / "rtt-generated")
    folder = workdir / f"landing-{n_quarters}q"
    if folder.exists():
        shutil.rmtree(folder)
    if n_quarters == 1:
        chs = folder / "chs_waiting_lists"
        return {
            "ae_monthly": [real(AE_FILES[(2025, m)]) for m in (4, 5, 6)],
            "cwt_crs": [real(CWT_FILE)],
            "chs_waiting_lists": [_chs(chs, 2025, 4), _chs(chs, 2025, 5), real(CHS_FILE)],
            "ambsys": [real(AMBSYS_FILE)],
            "rtt_full": [rtt_june],
        }
    labels = quarters(n_quarters)
    months = months_of(labels)
    return {
        "ae_monthly": [_ae(folder / "ae_monthly", y, m) for y, m in months],
        "cwt_crs": _cwt(folder / "cwt_crs", months),
        "chs_waiting_lists": [_chs(folder / "chs_waiting_lists", y, m) for y, m in months],
        "ambsys": [real(AMBSYS_FILE)],
        "rtt_full": [_rtt(folder / "rtt_full", rtt_june, *parse_quarter(q).months[-1]) for q in labels],
    }


# --- A&E: the Period cell ---------------------------------------------------------------------------------


def _ae(folder: Path, year: int, month: int) -> Path:
    source_year = 2025 if month <= 7 else 2024
    raw = real(AE_FILES[(source_year, month)]).read_bytes()
    old = f"MSitAE-{MONTHS[month - 1].upper()}-{source_year}".encode()
    new = f"MSitAE-{MONTHS[month - 1].upper()}-{year}".encode()
    if old not in raw:
        raise ValueError(f"{AE_FILES[(source_year, month)]}: period {old!r} not found")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"Monthly-AE-{MONTHS[month - 1]}-{year}.csv"
    path.write_bytes(raw.replace(old, new))
    return path


# --- CHS: the month in the table titles -------------------------------------------------------------------


def _chs(folder: Path, year: int, month: int) -> Path:
    target = f"{MONTHS[month - 1]} {year}"
    folder.mkdir(parents=True, exist_ok=True)
    fy = year if month >= 4 else year - 1
    path = folder / f"Community-health-services-waiting-lists-{fy}-{(fy + 1) % 100:02d}-{MONTHS[month - 1]}.xlsx"
    _rewrite_xlsx(real(CHS_FILE), path, {"xl/sharedStrings.xml": lambda text: text.replace("June 2025", target)})
    return path


# --- CWT: four-month extracts -----------------------------------------------------------------------------

_SOURCE_MONTHS = [(2025, 4), (2025, 5), (2025, 6), (2025, 7)]
_ABBR = [m[:3].upper() for m in MONTHS]


def _serial(year: int, month: int) -> int:
    return (date(year, month, 1) - date(1899, 12, 30)).days


def _cwt(folder: Path, months: list[tuple[int, int]]) -> list[Path]:
    """Four-month windows (Apr-Jul, Aug-Nov, Dec-Mar of each financial year) covering ``months``."""
    first_fy = months[0][0] if months[0][1] >= 4 else months[0][0] - 1
    windows = []
    for fy in range(first_fy, 2026):
        for start in (0, 4, 8):
            window = [_fy_month(fy, start + i) for i in range(4)]
            if any(ym in months for ym in window):
                windows.append((fy, window))
    paths = []
    for fy, window in windows:
        if window == _SOURCE_MONTHS:
            paths.append(real(CWT_FILE))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        (y0, m0), (y1, m1) = window[0], window[-1]
        path = folder / f"CWT-CRS-{MONTHS[m0 - 1][:3]}-{y0}-to-{MONTHS[m1 - 1][:3]}-{y1}-Data-Extract-Provider.xlsx"
        serials = {str(_serial(*old)): str(_serial(*new)) for old, new in zip(_SOURCE_MONTHS, window, strict=True)}
        names = {_ABBR[old[1] - 1]: _ABBR[new[1] - 1] for old, new in zip(_SOURCE_MONTHS, window, strict=True)}
        year_text = f"{fy}/{(fy + 1) % 100:02d}"

        def strings(text: str, names: dict[str, str] = names, year_text: str = year_text) -> str:
            text = text.replace(">2025/26<", f">{year_text}<")
            return re.sub(r">(APR|MAY|JUN|JUL)<", lambda m: f">{names[m.group(1)]}<", text)

        def sheet(text: str, serials: dict[str, str] = serials) -> str:
            return re.sub(
                r'(s="1" t="n"><v>)(\d+)(</v>)', lambda m: m.group(1) + serials[m.group(2)] + m.group(3), text
            )

        _rewrite_xlsx(real(CWT_FILE), path, {"xl/sharedStrings.xml": strings, "xl/worksheets/sheet1.xml": sheet})
        paths.append(path)
    return paths


def _fy_month(fy: int, i: int) -> tuple[int, int]:
    month = (3 + i) % 12 + 1
    return (fy if month >= 4 else fy + 1, month)


def _rewrite_xlsx(source: Path, target: Path, edits: dict) -> None:
    """Copy a workbook, applying text edits to some of its XML parts (every other part copied unchanged)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename in edits:
                data = edits[info.filename](data.decode("utf-8")).encode("utf-8")
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)


# --- RTT: generated in the published layout ---------------------------------------------------------------


def _generated_rtt(folder: Path) -> Path:
    done = list(folder.glob("*.csv"))
    if done:
        return done[0]
    folder.mkdir(parents=True, exist_ok=True)
    rs = load_ruleset("nof-2025-26")
    pop = build_population(2025, RTT_SCALE, rs)
    span = [parse_quarter(LAST_QUARTER)]
    written = rtt_full.write(pop, span, targets(pop, span, 2025, rs), 2025, folder, RTT_SCALE)
    return written[0][0]


def _rtt(folder: Path, june: Path, year: int, month: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    name = MONTHS[month - 1]
    last_day = (date(year + month // 12, month % 12 + 1, 1) - date.resolution).day
    path = folder / f"{year}{month:02d}{last_day:02d}-RTT-{name}-{year}-full-extract.csv"
    if (year, month) == (2025, 6):
        shutil.copyfile(june, path)
    else:
        path.write_bytes(june.read_bytes().replace(b"RTT-June-2025", f"RTT-{name}-{year}".encode()))
    return path


def rows_and_bytes(files: list[Path]) -> dict[str, int]:
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}
