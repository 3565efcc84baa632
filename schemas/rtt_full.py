"""Raw layout of NHS England's RTT waiting times "Full CSV data file" (one month, every provider).

One row per provider x commissioner x RTT part x treatment function: 13 descriptive columns, 105 weekly
bands (``Gt 00 To 01 Weeks SUM 1`` ... ``Gt 103 To 104 Weeks SUM 1``, ``Gt 104 Weeks SUM 1``), then ``Total``,
``Patients with unknown clock start date`` and ``Total All`` (121 columns). Cells are validated as the text the
file holds; the adapter has already turned blank and ``-`` cells into nulls. The model is built from the
column lists below so that the 105 band columns are declared once.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.common import MAX_MAGNITUDE, NUMBER, ODS_CODE, as_number, finite_and_plausible

PERIOD = r"(?i)^RTT-(January|February|March|April|May|June|July|August|September|October|November|December)-[0-9]{4}$"
PART_TYPES = ("Part_1A", "Part_1B", "Part_2", "Part_2A", "Part_3")
# descriptions the adapter relies on (Part_2 is the waiting list; Part_2A, a subset of it, must not be added)
PART_DESCRIPTIONS = {"Part_2": "incomplete pathways", "Part_2A": "incomplete pathways with dta"}
TREATMENT_FUNCTION = r"^(C_[0-9]{3}|X[0-9]{2})$"
TOTAL_TREATMENT_FUNCTION = "C_999"

DESCRIPTIVE = [
    "Period",
    "Provider Parent Org Code",
    "Provider Parent Name",
    "Provider Org Code",
    "Provider Org Name",
    "Commissioner Parent Org Code",
    "Commissioner Parent Name",
    "Commissioner Org Code",
    "Commissioner Org Name",
    "RTT Part Type",
    "RTT Part Description",
    "Treatment Function Code",
    "Treatment Function Name",
]
BANDS = [f"Gt {lo:02d} To {lo + 1:02d} Weeks SUM 1" for lo in range(104)] + ["Gt 104 Weeks SUM 1"]
TOTALS = ["Total", "Patients with unknown clock start date", "Total All"]
LAYOUT = [*DESCRIPTIVE, *BANDS, *TOTALS]
WITHIN_18_WEEKS = BANDS[:18]  # upper bound <= 18 weeks: "Gt 00 To 01" ... "Gt 17 To 18"
OVER_52_WEEKS = BANDS[52:]  # "Gt 52 To 53" ... "Gt 104"


EXACT_COUNT = 2**46
"""Counts below this, summed over the bands, stay below 2**53: their sum is the same in floats and integers."""


BAND_SUM = "_bands_summed"
"""A column the adapter's quick path adds: each row's bands summed as integers, null where no band is filled. Both
totals checks and the values need that sum; held in a column it is one pass over the 105 bands rather than one
per use. A file's header cannot name it (the header must be the published layout)."""


def _bands(data) -> tuple[pl.Expr, pl.Expr]:
    """(whether a band of the row is filled, the bands summed as a float; a blank band holds nobody).

    Counts already read as integers (the adapter's quick path) are summed as integers, the same sum found quicker
    than by converting each band first, and taken from :data:`BAND_SUM` when the frame has it."""
    schema = data.lazyframe.collect_schema()
    if BAND_SUM in schema:
        return pl.col(BAND_SUM).is_not_null(), pl.col(BAND_SUM).cast(pl.Float64)
    banded = pl.any_horizontal(pl.col(c).is_not_null() for c in BANDS)
    if all(c in schema and schema[c].is_integer() for c in BANDS):
        return banded, pl.sum_horizontal(BANDS).cast(pl.Float64)
    return banded, pl.sum_horizontal(as_number(c, data) for c in BANDS)


class _RttFullBase(pa.DataFrameModel):
    period: str = pa.Field(alias="Period", str_matches=PERIOD, description="e.g. RTT-June-2025")
    provider_parent_code: str = pa.Field(alias="Provider Parent Org Code", nullable=True)
    provider_parent_name: str = pa.Field(alias="Provider Parent Name", nullable=True)
    provider_code: str = pa.Field(alias="Provider Org Code", str_matches=ODS_CODE)
    provider_name: str = pa.Field(alias="Provider Org Name", nullable=True)
    commissioner_parent_code: str = pa.Field(alias="Commissioner Parent Org Code", nullable=True)
    commissioner_parent_name: str = pa.Field(alias="Commissioner Parent Name", nullable=True)
    commissioner_code: str = pa.Field(alias="Commissioner Org Code", str_matches=ODS_CODE)
    commissioner_name: str = pa.Field(alias="Commissioner Org Name", nullable=True)
    part_type: str = pa.Field(alias="RTT Part Type", isin=PART_TYPES)
    part_description: str = pa.Field(alias="RTT Part Description")
    treatment_function_code: str = pa.Field(alias="Treatment Function Code", str_matches=TREATMENT_FUNCTION)
    treatment_function_name: str = pa.Field(alias="Treatment Function Name", nullable=True)
    total: str = pa.Field(alias="Total", nullable=True, str_matches=NUMBER)
    unknown_clock_start: str = pa.Field(
        alias="Patients with unknown clock start date", nullable=True, str_matches=NUMBER
    )
    total_all: str = pa.Field(alias="Total All", str_matches=NUMBER)
    source_row: int = pa.Field(ge=1, description="line in the file (header is line 1 unless shifted)")

    @pa.check("RTT Part Description", name="description_matches_part_type")
    def _description(cls, data) -> pl.LazyFrame:
        """A part the adapter relies on has its own description, in any case and spacing: worked out for each
        distinct description (a file has a handful), then looked up per row."""
        part, given = pl.col("RTT Part Type"), pl.col("RTT Part Description")
        distinct = data.lazyframe.select(given.unique().drop_nulls()).collect().to_series()
        normal = distinct.str.to_lowercase().str.replace_all(r"\s+", " ")
        return data.lazyframe.select(
            pl.all_horizontal(
                part.ne_missing(p) | given.is_in(distinct.filter(normal == words).implode())
                for p, words in PART_DESCRIPTIONS.items()
            )
        )

    @pa.check("Total All", name="total_all_is_bands_plus_unknown_start")
    def _total_all(cls, data) -> pl.LazyFrame:
        banded, summed = _bands(data)
        expected = summed + as_number("Patients with unknown clock start date", data).fill_null(0)
        return data.lazyframe.select(~banded | ((expected - as_number("Total All", data)).abs() < 1e-9))

    @pa.check("Total", name="total_is_sum_of_bands")
    def _total(cls, data) -> pl.LazyFrame:
        """Where NHS England fills Total (completed pathways), the bands add up to it. Total All, always filled, is
        checked against the bands too: what shows that a blank band held nobody."""
        banded, summed = _bands(data)
        return data.lazyframe.select(~banded | ((summed - as_number("Total", data)).abs() < 1e-9))

    class Config:
        unique = ["Provider Org Code", "Commissioner Org Code", "RTT Part Type", "Treatment Function Code"]


def _typed(data) -> bool:
    """Whether the column was read as integers (the adapter's quick path) rather than as text."""
    return data.lazyframe.collect_schema()[data.key].is_integer()


def _non_negative(cls, data) -> pl.LazyFrame:
    return data.lazyframe.select(as_number(data.key, data) >= 0)


def _finite_count(cls, data) -> pl.LazyFrame:
    """:func:`schemas.common.finite_and_plausible`, on integers as on text."""
    if _typed(data):
        return data.lazyframe.select((pl.col(data.key).abs() <= MAX_MAGNITUDE).fill_null(True))
    return finite_and_plausible(cls, data)


def _build() -> type[pa.DataFrameModel]:
    doc = "One row of the RTT full CSV data file: descriptive columns, 105 weekly bands, totals (121 columns)."
    namespace: dict[str, object] = {"__module__": __name__, "__annotations__": {}, "__doc__": doc}
    for i, band in enumerate(BANDS):
        namespace["__annotations__"][f"band_{i:03d}"] = str  # type: ignore[index]
        namespace[f"band_{i:03d}"] = pa.Field(alias=band, nullable=True, str_matches=NUMBER)
    namespace["_counts_non_negative"] = pa.check(*BANDS, *TOTALS, name="non_negative")(_non_negative)
    namespace["_counts_finite"] = pa.check(*BANDS, *TOTALS, name="finite_and_plausible")(_finite_count)
    return type("RttFullRaw", (_RttFullBase,), namespace)


RttFullRaw = _build()
