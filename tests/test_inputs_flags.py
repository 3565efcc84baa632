"""Issue 11.4: flag inputs (intensive-support list, override flags) are checked against the organisation reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from npaf_pipeline import inputs
from npaf_pipeline.sources.base import SourceFileError
from npaf_pipeline.sources.canonical import UnknownOrganisationError

TRUSTS = "Trust_code,Trust_name,Region,Trust_type,Trust_subtype\nRAA,Alpha,London,Acute trust,Acute - Large\n"
TRUSTS += "RBB,Beta,London,Acute trust,Acute - Medium\nTAH,Care,London,Mental health and community trust,Community\n"
FLAG_FILES = {
    "intensive_support": ("intensive_support.csv", "quarter,org_code\n2025-26 Q1,RAA\n2025-26 Q1,{code}\n"),
    "override_flags": (
        "override_flags.csv",
        "quarter,org_code,financial_override\n2025-26 Q1,RAA,1\n2025-26 Q1,{code},yes\n",
    ),
}


def _landing(tmp_path: Path, folder: str, code: str, *, etr: str | None = None, icbs: str | None = None) -> Path:
    (tmp_path / "trust_reference").mkdir()
    (tmp_path / "trust_reference" / "trusts.csv").write_text(TRUSTS)
    name, text = FLAG_FILES[folder]
    (tmp_path / folder).mkdir()
    (tmp_path / folder / name).write_text(text.format(code=code))
    if icbs is not None:
        (tmp_path / "icb_reference").mkdir()
        (tmp_path / "icb_reference" / "icbs.csv").write_text(icbs)
    return tmp_path


@pytest.mark.parametrize("folder", FLAG_FILES)
@pytest.mark.parametrize(
    ("code", "suggestion"),
    [("RBA", "did you mean RAA, RBB?"), ("RB8", "did you mean RBB?"), ("ZZZ99", None), ("TAJ", "did you mean TAH?")],
)
def test_a_code_that_matches_no_organisation_stops_the_flags(
    tmp_path: Path, folder: str, code: str, suggestion
) -> None:
    landing = _landing(tmp_path, folder, code)
    with pytest.raises(UnknownOrganisationError) as err:
        inputs.flag_inputs(landing, ["2025-26 Q1"])
    path = landing / folder / FLAG_FILES[folder][0]
    text = str(err.value)
    what = {"intensive_support": "intensive support", "override_flags": "financial override"}[folder]
    assert text.startswith(f"{path}, row 3, column org_code: the {what} file names organisation code(s) that match")
    assert f"row 3 {code!r}" in text
    assert (suggestion in text) if suggestion else "did you mean" not in text
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("folder", FLAG_FILES)
def test_codes_the_reference_knows_are_read(tmp_path: Path, folder: str) -> None:
    landing = _landing(tmp_path, folder, "TAH")  # a care trust: on the trust-type list only
    flags, quarantine, _ = inputs.flag_inputs(landing, ["2025-26 Q1"])
    assert quarantine.is_empty()
    assert sorted(flags["org_code"].to_list()) == ["RAA", "TAH"]


def test_an_icb_on_the_list_is_known_from_the_icb_reference(tmp_path: Path) -> None:
    landing = _landing(tmp_path, "intensive_support", "QMJ", icbs="icb_code,icb_name\nQMJ,NHS North Central London\n")
    flags, _, _ = inputs.flag_inputs(landing, ["2025-26 Q1"])
    assert flags.filter(flags["intensive_support"])["org_code"].to_list() == ["QMJ", "RAA"]


@pytest.mark.parametrize(("code", "line"), [("QXX", 3), ("qmj", 3), ("QMK", 5)])
def test_an_icb_list_naming_an_icb_the_reference_lacks_stops(tmp_path: Path, code: str, line: int) -> None:
    """The same rule for an ICB system test's list (UEC tier one): a mistyped ICB would escape its test."""
    path = tmp_path / "uec_tier1" / "uec_tier1.csv"
    path.parent.mkdir()
    rows = ["2025-26 Q1,QMJ", f"2025-26 Q1,{code}"] if line == 3 else ["2025-26 Q1,QMJ", "", "", f"2025-26 Q1,{code}"]
    path.write_text("quarter,icb_code\n" + "\n".join(rows) + "\n")
    with pytest.raises(UnknownOrganisationError) as err:
        inputs.read_flag_list([path], {"QMJ", "QOP"})
    assert str(err.value).startswith(f"{path}, row {line}, column org_code: the uec_tier1 list names organisation")
    assert f"{code!r}" in str(err.value)
    if code == "qmj":  # without a reference to check against, an ill-formed code is still no ICB code
        with pytest.raises(SourceFileError, match="column icb_code: icb_code 'qmj' is not accepted"):
            inputs.read_flag_list([path])
    else:
        assert inputs.read_flag_list([path]).height == 2  # without a reference to check against it reads as before


def _icb_list(tmp_path: Path, body: str, name: str = "uec_tier1.csv") -> Path:
    path = tmp_path / "uec_tier1" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(body)
    return path


@pytest.mark.parametrize(("value", "row"), [("Y", 3), ("ja", 3), ("maybe", 3), ("2", 3), ("listed", 3)])
def test_an_icb_list_value_outside_the_flag_spellings_refuses_the_list(tmp_path: Path, value: str, row: int) -> None:
    """``listed`` takes the override flag's spellings; any other refuses the list naming row, column and value (a
    row set aside would leave its ICB off the list, its test passed, with no check that blocks)."""
    path = _icb_list(tmp_path, f"quarter,icb_code,listed\n2025-26 Q1,QMJ,yes\n2025-26 Q1,QOP,{value}\n")
    with pytest.raises(SourceFileError) as err:
        inputs.read_flag_list([path], {"QMJ", "QOP"})
    text = str(err.value)
    assert text.startswith(f"{path}, row {row}, column listed: listed {value!r} is not accepted (rule str_matches): ")
    assert "write yes/no" in text


def test_an_icb_list_reads_every_flag_spelling(tmp_path: Path) -> None:
    """The spellings the override flags accept, in any case; blank is 'not supplied'."""
    rows = ["QA1,YES", "QA2,No", "QA3,TRUE", "QA4,false", "QA5,1", "QA6,0.0", "QA7,1.0", "QA8,"]
    path = _icb_list(tmp_path, "quarter,icb_code,listed\n" + "".join(f"2025-26 Q1,{r}\n" for r in rows))
    listed = dict(inputs.read_flag_list([path]).select("icb_code", "listed").iter_rows())
    assert listed == {
        "QA1": True,
        "QA2": False,
        "QA3": True,
        "QA4": False,
        "QA5": True,
        "QA6": False,
        "QA7": True,
        "QA8": None,
    }


@pytest.mark.parametrize("quarter", ["2025/26 Q1", "2025-27 Q1", "Q5 2025/26", "2025 Q1", ""])
def test_an_icb_list_quarter_the_quarter_parser_cannot_read_refuses_the_list(tmp_path: Path, quarter: str) -> None:
    """A quarter is read by the project's quarter parser; one it cannot read is a bad value, never kept as written
    (the ICB would then be listed for no quarter)."""
    path = _icb_list(tmp_path, f"quarter,icb_code,listed\n2025-26 Q1,QMJ,yes\n{quarter},QOP,yes\n")
    with pytest.raises(SourceFileError) as err:
        inputs.read_flag_list([path], {"QMJ", "QOP"})
    said = "is blank" if not quarter else f"{quarter!r} is not accepted"
    text = str(err.value)
    assert text.startswith(f"{path}, row 3, column quarter: quarter {said} (rule ")
    assert "): write the quarter as 2025-26 Q1" in text


def test_an_icb_list_quarter_in_any_accepted_spelling_is_the_engine_label(tmp_path: Path) -> None:
    path = _icb_list(tmp_path, "quarter,icb_code\nQ1 2025/26,QMJ\n2025-26Q1,QOP\n2025-07,QHM\n")
    assert inputs.read_flag_list([path]).rows() == [
        ("2025-26 Q1", "QMJ", True),
        ("2025-26 Q1", "QOP", True),
        ("2025-26 Q2", "QHM", True),
    ]


@pytest.mark.parametrize("two_files", [False, True])
def test_two_rows_for_one_quarter_and_icb_that_disagree_refuse_the_list(tmp_path: Path, two_files: bool) -> None:
    """Which row is right cannot be guessed: the error names both; rows that agree (in any spelling) are one."""
    head = "quarter,icb_code,listed\n"
    if two_files:
        first = _icb_list(tmp_path, head + "2025-26 Q1,QMJ,yes\n2025-26 Q1,QOP,no\n", "a.csv")
        second = _icb_list(tmp_path, head + "Q1 2025/26,QOP,Yes\n", "b.csv")
        paths, where = [first, second], f"row 3 (listed no) and row 2 of {second} (listed yes)"
    else:
        first = _icb_list(tmp_path, head + "2025-26 Q1,QOP,no\n2025-26 Q1,QMJ,yes\nQ1 2025/26,QOP,yes\n")
        paths, where = [first], "row 2 (listed no) and row 4 (listed yes)"
    with pytest.raises(SourceFileError) as err:
        inputs.read_flag_list(paths, {"QMJ", "QOP"})
    assert str(err.value).startswith(f"{first}, row {where[4]}, column listed: 2025-26 Q1 QOP is given twice")
    assert where in str(err.value)
    agree = _icb_list(tmp_path, head + "2025-26 Q1,QOP,yes\nQ1 2025/26,QOP,1\n", "agree.csv")
    assert inputs.read_flag_list([agree]).rows() == [("2025-26 Q1", "QOP", True)]


def test_an_icb_list_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 refuse the list naming the line, as every other CSV reader does (never read lossy)."""
    path = _icb_list(tmp_path, "")
    path.write_bytes("quarter,icb_code,listed\n2025-26 Q1,QMJ,yes\n2025-26 Q1,QOP,n\xe9\n".encode("cp1252"))
    with pytest.raises(SourceFileError, match=r", row 3: not UTF-8 text \(byte 0xe9\)"):
        inputs.read_flag_list([path])


def test_an_ill_formed_code_in_the_reference_makes_no_known_organisation(tmp_path: Path) -> None:
    """A reference row whose code is not an ODS code (``r1f``) is no organisation: no flag file can match it."""
    landing = _landing(tmp_path, "intensive_support", "RBB")
    with (landing / "trust_reference" / "trusts.csv").open("a") as handle:
        handle.write("r1f,Lower,London,Acute trust,Acute - Small\n R1G,Padded,London,Acute trust,Acute - Small\n")
    known = inputs.known_organisation_codes(landing)
    assert known is not None and {"RAA", "RBB", "TAH"} <= known
    assert not {"r1f", " R1G"} & known
