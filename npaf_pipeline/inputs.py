"""The non-metric inputs of a quarter, from whichever landing sources hold them.

Organisations come from the ODS list with the trust-type reference, or else from NHS England's NOF files;
override and intensive-support flags from the canonical flag files, or else from the NOF files' OF5004 and
OF5007 rows. Each organisation-quarter records which source its flags came from.

For rule sets that segment ICBs, the ICB list (``icb_reference/``) adds the ICBs to the organisations, and the
ICB assessment's inputs are read from their own folders (``icb_values/``, ``rtt_monthly/`` with ``rtt_full/`` and
``cwt_crs/`` month by month, ``system_finance/``, one folder per listed test such as ``uec_tier1/``). Other rule
sets never read those folders. Leadership capability ratings (``leadership/``) are read for every rule set.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import pandera.polars as pa
import polars as pl

from npaf_pipeline.engine.frames import EngineInputError
from npaf_pipeline.icb import SystemInputs, read_icb_lookup, trust_icb
from npaf_pipeline.icb.cancer import cwt_monthly
from npaf_pipeline.icb.finance import read_finance as read_finance_files
from npaf_pipeline.icb.leadership import read_leadership
from npaf_pipeline.icb.mapping import read_icb_list
from npaf_pipeline.quarters import is_quarter
from npaf_pipeline.ruleset import RuleSet
from npaf_pipeline.sources import canonical, cwt_crs, nof_csv, nof_dashboard, organisations, registry, rtt_full
from npaf_pipeline.sources.base import FileAccount, SourceFileError, refuse_rejected, validate_rows
from npaf_pipeline.sources.tables import read_table
from schemas.canonical import empty_quarantine
from schemas.canonical_inputs import FLAG, FLAG_TRUE
from schemas.common import ODS_CODE

ORG_COLUMNS = ["quarter", "org_code", "org_name", "org_type", "org_subtype", "region", "icb_code"]
ICB_TYPE = "icb"
MONTH_SCHEMA = {
    "month": pl.String,
    "org_code": pl.String,
    "metric_id": pl.String,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}
MONTH_COLUMNS = list(MONTH_SCHEMA)
ICB_REFERENCE_SOURCE = "icb_reference"
SPLIT_LABELS = ("Mental health and community trust", "Non-acute trust", "Non-acute hospital trust")
"""NOF trust-type labels that a rule set with ``mental_health`` and ``community`` types splits by subtype."""
COMMUNITY_SUBTYPE = "community"


def segments_icbs(rs: RuleSet) -> bool:
    """Whether the rule set segments ICBs (it then reads the ICB folders of the landing zone)."""
    return any(ICB_TYPE in p.org_types for p in rs.segmentation)


def reading_ruleset(rs: RuleSet) -> RuleSet:
    """``rs``, or, for a rule set that splits mental health and community trusts (the draft NPAF), a copy that
    reads NHS England's combined label as ``mental_health``; :func:`split_types` then moves community trusts."""
    if rs.org_type_key(SPLIT_LABELS[0]) is not None or not {"mental_health", "community"} <= set(rs.organisation_types):
        return rs
    types = dict(rs.organisation_types)
    mental = types["mental_health"]
    types["mental_health"] = mental.model_copy(update={"aliases": [*mental.aliases, *SPLIT_LABELS]})
    return rs.model_copy(update={"organisation_types": types})


def split_types(orgs: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Trusts read as ``mental_health`` whose NOF subtype is Community become ``community`` (when ``rs`` splits)."""
    if reading_ruleset(rs) is rs:
        return orgs
    community = (pl.col("org_type") == "mental_health") & (
        pl.col("org_subtype").str.to_lowercase() == COMMUNITY_SUBTYPE
    )
    return orgs.with_columns(pl.when(community).then(pl.lit("community")).otherwise("org_type").alias("org_type"))


def organisation_inputs(
    landing: Path, quarters: Sequence[str], rs: RuleSet
) -> tuple[pl.DataFrame, pl.DataFrame, list[FileAccount]]:
    """``(organisations per quarter, quarantine, accounts)``."""
    reading = reading_ruleset(rs)
    etr = registry.source_files(landing, organisations.ETR_SOURCE)
    types = registry.source_files(landing, organisations.TRUST_TYPES_SOURCE)
    parts, quarantine, accounts = [], empty_quarantine(), []
    if etr and types:
        result = organisations.organisation_reference_result(etr[0], types[0], reading)
        ref = result.frame.filter(pl.col("org_type").is_not_null())
        quarantine, accounts = result.quarantine, result.accounts
        parts.append(pl.concat([ref.with_columns(pl.lit(q).alias("quarter")) for q in quarters]).select(ORG_COLUMNS))
    nof_files = registry.source_files(landing, nof_dashboard.SOURCE)
    if nof_files:
        published = nof_csv.organisations(nof_dashboard.read_release(nof_files, quarters), reading)
        parts.append(published.with_columns(pl.lit(None, pl.String).alias("icb_code")).select(ORG_COLUMNS))
    if segments_icbs(rs):
        parts.append(icb_organisations(landing, quarters))
    if not parts:
        return pl.DataFrame(schema=dict.fromkeys(ORG_COLUMNS, pl.String)), quarantine, accounts
    orgs = pl.concat(parts, how="vertical_relaxed").unique(["quarter", "org_code"], keep="first", maintain_order=True)
    return split_types(orgs, rs).sort("quarter", "org_code"), quarantine, accounts


def icb_organisations(landing: Path, quarters: Sequence[str]) -> pl.DataFrame:
    """The ICBs of ``icb_reference/`` (``icb_code, icb_name[, region]``) as organisations of type ``icb``.

    Read by :func:`npaf_pipeline.icb.mapping.read_icb_list`, which refuses a list with an ill-formed, blank or
    contradictory code, no rows, or bytes that are not UTF-8 (the same code in two files must agree too).
    """
    files = registry.source_files(landing, ICB_REFERENCE_SOURCE)
    if not files:
        return pl.DataFrame(schema=dict.fromkeys(ORG_COLUMNS, pl.String))
    icbs = (
        read_icb_list(files)
        .select("org_code", "org_name", "region")
        .with_columns(
            pl.lit(ICB_TYPE).alias("org_type"),
            pl.lit(None, pl.String).alias("org_subtype"),
            pl.lit(None, pl.String).alias("icb_code"),
        )
    )
    return pl.concat([icbs.with_columns(pl.lit(q).alias("quarter")) for q in quarters]).select(ORG_COLUMNS)


def reference_trust_icb(landing: Path, orgs: pl.DataFrame) -> pl.DataFrame | None:
    """org_code -> icb_code for summing provider figures to ICBs: every trust the ODS list (``ods_etr/``) places
    in an ICB, whatever the trust-type list says.

    A trust's ICB is ODS's; the trust-type list only says how (and whether) it is scored. A trust ODS places in an
    ICB but the trust-type list leaves out (closed, or simply missing) still counts in its ICB's sums: dropping it
    would change the ICB's value with no one told. Without an ODS list the organisations' own ICB codes are used.
    """
    etr = registry.source_files(landing, organisations.ETR_SOURCE)
    if etr:
        return trust_icb(organisations.read_ods_etr(etr[0]))
    return trust_icb(orgs.filter(pl.col("org_type").ne_missing(ICB_TYPE))) if orgs.height else None


def flag_inputs(landing: Path, quarters: Sequence[str]) -> tuple[pl.DataFrame, pl.DataFrame, list[FileAccount]]:
    """``(flags, quarantine, accounts)``: quarter, org_code, financial_override, intensive_support, flag_source."""
    wanted = set(quarters)
    override_files = registry.source_files(landing, canonical.FLAGS_SOURCE)
    support_files = registry.source_files(landing, canonical.SUPPORT_SOURCE)
    quarantine, accounts, frames = [], [], []
    override = support = None
    known = known_organisation_codes(landing) if override_files or support_files else None
    if override_files:
        result = canonical.read_override_flags(override_files, known)
        override, quarantine, accounts = result.frame, [result.quarantine], result.accounts
    if support_files:
        result = canonical.read_intensive_support(support_files, known)
        support = result.frame
        quarantine, accounts = [*quarantine, result.quarantine], [*accounts, *result.accounts]
    if override is not None or support is not None:
        frames.append(canonical.segment_flags(override, support).with_columns(pl.lit("landing").alias("flag_source")))
    nof_files = registry.source_files(landing, nof_dashboard.SOURCE)
    if nof_files:
        published = nof_csv.flags(nof_dashboard.read_release(nof_files, quarters))
        frames.append(published.with_columns(pl.lit("nof_dashboard").alias("flag_source")))
    schema = {
        "quarter": pl.String,
        "org_code": pl.String,
        "financial_override": pl.Boolean,
        "intensive_support": pl.Boolean,
        "flag_source": pl.String,
    }
    flags = (
        pl.concat([f.select(list(schema)) for f in frames], how="vertical_relaxed")
        .filter(pl.col("quarter").is_in(list(wanted)))
        .unique(["quarter", "org_code"], keep="first", maintain_order=True)
        .sort("quarter", "org_code")
        if frames
        else pl.DataFrame(schema=schema)
    )
    q = pl.concat(quarantine, how="vertical_relaxed") if quarantine else empty_quarantine()
    return flags, q, accounts


def known_organisation_codes(landing: Path) -> set[str] | None:
    """Every organisation code the landing zone's organisation reference knows, whatever its type or open dates:
    the ODS list, the trust-type list, NHS England's NOF files and the ICB list. None when it holds none of them
    (there is then nothing to check a flag file against, and nothing to score either)."""
    codes: set[str] = set()
    found = False
    for path in registry.source_files(landing, organisations.ETR_SOURCE):
        codes.update(organisations.read_ods_etr(path)["org_code"].to_list())
        found = True
    for path in registry.source_files(landing, organisations.TRUST_TYPES_SOURCE):
        raw = read_table(
            path,
            source=organisations.TRUST_TYPES_SOURCE,
            columns={"Trust_code": "org_code"},
            required=["Trust_code"],
            what="a trust-type list (Trust_code, ...)",
        )
        codes.update(_well_formed(raw.frame["org_code"]))
        found = True
    nof_files = registry.source_files(landing, nof_dashboard.SOURCE)
    if nof_files:
        codes.update(_well_formed(nof_dashboard.read_release(nof_files).rows["org_code"]))
        found = True
    for path in registry.source_files(landing, ICB_REFERENCE_SOURCE):
        codes.update(read_icb_lookup(path)["org_code"].to_list())
        found = True
    return codes if found else None


def _well_formed(codes: pl.Series) -> list[str]:
    """The ODS codes among ``codes`` as written: a row whose code is ill-formed (``r1f``) is quarantined by its
    source and knows no organisation, so a flag file cannot match it."""
    return codes.filter(codes.str.contains(ODS_CODE)).unique().to_list()


# --- the ICB assessment's inputs ---------------------------------------------------------------------------

ICB_VALUES_SOURCE = "icb_values"
RTT_MONTHLY_SOURCE = "rtt_monthly"
FINANCE_SOURCE = "system_finance"
LEADERSHIP_SOURCE = "leadership"
ICB_SOURCES = (ICB_REFERENCE_SOURCE, ICB_VALUES_SOURCE, RTT_MONTHLY_SOURCE, FINANCE_SOURCE)
"""Folders read only for rule sets that segment ICBs (with one folder per ``input_flag`` test, e.g. uec_tier1)."""
MONTHLY_METRIC_SOURCES = {
    "OF0023": (rtt_full.SOURCE, RTT_MONTHLY_SOURCE),
    "OF0010": (cwt_crs.SOURCE,),
    "OF0011": (cwt_crs.SOURCE,),
}
"""Provider metrics the every-month tests can read month by month, and the folders that hold them."""


def icb_input_files(landing: Path, rs: RuleSet) -> list[Path]:
    """Every landing file the ICB assessment of ``rs`` reads (none when the rule set does not segment ICBs)."""
    if not segments_icbs(rs):
        return []
    folders = [*ICB_SOURCES, *flag_tests(rs)]
    return sorted({f for folder in folders for f in registry.source_files(landing, folder)})


def flag_tests(rs: RuleSet) -> list[str]:
    """Ids of the rule set's ``input_flag`` system tests: each reads the landing folder of the same name."""
    sa = rs.system_adjustment
    return [t.id for t in sa.tests if t.kind == "input_flag"] if sa is not None else []


def system_inputs(
    landing: Path, rs: RuleSet, orgs: pl.DataFrame, icb_values: pl.DataFrame | None
) -> tuple[SystemInputs, pl.DataFrame]:
    """What ``icb.assess_system`` reads, from the landing zone; and the provider rows quarantined on the way.

    ``orgs``: the organisation reference (trust -> ICB); ``icb_values``: the ICB-level metric values ingested.
    A missing input is left out, so its tests are not assessed and their evidence says so.
    """
    sa = rs.system_adjustment
    icbs = set(orgs.filter(pl.col("org_type") == ICB_TYPE)["org_code"].to_list()) if orgs.height else set()
    flags = {
        t: read_flag_list(files, icbs or None) for t in flag_tests(rs) if (files := registry.source_files(landing, t))
    }
    every_month = [t for t in (sa.tests if sa else []) if t.kind == "lowest_quartile_every_month"]
    wanted = {str(t.params.get("metric", "")) for t in every_month}
    months, quarantine = provider_month_rows(landing, sorted(wanted & set(MONTHLY_METRIC_SOURCES)))
    finance_files = registry.source_files(landing, FINANCE_SOURCE)
    inputs = SystemInputs(
        flag_lists=flags,
        provider_months=months,
        icb_values=icb_values if icb_values is not None and icb_values.height else None,
        finance=read_finance(finance_files, known_organisation_codes(landing)) if finance_files else None,
        trust_icb=reference_trust_icb(landing, orgs),
    )
    return inputs, quarantine


def icbs_of(orgs: pl.DataFrame) -> list[str]:
    """The ICB codes of an organisation reference (organisations of type ``icb``)."""
    return sorted(orgs.filter(pl.col("org_type") == ICB_TYPE)["org_code"].unique().to_list())


def provider_month_rows(landing: Path, metrics: Sequence[str]) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    """month, org_code, metric_id, numerator, denominator for ``metrics``; and rows quarantined reading them."""
    parts, quarantine = [], [empty_quarantine()]
    cwt = [m for m in metrics if cwt_crs.SOURCE in MONTHLY_METRIC_SOURCES[m]]
    cwt_files = registry.source_files(landing, cwt_crs.SOURCE)
    if cwt and cwt_files:
        parts.append(cwt_monthly(cwt_files, cwt).select(MONTH_COLUMNS))
    rtt_files = [f for s in MONTHLY_METRIC_SOURCES["OF0023"] for f in registry.source_files(landing, s)]
    if "OF0023" in metrics and rtt_files:
        rows, rejected = rtt_months(rtt_files)
        parts.append(rows)
        quarantine.append(rejected)
    frame = pl.concat(parts, how="vertical_relaxed") if parts else None
    return frame, pl.concat(quarantine, how="diagonal_relaxed")


def rtt_months(paths: Sequence[Path]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """OF0023 per provider and month from RTT full extracts of any month (the adapter scores quarter-ends only).

    Read with the RTT adapter's own reader and checks; numerator = waiting up to 18 weeks, denominator = the
    incomplete-pathway waiting list, treatment functions summed without the ``C_999`` total rows. A provider
    with a quarantined waiting-list row gets a row without figures, so its ICB's month is incomplete. Two
    files of the same month are refused.
    """
    frames, quarantines, seen = [], [], {}
    for path in paths:
        rows, rejected, month = _rtt_month(Path(path))
        if month in seen:
            raise EngineInputError(f"RTT extracts {seen[month].name} and {Path(path).name} both hold {month}")
        seen[month] = Path(path)
        frames.append(rows)
        quarantines.append(rejected)
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=MONTH_SCHEMA)
    return frame.sort("month", "org_code"), pl.concat(quarantines) if quarantines else empty_quarantine()


def _rtt_month(path: Path) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    counts, rejected, month = rtt_full.provider_month_counts(path)
    frame = counts.select(
        "org_code",
        pl.col("within_18_weeks").alias("numerator"),
        pl.col("waiting").alias("denominator"),
        pl.lit(month).alias("month"),
        pl.lit("OF0023").alias("metric_id"),
    )
    return frame.select(MONTH_COLUMNS), rejected, month


FLAG_LIST_COLUMNS = {"quarter": "quarter", "icb_code": "icb_code", "listed": "listed"}
FLAG_LIST_KEYS = ["quarter", "icb_code"]
FLAG_LIST_WHAT = "a list (quarter, icb_code[, listed])"
FLAG_LIST_HINTS = {
    "quarter": "write the quarter as 2025-26 Q1 or Q1 2025/26",
    "icb_code": "write the ICB's ODS code (3 to 6 capital letters or digits)",
    "listed": "write yes/no, true/false or 1/0 (any case), or leave it blank for not supplied",
}


class FlagListInput(pa.DataFrameModel):
    """One row of an ICB system test's list: the quarter, the ICB and whether it is listed (the override flag's
    spellings; blank = not supplied)."""

    quarter: str = pa.Field(description="a quarter the quarter parser reads: '2025-26 Q1', 'Q1 2025/26'")
    icb_code: str = pa.Field(str_matches=ODS_CODE, description="ODS code of the ICB")
    listed: str = pa.Field(nullable=True, str_matches=FLAG, description="1/0, true/false, yes/no; blank = not given")
    source_row: int = pa.Field(ge=1, description="row in the file (a CSV's header is row 1)")

    @pa.check("quarter", name="is_a_quarter")
    def _quarter(cls, data) -> pl.LazyFrame:
        """Read by ``quarters.parse_quarter``, as every quarter is: '2025/26 Q1' is none of its spellings."""
        return data.lazyframe.select(pl.col("quarter").map_elements(is_quarter, return_dtype=pl.Boolean))


def read_flag_list(paths: Sequence[Path], known: Collection[str] | None = None) -> pl.DataFrame:
    """A list such as UEC tier one: quarter, icb_code and optionally ``listed`` (yes/no, true/false, 1/0).

    ``known``: the ICB codes of the organisation reference; a listed code that is none of them raises
    :class:`canonical.UnknownOrganisationError` naming file, row and code (a mistyped ICB would silently escape
    the test it is listed for).

    Read as the other flag files are (UTF-8, header found in the first lines, blank lines skipped, ``listed``
    spelled as an override flag). A row that breaks a rule (a ``listed`` of ``Y`` or ``ja``, a quarter the quarter
    parser cannot read, a missing field) refuses the file rather than being set aside: the list feeds a system
    test whose read has no quarantine that blocks, and a row left out would leave its ICB off the list, the test
    passed, with no one told. Two rows for one quarter and ICB that disagree refuse the files, naming both rows;
    rows that agree are one listing.
    """
    frames = []
    for path in paths:
        raw = read_table(
            path, source=path.parent.name, columns=FLAG_LIST_COLUMNS, required=FLAG_LIST_KEYS, what=FLAG_LIST_WHAT
        )
        if raw.quarantine.height:
            first = raw.quarantine.sort("source_row").row(0, named=True)
            raise SourceFileError(path, f"{first['reason']}: not {FLAG_LIST_WHAT}", row=first["source_row"])
        frame = raw.frame
        if known is not None:
            located = frame.select(pl.col("icb_code").alias("org_code"), "source_row")
            canonical.require_known_codes(located, known, path, f"the {path.parent.name} list")
        frame = frame.with_columns(canonical.normalise_quarter())
        given = "listed" in frame.columns
        if not given:
            frame = frame.with_columns(pl.lit("yes").alias("listed"))
        accepted, rejected = validate_rows(frame, FlagListInput, source=path.parent.name, path=path, sha256=raw.sha256)
        if rejected.height:
            refuse_rejected(path, rejected, FLAG_LIST_HINTS)
        listed = pl.col("listed").str.to_lowercase().is_in(FLAG_TRUE)
        frames.append(
            accepted.select(
                *FLAG_LIST_KEYS,
                pl.when(pl.col("listed").is_null()).then(None).otherwise(listed).alias("listed"),
                pl.lit(str(path)).alias("source_file"),
                "source_row",
            )
        )
    if not frames:
        return pl.DataFrame(schema={"quarter": pl.String, "icb_code": pl.String, "listed": pl.Boolean})
    frame = pl.concat(frames)
    _refuse_disagreement(frame)
    return frame.unique(FLAG_LIST_KEYS, keep="first", maintain_order=True).select(*FLAG_LIST_KEYS, "listed")


def _refuse_disagreement(frame: pl.DataFrame) -> None:
    """Two rows for one quarter and ICB that say different things: which is right? Name both and stop."""
    clash = frame.filter(pl.col("listed").n_unique().over(FLAG_LIST_KEYS) > 1)
    if clash.is_empty():
        return
    key = clash.row(0, named=True)
    rows = clash.filter((pl.col("quarter") == key["quarter"]) & (pl.col("icb_code") == key["icb_code"]))
    first = rows.row(0, named=True)
    other = rows.filter(pl.col("listed").ne_missing(first["listed"])).row(0, named=True)

    def said(row: dict) -> str:
        where = f"row {row['source_row']}" + (
            "" if row["source_file"] == first["source_file"] else f" of {row['source_file']}"
        )
        return f"{where} (listed {'blank' if row['listed'] is None else 'yes' if row['listed'] else 'no'})"

    raise SourceFileError(
        first["source_file"],
        f"{key['quarter']} {key['icb_code']} is given twice and the rows disagree: {said(first)} and {said(other)}; "
        "keep the right one",
        row=first["source_row"],
        column="listed",
    )


def read_finance(paths: Sequence[Path], known: Collection[str] | None = None) -> pl.DataFrame:
    """System (or provider) finance: quarter, org_code, income, planned_surplus, forecast_surplus (numbers).

    Read and checked by :func:`npaf_pipeline.icb.finance.read_finance`: a row that breaks a rule, a quarter and
    organisation given twice, or (with ``known``, the reference's organisation codes) an unknown code refuses
    the files."""
    return read_finance_files(paths, known)


def leadership_ratings(landing: Path) -> pl.DataFrame | None:
    """Leadership capability ratings of ``leadership/`` (validated), or None when the folder is empty."""
    files = registry.source_files(landing, LEADERSHIP_SOURCE)
    if not files:
        return None
    known = known_organisation_codes(landing)  # a code the references lack is a mistyped organisation
    return pl.concat([read_leadership(f, known) for f in files])
