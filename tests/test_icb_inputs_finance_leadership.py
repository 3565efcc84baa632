"""The system finance and leadership capability inputs: a file that cannot be used, a row that breaks a rule, a row
given twice or an unknown organisation refuses the file naming file, row and column; nothing is dropped or counted
twice."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline import inputs
from npaf_pipeline.engine.frames import EngineInputError
from npaf_pipeline.icb.finance import system_finance
from npaf_pipeline.icb.leadership import read_leadership
from npaf_pipeline.sources.base import SourceFileError
from npaf_pipeline.sources.canonical import UnknownOrganisationError

FINANCE_HEAD = "quarter,org_code,income,planned_surplus,forecast_surplus,note\n"
FINANCE_ROWS = "2025-26 Q1,QQ1,3648398,296,-34958,a\n2025-26 Q1,QQ2,6627059,-81594,-197161,b\n"
LEADERSHIP_HEAD = "quarter,org_code,capability_domain,rating,note\n"
LEADERSHIP_ROWS = "2025-26 Q1,QQ1,overall,good,a\n2025-26 Q1,QQ2,overall,poor,b\n"


def _file(tmp_path: Path, folder: str, body: str | bytes, name: str = "file.csv") -> Path:
    path = tmp_path / folder / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return path


def _finance(tmp_path: Path, body: str | bytes, name: str = "finance.csv") -> Path:
    return _file(tmp_path, "system_finance", body, name)


def _leadership(tmp_path: Path, body: str | bytes) -> Path:
    return _file(tmp_path, "leadership", body, "leadership.csv")


# --- system finance ------------------------------------------------------------------------------------------------


def test_finance_reads_amounts_by_the_shared_number_rule_and_quarters_by_the_parser(tmp_path: Path) -> None:
    """Thousands grouped by commas are read as everywhere else; a blank amount is not supplied (the test is then not
    assessed, saying so); any quarter spelling the parser reads becomes the engine label; other columns are ignored."""
    path = _finance(tmp_path, FINANCE_HEAD + 'Q1 2025/26,QQ1,"3,648,398",,-34958.5,a\n2025-26Q2,QQ2,100,0,-1e2,b\n')
    frame = inputs.read_finance([path])
    assert frame.columns == ["quarter", "org_code", "income", "planned_surplus", "forecast_surplus"]
    assert frame.rows() == [
        ("2025-26 Q1", "QQ1", 3648398.0, None, -34958.5),
        ("2025-26 Q2", "QQ2", 100.0, 0.0, -100.0),
    ]


@pytest.mark.parametrize("identical", [True, False])
@pytest.mark.parametrize("two_files", [False, True])
def test_two_finance_rows_for_one_quarter_and_organisation_refuse_the_files(
    tmp_path: Path, identical: bool, two_files: bool
) -> None:
    """A quarter and organisation given twice (identical or not, in one file or two, in any quarter spelling) names
    both rows: one row chosen silently may be the wrong one, and both used count a deficit (or a failed test)
    twice."""
    again = "Q1 2025/26,QQ2,6627059,-81594," + ("-197161" if identical else "-1") + ",c\n"
    first = _finance(tmp_path, FINANCE_HEAD + FINANCE_ROWS + ("" if two_files else again), "a.csv")
    paths = [first, _finance(tmp_path, FINANCE_HEAD + again, "b.csv")] if two_files else [first]
    with pytest.raises(SourceFileError) as err:
        inputs.read_finance(paths)
    other = f"row 2 of {paths[1]}" if two_files else "row 4"
    assert str(err.value) == (
        f"{first}, row 3, column quarter, org_code: 2025-26 Q1 QQ2 is given twice, in row 3 and {other}: "
        "a row is used once, so keep the right one"
    )


def test_system_finance_refuses_a_quarter_and_organisation_given_twice() -> None:
    """Finance rows built in code follow the same rule: a repeated quarter and organisation is never summed twice."""
    row = {
        "quarter": "2025-26 Q1",
        "org_code": "QQ2",
        "income": 100.0,
        "planned_surplus": 0.0,
        "forecast_surplus": -3.0,
    }
    with pytest.raises(EngineInputError, match="2025-26 Q1 QQ2 has more than one row"):
        system_finance(pl.DataFrame([row, row]), None, ["QQ2"])


def test_provider_finance_without_an_icb_is_refused_not_left_out_of_a_sum() -> None:
    """A provider's finance row sums into its ICB's; a provider the reference places in no ICB cannot be summed,
    and leaving it out would make some ICB's position look better than it is."""
    rows = [
        {"quarter": "2025-26 Q1", "org_code": code, "income": 100.0, "planned_surplus": 0.0, "forecast_surplus": -3.0}
        for code in ("RAA", "RBB")
    ]
    mapping = pl.DataFrame({"org_code": ["RAA"], "icb_code": ["QQ1"]})
    with pytest.raises(EngineInputError, match="provider\\(s\\) RBB have finance rows but no ICB"):
        system_finance(pl.DataFrame(rows), mapping, ["QQ1"])
    summed = system_finance(pl.DataFrame(rows[:1]), mapping, ["QQ1"])
    assert summed.select("icb_code", "income").rows() == [("QQ1", 100.0)]


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("quarter", "2025/26 Q1", "is_a_quarter"),
        ("quarter", "2025-26 Q5", "is_a_quarter"),
        ("quarter", "2025-27 Q1", "is_a_quarter"),
        ("quarter", "", "not_nullable"),
        ("org_code", "qq2", "str_matches"),
        ("org_code", "Q-Q2", "str_matches"),
        ("org_code", "\uff31\uff31\uff12", "str_matches"),  # full-width QQ2
        ("org_code", "", "not_nullable"),
        ("income", '"£3,648,398"', "str_matches"),
        ("income", "3648k", "str_matches"),
        ("forecast_surplus", "(34958)", "str_matches"),
        ("planned_surplus", "0.1%", "str_matches"),
        ("income", '"1,23"', "str_matches"),
        ("income", "\uff11\uff10\uff10", "str_matches"),  # full-width 100
        ("income", "1e999", "finite_and_plausible"),
        ("forecast_surplus", "-1e16", "finite_and_plausible"),
    ],
)
def test_a_finance_row_that_breaks_a_rule_refuses_the_file(tmp_path: Path, column: str, value: str, rule: str) -> None:
    """The deficit test has no quarantine that blocks: a row set aside would leave its ICB not assessed (a failed
    test unseen), so the file is refused naming row, column, rule and value."""
    cells = dict(
        zip(FINANCE_HEAD.strip().split(","), ["2025-26 Q1", "QQ2", "6627059", "-81594", "-197161", "b"], strict=True)
    )
    cells[column] = value
    path = _finance(tmp_path, FINANCE_HEAD + "2025-26 Q1,QQ1,3648398,296,-34958,a\n" + ",".join(cells.values()) + "\n")
    with pytest.raises(SourceFileError) as err:
        inputs.read_finance([path])
    shown = value.strip('"')
    said = "is blank" if not value else f"{shown!r} is not accepted"
    assert str(err.value).startswith(f"{path}, row 3, column {column}: {column} {said} (rule {rule}): write ")
    assert (err.value.row, err.value.column) == (3, column)


@pytest.mark.parametrize(("code", "near"), [("QX9", None), ("QQ3", "did you mean QQ1, QQ2?")])
def test_a_finance_code_the_reference_lacks_stops_with_the_nearest_codes(tmp_path: Path, code: str, near) -> None:
    """With the run's organisation codes, a code that is none of them (a system total or provider for no known
    organisation) stops, naming row and code: its figures would be left out of every ICB."""
    path = _finance(tmp_path, FINANCE_HEAD + FINANCE_ROWS + f"2025-26 Q1,{code},1,0,0,c\n")
    with pytest.raises(UnknownOrganisationError) as err:
        inputs.read_finance([path], {"QQ1", "QQ2", "RX1"})
    assert str(err.value).startswith(f"{path}, row 4, column org_code: the system finance file names organisation")
    assert (near in str(err.value)) if near else "did you mean" not in str(err.value)
    assert inputs.read_finance([path]).height == 3  # without a reference to check against it is read


@pytest.mark.parametrize(
    ("body", "where", "problem"),
    [
        (b"", "", "the file is empty; expected a finance file"),
        (FINANCE_HEAD.encode(), "", "a header but no data rows; expected a finance file"),
        (
            b"quarter,org_code,income,income,planned_surplus,forecast_surplus\n2025-26 Q1,QQ1,1,2,0,0\n",
            ", row 1",
            "column(s) income appear twice in the header",
        ),
        ((FINANCE_HEAD + "2025-26 Q1,QQ1,3648398,296,5,-34958,a\n").encode(), ", row 2", "row has 7 fields"),
        ((FINANCE_HEAD + "2025-26 Q1,QQ1,3648398,-34958,a\n").encode(), ", row 2", "row has 5 fields"),
        ((FINANCE_HEAD + "2025-26 Q1,QQ1,1,0,0,n\xe9\n").encode("cp1252"), ", row 2", "not UTF-8 text (byte 0xe9)"),
        (b"quarter,org_code,income,plan,forecast_surplus\n2025-26 Q1,QQ1,1,0,0\n", ", row 1", "not a finance file"),
    ],
    ids=["empty", "header-only", "column-twice", "extra-field", "missing-field", "not-utf8", "column-missing"],
)
def test_a_finance_file_that_cannot_be_used_is_refused_naming_it(
    tmp_path: Path, body: bytes, where: str, problem: str
) -> None:
    """File-level problems are those of every CSV input (the shared table reader): no row set is read from an empty
    or header-only file (every ICB would be not assessed), a column named twice or a ragged row cannot be placed."""
    path = _finance(tmp_path, body)
    with pytest.raises(SourceFileError) as err:
        inputs.read_finance([path])
    assert str(err.value).startswith(f"{path}{where}: {problem}")


# --- leadership capability -----------------------------------------------------------------------------------------


def test_leadership_reads_ratings_with_any_quarter_spelling(tmp_path: Path) -> None:
    path = _leadership(tmp_path, LEADERSHIP_HEAD + "Q1 2025/26,QQ1,overall,good,a\n2025-26 Q1,RX1,people_culture,ok,\n")
    assert read_leadership(path).rows() == [
        ("2025-26 Q1", "QQ1", "overall", "good"),
        ("2025-26 Q1", "RX1", "people_culture", "ok"),
    ]


@pytest.mark.parametrize("identical", [True, False])
def test_two_leadership_rows_for_one_quarter_organisation_and_area_refuse_the_file(
    tmp_path: Path, identical: bool
) -> None:
    """Which rating is right cannot be guessed: the error names both rows, identical or not."""
    again = "Q1 2025/26,QQ2,overall," + ("poor" if identical else "good") + ",c\n"
    path = _leadership(tmp_path, LEADERSHIP_HEAD + LEADERSHIP_ROWS + again)
    with pytest.raises(SourceFileError) as err:
        read_leadership(path)
    assert str(err.value).startswith(
        f"{path}, row 3, column quarter, org_code, capability_domain: 2025-26 Q1 QQ2 overall is given twice, "
        "in row 3 and row 4"
    )


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("quarter", "2025/26 Q1", "str_matches"),
        ("quarter", "2025-27 Q1", "is_a_quarter"),
        ("quarter", "", "not_nullable"),
        ("org_code", "qq2", "str_matches"),
        ("org_code", "\uff31\uff31\uff12", "str_matches"),
        ("capability_domain", "leadership", "isin"),
        ("rating", "", "not_nullable"),
    ],
)
def test_a_leadership_row_that_breaks_a_rule_refuses_the_file(
    tmp_path: Path, column: str, value: str, rule: str
) -> None:
    """A rating row that cannot be read names file, row, column, rule and value (never a pandera dump)."""
    cells = dict(zip(LEADERSHIP_HEAD.strip().split(","), ["2025-26 Q1", "QQ2", "overall", "poor", "b"], strict=True))
    cells[column] = value
    path = _leadership(tmp_path, LEADERSHIP_HEAD + "2025-26 Q1,QQ1,overall,good,a\n" + ",".join(cells.values()) + "\n")
    with pytest.raises(SourceFileError) as err:
        read_leadership(path)
    said = "is blank" if not value else f"{value!r} is not accepted"
    assert str(err.value).startswith(f"{path}, row 3, column {column}: {column} {said} (rule {rule}): write ")


@pytest.mark.parametrize(
    ("body", "where", "problem"),
    [
        (b"", "", "the file is empty; expected a leadership capability file"),
        (LEADERSHIP_HEAD.encode(), "", "a header but no data rows"),
        (LEADERSHIP_ROWS.replace("good,", "").join([LEADERSHIP_HEAD, ""]).encode(), ", row 2", "row has 4 fields"),
        (
            (LEADERSHIP_HEAD.strip() + ",rating\n2025-26 Q1,QQ1,overall,good,a,poor\n").encode(),
            ", row 1",
            "column(s) rating",
        ),
        (LEADERSHIP_HEAD.replace("capability_domain", "capability_area").encode(), ", row 1", "not a leadership"),
        ((LEADERSHIP_HEAD + "2025-26 Q1,QQ1,overall,g\xf6od,a\n").encode("cp1252"), ", row 2", "not UTF-8 text"),
    ],
    ids=["empty", "header-only", "missing-field", "rating-twice", "column-renamed", "not-utf8"],
)
def test_a_leadership_file_that_cannot_be_used_is_refused_naming_it(
    tmp_path: Path, body: bytes, where: str, problem: str
) -> None:
    """The shared table reader's rules: a row missing its rating would shift its note into the rating, a repeated
    ``rating`` column cannot say which copy holds the rating, a header-only file holds no ratings."""
    path = _leadership(tmp_path, body)
    with pytest.raises(SourceFileError) as err:
        read_leadership(path)
    assert str(err.value).startswith(f"{path}{where}: {problem}")


def test_a_leadership_code_the_reference_lacks_stops(tmp_path: Path) -> None:
    """With the run's organisation codes, a rating for a code that is none of them stops (its organisation would
    silently go without its rating)."""
    path = _leadership(tmp_path, LEADERSHIP_HEAD + LEADERSHIP_ROWS.replace("QQ2", "QX9"))
    with pytest.raises(UnknownOrganisationError) as err:
        read_leadership(path, {"QQ1", "QQ2"})
    assert str(err.value).startswith(f"{path}, row 3, column org_code: the leadership capability file names")
    assert "'QX9'" in str(err.value)


# --- in a run: the landing zone's references are what a code is checked against -----------------------------------


def _icb_landing(tmp_path: Path) -> Path:
    _file(tmp_path, "icb_reference", "icb_code,icb_name\nQQ1,NHS One\nQQ2,NHS Two\n", "icbs.csv")
    return tmp_path


def test_a_run_checks_finance_and_leadership_codes_against_the_landing_zones_references(tmp_path: Path) -> None:
    """``system_inputs`` and ``leadership_ratings`` pass the known codes: a mistyped ICB stops the run."""
    from npaf_pipeline.ruleset import load_ruleset

    landing = _icb_landing(tmp_path)
    _finance(landing, FINANCE_HEAD + FINANCE_ROWS.replace("QQ2", "QX2"))
    _leadership(landing, LEADERSHIP_HEAD + LEADERSHIP_ROWS)
    rs = load_ruleset("npaf-2025-26-draft")
    orgs = inputs.icb_organisations(landing, ["2025-26 Q1"])
    with pytest.raises(UnknownOrganisationError, match="QX2"):
        inputs.system_inputs(landing, rs, orgs, None)
    assert inputs.leadership_ratings(landing).height == 2
    _leadership(landing, LEADERSHIP_HEAD + LEADERSHIP_ROWS.replace("QQ2", "QX2"))
    with pytest.raises(UnknownOrganisationError, match="QX2"):
        inputs.leadership_ratings(landing)
