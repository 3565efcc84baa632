"""Raw layout of NHS England's Cancer Waiting Times (CWT-CRS) provider data extract (one xlsx sheet).

Column names are the adapter's canonical names (``npaf_pipeline.sources.cwt_crs.COLUMNS`` maps the published
headers onto them). The period and the counts are carried twice: the cell as published (``<name>_text``) and its
parsed value, so an unreadable cell and an impossible value are quarantined under their own rule. Counts may be
halves (a patient shared between two trusts counts 0.5 to each).
"""

from __future__ import annotations

import datetime
import re

import pandera.polars as pa
import polars as pl

from schemas.common import (
    NUMBER,
    ODS_CODE,
    TEXT_SUFFIX,
    blank_or_matching,
    count,
    finite_and_plausible,
    published_text,
    reported,
)

STANDARDS = ("28-day FDS", "31-day Combined", "62-day Combined")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
FINANCIAL_YEAR = r"^[0-9]{4}/[0-9]{2}$"
COUNTS = ["total_treated", "within_standard", "breaches"]
SCORED = ["total_treated", "within_standard"]
"""The counts OF0010 and OF0011 are built from: blank, '-' or a suppression marker in either quarantines the row."""
TOLERANCE = 1e-6
ALL_MODALITIES = "ALL MODALITIES"
ALL_CANCERS = "ALL CANCERS"
BREAKDOWN = ["stage_route", "treatment_modality", "cancer_type"]
TOTALS = {"treatment_modality": ALL_MODALITIES, "cancer_type": ALL_CANCERS}
"""The value a breakdown column holds on a row that totals that column's parts."""
_FDS_CANCER_TYPES = (
    "Exhibited (non-cancer) breast symptoms - cancer not initially suspected",
    "Missing or Invalid",
    "Suspected acute leukaemia",
    "Suspected brain/central nervous system tumours",
    "Suspected breast cancer",
    "Suspected cancer - non-specific symptoms",
    "Suspected children's cancer",
    "Suspected gynaecological cancer",
    "Suspected haematological malignancies (excluding acute leukaemia)",
    "Suspected head & neck cancer",
    "Suspected lower gastrointestinal cancer",
    "Suspected lung cancer",
    "Suspected other cancer",
    "Suspected sarcoma",
    "Suspected skin cancer",
    "Suspected testicular cancer",
    "Suspected upper gastrointestinal cancer",
    "Suspected urological malignancies (excluding testicular)",
)
_CANCER_TYPES = (
    "Breast",
    "Gynaecological",
    "Haematological - Lymphoma",
    "Haematological - Other (a)",
    "Head & Neck",
    "Lower Gastrointestinal",
    "Lung",
    "Other (a)",
    "Skin",
    "Upper Gastrointestinal - Hepatobiliary",
    "Upper Gastrointestinal - Oesophagus & Stomach",
    "Urological - Other (a)",
    "Urological - Prostate",
)
BREAKDOWNS: dict[str, dict[str, tuple[str | None, ...]]] = {
    "28-day FDS": {
        "stage_route": (
            "URGENT SUSPECTED CANCER",
            "NATIONAL SCREENING PROGRAMME",
            "BREAST SYMPTOMATIC, CANCER NOT SUSPECTED",
        ),
        "treatment_modality": (None,),
        "cancer_type": _FDS_CANCER_TYPES,
    },
    "62-day Combined": {
        "stage_route": ("Urgent Suspected Cancer", "Consultant Upgrade", "Screening", "Breast Symptomatic"),
        "treatment_modality": (ALL_MODALITIES, "Surgery", "Anti-cancer drug regimen", "Radiotherapy", "Other"),
        "cancer_type": (ALL_CANCERS, *_CANCER_TYPES),
    },
}
"""Standard -> breakdown column -> the values the extract gives (None: blank), compared without regard to case, for
the standards the metrics are built from (31-day rows feed nothing and are not checked). A value the reader does
not know may be a part it would leave out or a total it would add to its parts, so its row is quarantined."""
TOTALS_PER_ROW = {"28-day FDS": 0, "62-day Combined": 1}
"""How many breakdown columns a row of the standard totals: none for 28-day FDS (every row is a part: OF0010 sums
them all); one for 62-day, which gives the same patients twice, by cancer type (TREATMENT MODALITY 'ALL
MODALITIES') and by modality (CANCER TYPE 'ALL CANCERS'). A row totalling more is a subtotal of rows the extract
also gives (counted twice if summed); a 62-day row totalling neither is a breakdown the extract does not give."""
PATIENTS = "patients (halves allowed); missing when blank or '-'"


class CwtCrsRow(pa.DataFrameModel):
    """One provider's month for one standard and breakdown (route, modality, cancer type)."""

    period: datetime.date = pa.Field(nullable=True, description="first day of the month (PERIOD, parsed)")
    period_text: str = published_text(nullable=False)
    year: str = pa.Field(str_matches=FINANCIAL_YEAR, description="financial year, e.g. '2025/26'")
    month: str = pa.Field(isin=MONTHS, description="e.g. 'APR'")
    standard: str = pa.Field(isin=STANDARDS)
    org_code: str = pa.Field(str_matches=ODS_CODE, description="ODS code of the provider")
    stage_route: str = pa.Field(nullable=True)
    treatment_modality: str = pa.Field(nullable=True)
    cancer_type: str = pa.Field(nullable=True)
    total_treated: float = count(PATIENTS)
    within_standard: float = count(PATIENTS)
    breaches: float = count(PATIENTS)
    total_treated_text: str = published_text()
    within_standard_text: str = published_text()
    breaches_text: str = published_text()

    @pa.check("period_text", name="is_a_date")
    def _is_a_date(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("period").is_not_null())

    _is_a_number = pa.check(*[c + TEXT_SUFFIX for c in COUNTS], name="is_a_number")(blank_or_matching(NUMBER))
    _finite = pa.check(*[c + TEXT_SUFFIX for c in COUNTS], name="finite_and_plausible")(finite_and_plausible)
    _reported = pa.check(*[c + TEXT_SUFFIX for c in SCORED], name="reported_not_suppressed")(reported)

    @pa.check("within_standard", name="within_total_treated")
    def _within_total(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col(data.key) <= pl.col("total_treated")).fill_null(True))

    @pa.check("breaches", name="total_minus_within")
    def _breaches(cls, data) -> pl.LazyFrame:
        """BREACHES is TOTAL TREATED - WITHIN STANDARD; a formula cell never recalculated breaks this."""
        gap = (pl.col(data.key) - (pl.col("total_treated") - pl.col("within_standard"))).abs()
        return data.lazyframe.select((gap <= TOLERANCE).fill_null(True))

    @pa.check("month", name="agrees_with_period")
    def _month(cls, data) -> pl.LazyFrame:
        named = pl.col("period").dt.strftime("%b").str.to_uppercase()
        return data.lazyframe.select((pl.col(data.key) == named).fill_null(True))

    @pa.check("year", name="agrees_with_period")
    def _year(cls, data) -> pl.LazyFrame:
        start = pl.col("period").dt.year() - (pl.col("period").dt.month() < 4).cast(pl.Int32)
        fy = pl.format("{}/{}", start, ((start + 1) % 100).cast(pl.String).str.zfill(2))
        return data.lazyframe.select((pl.col(data.key) == fy).fill_null(True))

    @pa.check(*BREAKDOWN, name="known_breakdown")
    def _known_breakdown(cls, data) -> pl.LazyFrame:
        """A value the extract gives for the row's standard (``BREAKDOWNS``), or the column's total name (whether
        the row may be a total is ``not_a_subtotal``'s to say)."""
        return data.lazyframe.select(_known(data.key))

    @pa.check(*TOTALS, name="not_a_subtotal")
    def _not_a_subtotal(cls, data) -> pl.LazyFrame:
        """A total value on a row totalling more columns than the standard's rows do: the sum of rows the extract
        also gives, which summed with them would count its patients twice."""
        too_many = [_is(standard) & (_totals() > allowed) for standard, allowed in TOTALS_PER_ROW.items()]
        return data.lazyframe.select(~(pl.any_horizontal(too_many) & _is_total(data.key)))

    @pa.check("cancer_type", name="by_cancer_type_or_by_modality")
    def _one_view(cls, data) -> pl.LazyFrame:
        """A 62-day row of a known modality and a known cancer type is a breakdown the extract does not give (by
        both): the metric would leave it out. Unknown values are ``known_breakdown``'s, too many totals
        ``not_a_subtotal``'s."""
        too_few = [_is(standard) & (_totals() < allowed) for standard, allowed in TOTALS_PER_ROW.items()]
        by_both = pl.any_horizontal(too_few) & _known("treatment_modality") & _known("cancer_type")
        return data.lazyframe.select(~by_both)

    @pa.check("org_code", name="one_row_per_breakdown")
    def _unique(cls, data) -> pl.LazyFrame:
        """Two rows for one provider, month, standard and breakdown cannot both be right: every copy is refused."""
        key = ["period", "standard", data.key, "stage_route", "treatment_modality", "cancer_type"]
        return data.lazyframe.select(pl.len().over(key) == 1)

    class Config:
        strict = False
        coerce = False


def _known(column: str) -> pl.Expr:
    """Whether the row's value in a breakdown column is one ``BREAKDOWNS`` (or ``TOTALS``) gives for its standard;
    true for the standards not listed."""
    value = pl.col(column).str.to_lowercase()
    unknown = []
    for standard, columns in BREAKDOWNS.items():
        names = [v.lower() for v in columns[column] if v is not None]
        names += [TOTALS[column].lower()] if column in TOTALS else []
        unknown.append(_is(standard) & ~value.is_in(names).fill_null(None in columns[column]))
    return ~pl.any_horizontal(unknown)


def _is(standard: str) -> pl.Expr:
    """Rows of the standard (as ``isin`` accepts it: any other spelling is quarantined there)."""
    return pl.col("standard") == standard


def _is_total(column: str) -> pl.Expr:
    return pl.col(column).str.contains(f"(?i)^{re.escape(TOTALS[column])}$").fill_null(False)


def _totals() -> pl.Expr:
    """How many breakdown columns the row totals (holds the total name of)."""
    return pl.sum_horizontal(*[_is_total(c).cast(pl.Int32) for c in TOTALS])
