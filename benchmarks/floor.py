"""The read floor: the same files read with the fastest reader at hand, without any validation.

CSV files: ``polars.read_csv`` with every column as text (faster here than with type inference, and what the
adapters read). Workbooks: the sheets the adapter reads (CWT: the first; CHS: Tables 4, 4g and 4h; AmbSYS: Raw
and Introduction), loaded by calamine through ``fastexcel`` straight into Arrow, every cell as text.
"""

from __future__ import annotations

from pathlib import Path

import fastexcel
import polars as pl

SHEETS: dict[str, list[str | int]] = {
    "cwt_crs": [0],
    "chs_waiting_lists": ["Table 4", "Table 4g", "Table 4h"],
    "ambsys": ["Raw", "Introduction"],
}


def read_floor(source: str, files: list[Path]) -> int:
    """Rows read from ``files`` (so the work cannot be skipped)."""
    rows = 0
    for path in files:
        if path.suffix.lower() == ".csv":
            rows += pl.read_csv(path, infer_schema=False, has_header=True).height
            continue
        book = fastexcel.read_excel(str(path))
        for sheet in SHEETS[source]:
            loaded = book.load_sheet(sheet, header_row=None, dtypes="string")
            rows += pl.from_arrow(loaded.to_arrow()).height
    return rows
