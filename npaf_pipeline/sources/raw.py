"""Reading the files NHS England publishes: bytes and text, workbook sheets as text, header rows, month names.

Raw files change layout between releases and land in the wrong folder. These helpers refuse such a file in
words that say which file is wrong and how, and keep every row's number as the file shows it, so a
quarantine record points at the cell a person has to look at.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import fastexcel
import polars as pl

from npaf_pipeline.sources.base import SourceFileError
from schemas.common import MONTH_NAMES, NOT_GIVEN, TEXT_SUFFIX

MISSING = list(NOT_GIVEN)
"""Cells (trimmed) that hold no value: blank, or a dash (hyphen, en or em dash) for 'none' or 'not submitted'."""
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
"""What Python's ``str.strip()`` strips (``str.isspace``), for trimming in polars exactly as in Python: polars'
own ``strip_chars()`` keeps the four information separators \\x1c-\\x1f."""
XLSX_MAGIC = b"PK\x03\x04"
"""How an xlsx workbook (a zip archive) starts."""
MONTH_NUMBERS = {name: number for number, name in enumerate(MONTH_NAMES, start=1)}
"""Upper-case month name -> 1-12."""


# --- bytes and text ---------------------------------------------------------------------------------------


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceFileError(path, f"cannot read the file ({exc.strerror})") from None


def decode_utf8(path: Path, raw: bytes, advice: str = "") -> str:
    """The text of a UTF-8 file (without a byte-order mark); a byte that is not UTF-8 is reported with its line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceFileError(path, f"not UTF-8 text (byte {raw[exc.start]:#x}){advice}", row=line) from None


# --- workbooks --------------------------------------------------------------------------------------------


def require_xlsx(path: Path, folder: str) -> None:
    """Refuse an unreadable, empty or non-xlsx file up front: calamine's own errors do not say what is wrong."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise SourceFileError(path, f"cannot read the file ({exc.strerror})") from None
    if not head:
        raise SourceFileError(path, "the file is empty")
    if head != XLSX_MAGIC:
        raise SourceFileError(path, f"not an Excel workbook (.xlsx): a file of another source in the {folder} folder?")


def open_workbook(path: Path) -> fastexcel.ExcelReader:
    """A workbook opened once to read several of its sheets (:func:`read_sheet` with ``book``); errors are the
    caller's to word, as for :func:`read_sheet`."""
    return fastexcel.read_excel(path)


def read_sheet(path: Path, sheet: str | None = None, *, book: fastexcel.ExcelReader | None = None) -> pl.DataFrame:
    """A sheet (the first when unnamed), every cell as text, one frame row per sheet row: row n is index n - 1.

    Nothing is skipped, leading and empty rows included, so quarantine records give the row numbers Excel shows.
    An error cell (``#N/A``, ``#REF!``, ...) is its error text, never blank (:func:`_with_error_text`).
    Errors are the caller's to word: only it knows what the workbook should have been. ``book``: the workbook
    already opened (:func:`open_workbook`), so that reading several sheets opens it once; the frame is the same
    as reading the sheet from ``path``.
    """
    return _sheet_frame(open_workbook(path) if book is None else book, 0 if sheet is None else sheet)


ERROR_TEXT = {
    "Div0": "#DIV/0!",
    "NA": "#N/A",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Num": "#NUM!",
    "Ref": "#REF!",
    "Value": "#VALUE!",
    "GettingData": "#GETTING_DATA",
}
"""calamine's name for each Excel error value -> the text Excel shows in the cell."""
_ERROR_NAME = re.compile(r"Error\(([A-Za-z0-9_]+)\)")


def _sheet_frame(book: fastexcel.ExcelReader, sheet: str | int) -> pl.DataFrame:
    """The sheet through calamine: no header, every cell as text, nothing dropped, columns ``column_1``...,
    error cells as their error text."""
    loaded = book.load_sheet(sheet, header_row=None, skip_rows=0, schema_sample_rows=100, dtypes="string")
    table, errors = loaded.to_arrow_with_errors()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    if frame.height == frame.width == 0:
        return pl.DataFrame()
    frame.columns = [f"column_{i}" for i in range(1, frame.width + 1)]
    frame = frame.cast({pl.Null: pl.String}) if frame.is_empty() else frame
    return frame if errors is None else _with_error_text(frame, errors.errors)


def _with_error_text(frame: pl.DataFrame, errors: Sequence[fastexcel.CellError]) -> pl.DataFrame:
    """The frame with each error cell holding the text Excel shows (``#N/A``), where calamine leaves it empty.

    An error value is a value as published, never a blank: read as blank, ``#N/A`` in a count would pass as
    "not reported" and a row of ``#REF!`` as a spacer row. fastexcel reports each cell it could not give as
    text (only error values, when every cell is read as text) with its position in the frame and calamine's
    name for the error; a name not known here keeps fastexcel's own words, which are not blank either.
    """
    by_column: dict[int, tuple[list[int], list[str]]] = {}
    for error in errors:
        row, column = error.offset_position
        name = _ERROR_NAME.search(error.detail)
        rows, texts = by_column.setdefault(column, ([], []))
        rows.append(row)
        texts.append(ERROR_TEXT.get(name[1], f"#{name[1]}") if name else error.detail)
    return frame.with_columns(
        frame.to_series(column).cast(pl.String).scatter(rows, texts) for column, (rows, texts) in by_column.items()
    )


def sheet_rows(sheet: pl.DataFrame, header_at: int, keep: Mapping[int, str]) -> pl.DataFrame:
    """The rows below the header: ``source_row`` (the sheet row) and the kept columns as trimmed text.

    ``keep`` maps column positions to names. Blank and ``-`` cells are missing; a row with nothing in the kept
    columns is layout (a spacer, a footnote), not data, and is left out.
    """
    return _body(sheet, header_at, keep).with_columns(_TRIMMED).filter(_HOLDS_SOMETHING).collect()


def sheets_rows(sheets: Sequence[tuple[pl.DataFrame, int, Mapping[int, str]]]) -> list[pl.DataFrame]:
    """:func:`sheet_rows` of each ``(sheet, header_at, keep)``, the same frames, found in one query.

    Trimming costs polars a step per column and query, which for a sheet of a few hundred rows is most of the
    work: the sheets' kept columns are stacked (a sheet's columns missing in another are null there) and trimmed
    and filtered together. A sheet with a column that is not text is read alone, as :func:`sheet_rows` would."""
    texts = [_all_text(sheet.dtypes, keep) for sheet, _, keep in sheets]
    together = [
        _body(sheet, at, keep).with_columns(pl.lit(n, pl.Int32).alias(_SHEET))
        for n, ((sheet, at, keep), text) in enumerate(zip(sheets, texts, strict=True))
        if text
    ]
    parts = {}
    if together:
        rows = pl.concat(together, how="diagonal").with_columns(_TRIMMED).filter(_HOLDS_SOMETHING).collect()
        parts = rows.partition_by(_SHEET, as_dict=True, include_key=False, maintain_order=True)
    out = []
    for n, ((sheet, at, keep), text) in enumerate(zip(sheets, texts, strict=True)):
        if not text:
            out.append(sheet_rows(sheet, at, keep))
            continue
        found = parts.get((n,))  # None when every row of the sheet is layout
        if found is None:
            out.append(pl.DataFrame(schema=_body(sheet, at, keep).collect_schema()))
        else:
            out.append(found.select("source_row", *keep.values()))
    return out


_SHEET = "_sheet"
_TRIMMED = pl.exclude("source_row", _SHEET).str.strip_chars().replace(MISSING, None)
_HOLDS_SOMETHING = pl.sum_horizontal(pl.exclude("source_row", _SHEET).is_not_null()) > 0  # quicker than any_


def _all_text(dtypes: list[pl.DataType], keep: Mapping[int, str]) -> bool:
    return all(dtypes[i] == pl.String for i in keep)


def _body(sheet: pl.DataFrame, header_at: int, keep: Mapping[int, str]) -> pl.LazyFrame:
    """The rows below the header, untrimmed: ``source_row`` and the kept columns under their names."""
    names = {sheet.columns[i]: name for i, name in keep.items()}
    return (
        sheet.lazy()
        .with_row_index("source_row", offset=1)
        .slice(header_at + 1)
        .select(pl.col("source_row").cast(pl.Int64), pl.col(list(names)).name.map(names.__getitem__))
    )


def column_filled(body: pl.DataFrame) -> Callable[[int], bool]:
    """Whether the column at a position of ``body`` (text cells) holds anything but blanks."""
    return lambda i: body.to_series(i).str.strip_chars().replace("", None).drop_nulls().len() > 0


# --- headers ----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)  # the same titles and headers recur in every sheet of every workbook
def normal_name(name: str | None) -> str:
    """A header as compared: runs of spaces and line breaks as one space, letter case ignored."""
    return " ".join((name or "").split()).casefold()


def header_row(rows: Sequence[Sequence[str | None]], columns: Iterable[str]) -> tuple[int, int]:
    """(index, count) of the row naming most of ``columns``, the first on a tie: titles may sit above a header."""
    wanted = {normal_name(c) for c in columns}
    scores = [sum(normal_name(cell) in wanted for cell in row) for row in rows]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return best, scores[best]


def match_header(
    header: Sequence[str],
    columns: Mapping[str, str],
    filled: Callable[[int], bool],
    keep_as_named: Callable[[str], object] = lambda name: False,
) -> tuple[dict[int, str], list[str], list[str]]:
    """(position -> canonical column, published names not found, unexpected columns as a person would name them).

    ``columns`` maps published headers to canonical names; headers are compared by :func:`normal_name` and a
    name's first column is the one kept. Columns ``keep_as_named`` accepts are kept under their own header (a
    workbook's one column per service). Any other column is unexpected if ``filled`` says it holds data; a stray
    header cell over an empty column is ignored, since it cannot change a value.
    """
    wanted = {normal_name(raw): canonical for raw, canonical in columns.items()}
    keep: dict[int, str] = {}
    unexpected: list[str] = []
    for i, name in enumerate(header):
        canonical = wanted.get(normal_name(name))
        if canonical is not None and canonical not in keep.values():
            keep[i] = canonical
        elif keep_as_named(name) and name not in keep.values():
            keep[i] = name
        elif filled(i):
            unexpected.append(repr(name) if name else f"an unnamed column at position {i + 1}")
    missing = [raw for raw, canonical in columns.items() if canonical not in keep.values()]
    return keep, missing, unexpected


def header_problems(missing: Sequence[str], unexpected: Sequence[str]) -> str:
    """``missing column(s) 'A'; unexpected column(s) 'B'``: what to change in the header, on one line."""
    parts = [f"missing column(s) {', '.join(map(repr, missing))}"] if missing else []
    parts += [f"unexpected column(s) {', '.join(unexpected)}"] if unexpected else []
    return "; ".join(parts)


def require_layout(path: Path, row: int, layout: str, missing: Sequence[str], unexpected: Sequence[str]) -> None:
    """Refuse a header that lacks a published column or has a column with data that the layout does not know."""
    if missing or unexpected:
        problems = header_problems(missing, unexpected)
        raise SourceFileError(path, f"header does not match the {layout} layout: {problems}", row=row)


def published_names(header: Sequence[str], keep: Mapping[int, str]) -> dict[str, str]:
    """Canonical column (and its ``_text`` twin) -> its header in the file, for naming quarantined columns."""
    return {canonical + suffix: header[i] for i, canonical in keep.items() for suffix in ("", TEXT_SUFFIX)}


# --- months -----------------------------------------------------------------------------------------------


def month_number(name: str | None) -> int | None:
    """1-12 for a month's full name in any letter case; None for anything else."""
    return None if name is None else MONTH_NUMBERS.get(name.upper())
