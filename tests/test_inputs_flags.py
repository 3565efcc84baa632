"""Issue 11.4: flag inputs (intensive-support list, override flags) are checked against the organisation reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from npaf_pipeline import inputs
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
    assert inputs.read_flag_list([path]).height == 2  # without a reference to check against it reads as before
