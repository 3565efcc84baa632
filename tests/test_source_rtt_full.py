"""RTT full CSV adapter: OF0023 / OF0003 on fixtures written in NHS England's published 121-column layout."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline.sources import base, rtt_full
from npaf_pipeline.sources.base import SourceFileError
from schemas.rtt_full import BAND_SUM, BANDS, EXACT_COUNT, LAYOUT, PART_TYPES

DESCRIPTIONS = {
    "Part_1A": "Completed Pathways For Admitted Patients",
    "Part_1B": "Completed Pathways For Non-Admitted Patients",
    "Part_2": "Incomplete Pathways",
    "Part_2A": "Incomplete Pathways with DTA",
    "Part_3": "New RTT Periods - All Patients",
}
TREATMENT_FUNCTIONS = {"C_100": "General Surgery", "C_110": "Trauma and Orthopaedic", "X02": "Other - Medical Services"}
PROVIDERS = {"RAA": "ALPHA HOSPITALS NHS TRUST", "RBB": "BETA HEALTHCARE NHS FOUNDATION TRUST"}
COMMISSIONERS = {"15N": ("QT6", "NHS DEVON ICB"), "QOP": ("QOP", "NHS GREATER MANCHESTER ICB")}

# incomplete pathways (Part_2) by provider, commissioner, treatment function: {band index: patients}
# band i is "Gt i To i+1 Weeks SUM 1"; i = 104 is "Gt 104 Weeks SUM 1"
WAITING = {
    ("RAA", "15N", "C_100"): {0: 10, 17: 5, 18: 3, 52: 2},  # within 18: 15, over 52: 2, all: 20
    ("RAA", "15N", "C_110"): {3: 20, 104: 1},  # 20, 1, 21
    ("RAA", "QOP", "C_100"): {10: 4, 60: 1},  # 4, 1, 5
    ("RAA", "QOP", "X02"): {20: 6},  # 0, 0, 6
    ("RBB", "15N", "C_100"): {0: 30, 51: 10},  # 30, 0 ("Gt 51 To 52" is not over 52), 40
    ("RBB", "15N", "C_110"): {52: 10},  # 0, 10 ("Gt 52 To 53" is), 10
}
# hand-computed from the table above: (within 18 weeks, over 52 weeks, waiting list)
EXPECTED = {"RAA": (39, 4, 52), "RBB": (30, 10, 50)}


def rtt_row(
    provider: str,
    commissioner: str,
    part: str,
    tf: str,
    bands: dict[int, int] | None = None,
    *,
    period: str = "RTT-June-2025",
    unknown: int | None = None,
    total_all: int | None = None,
    **cells: str,
) -> dict[str, str]:
    """One row of the full CSV; Total (parts 1A/1B only) and Total All as NHS England fills them."""
    parent, commissioner_name = COMMISSIONERS[commissioner]
    row = {c: "" for c in LAYOUT}
    row |= {
        "Period": period,
        "Provider Parent Org Code": "QT6",
        "Provider Parent Name": "NHS DEVON INTEGRATED CARE BOARD",
        "Provider Org Code": provider,
        "Provider Org Name": PROVIDERS.get(provider, "UNKNOWN"),
        "Commissioner Parent Org Code": parent,
        "Commissioner Parent Name": commissioner_name,
        "Commissioner Org Code": commissioner,
        "Commissioner Org Name": commissioner_name,
        "RTT Part Type": part,
        "RTT Part Description": DESCRIPTIONS[part],
        "Treatment Function Code": tf,
        "Treatment Function Name": "Total" if tf == "C_999" else TREATMENT_FUNCTIONS[tf],
    }
    banded = sum((bands or {}).values())
    for i, n in (bands or {}).items():
        row[BANDS[i]] = str(n)
    if part in ("Part_1A", "Part_1B"):
        row["Total"] = str(banded)
        row["Patients with unknown clock start date"] = "" if unknown is None else str(unknown)
    row["Total All"] = str(total_all if total_all is not None else banded + (unknown or 0))
    return row | cells


def with_totals(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Add the C_999 "Total" row of every (provider, commissioner, part) group after its detail rows."""
    out: list[dict[str, str]] = []
    groups: dict[tuple, list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault((row["Provider Org Code"], row["Commissioner Org Code"], row["RTT Part Type"]), []).append(
            row
        )
    for (provider, commissioner, part), members in groups.items():
        summed = {i: sum(int(r[b] or 0) for r in members) for i, b in enumerate(BANDS) if any(r[b] for r in members)}
        unknown = [
            int(r["Patients with unknown clock start date"])
            for r in members
            if r["Patients with unknown clock start date"]
        ]
        total_all = sum(int(r["Total All"]) for r in members)
        period = members[0]["Period"]
        total = rtt_row(
            provider,
            commissioner,
            part,
            "C_999",
            summed,
            total_all=total_all,
            unknown=sum(unknown) if unknown else None,
            period=period,
        )
        out += [*members, total]
    return out


def standard_rows(period: str = "RTT-June-2025") -> list[dict[str, str]]:
    rows = [rtt_row(p, c, "Part_2", tf, b, period=period) for (p, c, tf), b in WAITING.items()]
    rows += [
        rtt_row("RAA", "15N", "Part_2A", "C_100", {0: 5, 60: 5}, period=period),  # a subset of Part_2: never added
        rtt_row("RAA", "15N", "Part_1A", "C_100", {0: 100}, unknown=2, period=period),  # completed, not waiting
        rtt_row("RAA", "15N", "Part_3", "C_100", total_all=50, period=period),  # new clock starts: no bands
    ]
    return with_totals(rows)


def write_rtt(
    path: Path,
    rows: list[dict[str, str]] | None = None,
    *,
    header: list[str] | None = None,
    preamble: list[str] = (),
    bom: bool = False,
    newline: str = "\n",
    encoding: str = "utf-8",
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    for line in preamble:
        buffer.write(line + newline)
    writer.writerow(header or LAYOUT)
    for row in standard_rows() if rows is None else rows:
        writer.writerow([row[c] for c in LAYOUT])
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode(encoding))
    return path


def _by_org(result) -> dict[str, dict[str, tuple]]:
    out: dict[str, dict[str, tuple]] = {}
    for org, metric, value, num, den in result.values.select(
        "org_code", "metric_id", "value", "numerator", "denominator"
    ).iter_rows():
        out.setdefault(org, {})[metric] = (value, num, den)
    return out


def _account(result) -> tuple[int, int, int]:
    [a] = result.accounts
    return a.rows_read, a.rows_accepted, a.rows_quarantined


# --- fixtures in the published layout -------------------------------------------------------------------


def test_waiting_list_percentages_by_provider(tmp_path: Path) -> None:
    result = rtt_full.read([write_rtt(tmp_path / "rtt.csv")])
    got = _by_org(result)
    for org, (within, over, waiting) in EXPECTED.items():
        assert got[org]["OF0023"] == pytest.approx((100 * within / waiting, within, waiting))
        assert got[org]["OF0003"] == pytest.approx((100 * over / waiting, over, waiting))
    assert got["RAA"]["OF0023"][0] == 75.0 and got["RBB"]["OF0003"][0] == 20.0
    assert set(result.values["quarter"]) == {"2025-26 Q1"} and set(result.values["period"]) == {"2025-06"}
    assert result.values.filter(pl.col("org_code") == "RAA")["source_row"].unique().to_list() == [2]
    assert result.quarantine.is_empty()
    assert _account(result) == (15, 15, 0)  # 6 + 3 detail rows, 6 C_999 rows


def test_totals_and_dta_rows_are_not_added_to_the_waiting_list(tmp_path: Path) -> None:
    result = rtt_full.read([write_rtt(tmp_path / "rtt.csv")])
    raa = _by_org(result)["RAA"]["OF0023"]
    assert raa[1:] == (39, 52)  # with C_999 rows: (78, 104); with Part_2A added: (44, 62)


def test_a_month_that_does_not_end_a_quarter_gives_no_values(tmp_path: Path) -> None:
    result = rtt_full.read([write_rtt(tmp_path / "may.csv", standard_rows("RTT-May-2025"))])
    assert result.values.is_empty()
    assert _account(result) == (15, 15, 0)


def test_quarter_filter(tmp_path: Path) -> None:
    path = write_rtt(tmp_path / "rtt.csv")
    assert rtt_full.read([path], quarters=["2025-26 Q2"]).values.is_empty()
    assert rtt_full.read([path], quarters=["Q1 2025/26"]).values.height == 4


def test_bom_crlf_title_lines_padded_header_and_dash_cells(tmp_path: Path) -> None:
    rows = standard_rows()
    rows[0][BANDS[30]] = "-"  # not available
    rows[0]["Provider Org Name"] = " ALPHA HOSPITALS NHS TRUST  "
    header = [c + " " if c.startswith("Gt 1") else c for c in LAYOUT]
    path = write_rtt(
        tmp_path / "rtt.csv",
        rows,
        header=header,
        preamble=["18wksRTT - Monthly EXTRACTS - Jun25", ""],
        bom=True,
        newline="\r\n",
    )
    result = rtt_full.read([path])
    assert _by_org(result)["RAA"]["OF0023"][1:] == (39, 52)
    assert result.values.filter(pl.col("org_code") == "RAA")["source_row"].unique().to_list() == [4]


# --- bad input ----------------------------------------------------------------------------------------------


def test_renamed_and_missing_columns_are_named(tmp_path: Path) -> None:
    header = ["Total_All" if c == "Total All" else c for c in LAYOUT]
    with pytest.raises(SourceFileError, match="missing Total All; unexpected Total_All") as err:
        rtt_full.read([write_rtt(tmp_path / "renamed.csv", header=header)])
    assert err.value.row == 1 and err.value.path.endswith("renamed.csv")


def test_cp1252_bytes_are_refused_with_their_line(tmp_path: Path) -> None:
    rows = standard_rows()
    rows[3]["Provider Org Name"] = "ST MARY’S HOSPITAL"  # a curly apostrophe, saved by Excel as byte 0x92
    path = write_rtt(tmp_path / "cp1252.csv", rows, encoding="cp1252")
    with pytest.raises(SourceFileError, match=r"row 5: not UTF-8 text \(byte 0x92\)"):
        rtt_full.read([path])


def test_empty_header_only_and_truncated_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SourceFileError, match="the file is empty"):
        rtt_full.read([empty])
    with pytest.raises(SourceFileError, match="a header but no data rows"):
        rtt_full.read([write_rtt(tmp_path / "header.csv", [])])
    text = write_rtt(tmp_path / "whole.csv").read_text()
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: len(text) - 300])
    with pytest.raises(SourceFileError, match="ends part-way through a row: truncated"):
        rtt_full.read([cut])


def test_another_sources_file_in_the_rtt_folder(tmp_path: Path) -> None:
    ae = tmp_path / "Monthly-AE-June-2025.csv"
    ae.write_text(
        "Period,Org Code,Parent Org,Org name,A&E attendances Type 1\nMSitAE-JUNE-2025,RAA,NHS ENGLAND,ALPHA,100\n"
    )
    with pytest.raises(SourceFileError, match=r"not an RTT full CSV data file.*first line: Period, Org Code"):
        rtt_full.read([ae])
    zipped = tmp_path / "Full-CSV-data-file-Jun25.zip"
    zipped.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(SourceFileError, match="unzip the RTT full CSV data file first"):
        rtt_full.read([zipped])


def test_a_row_of_another_month_is_quarantined_and_its_provider_withheld(tmp_path: Path) -> None:
    rows = standard_rows()
    rows[0]["Period"] = "RTT-May-2025"  # RAA 15N C_100, Part_2
    result = rtt_full.read([write_rtt(tmp_path / "rtt.csv", rows)])
    q = result.quarantine
    assert q.select("source_row", "column", "check", "value").rows()[0] == (
        2,
        "Period",
        "period_is_the_file_month",
        "RTT-May-2025",
    )
    # the C_999 row of that group no longer matches what is left of it
    assert set(q["check"]) == {"period_is_the_file_month", "total_row_equals_sum_of_treatment_functions"}
    assert set(result.values["org_code"]) == {"RBB"}  # RAA's list is incomplete: no value rather than a wrong one
    assert _account(result) == (15, 13, 2)


def test_negative_count_and_bad_totals_are_quarantined(tmp_path: Path) -> None:
    rows = standard_rows()
    rows[0][BANDS[0]] = "-10"  # RAA 15N C_100: a negative count
    rows[0]["Total All"] = "0"  # consistent with the bands, so only the sign is wrong
    rows[6]["Total All"] = "41"  # RBB 15N C_100: bands sum to 40
    result = rtt_full.read([write_rtt(tmp_path / "rtt.csv", rows)])
    q = result.quarantine.sort("source_row", "check")
    found = set(q.select("source_row", "column", "check", "value").iter_rows())
    assert (2, BANDS[0], "non_negative", "-10") in found
    assert (8, "Total All", "total_all_is_bands_plus_unknown_start", "41") in found
    assert result.values.is_empty()  # both providers have a quarantined waiting-list row
    read, accepted, quarantined = _account(result)
    assert read == accepted + quarantined == 15


def test_total_row_that_does_not_match_its_group(tmp_path: Path) -> None:
    rows = standard_rows()
    c999 = next(
        i for i, r in enumerate(rows) if r["Provider Org Code"] == "RBB" and r["Treatment Function Code"] == "C_999"
    )
    rows[c999][BANDS[0]] = "31"
    rows[c999]["Total All"] = "51"
    result = rtt_full.read([write_rtt(tmp_path / "rtt.csv", rows)])
    assert result.quarantine.select("source_row", "check", "value").rows() == [
        (c999 + 2, "total_row_equals_sum_of_treatment_functions", "51")
    ]
    assert set(result.values["org_code"]) == {"RAA"}
    assert _account(result) == (15, 14, 1)


def test_duplicate_rows_bad_codes_and_part_labels(tmp_path: Path) -> None:
    rows = standard_rows()
    rows.append(dict(rows[1]))  # RAA 15N C_110 Part_2 twice: which one is right?
    rows[4]["Provider Org Code"] = "R-BB"  # ill-formed ODS code
    rows[5]["RTT Part Description"] = "Incomplete Pathways with DTA"  # Part_2 labelled as the DTA subset
    rows[6]["RTT Part Type"] = "Part_9"
    result = rtt_full.read([write_rtt(tmp_path / "rtt.csv", rows)])
    q = result.quarantine
    by_check = {c: sorted(q.filter(pl.col("check") == c)["source_row"]) for c in set(q["check"])}
    assert by_check["multiple_fields_uniqueness"] == [3, 17]
    assert set(q.filter(pl.col("check") == "multiple_fields_uniqueness")["value"]) == {"RAA | 15N | Part_2 | C_110"}
    assert by_check["str_matches('^[A-Z0-9]{3,6}$')"] == [6]
    assert by_check["description_matches_part_type"] == [7]
    assert by_check[f"isin({PART_TYPES})"] == [8]
    assert result.values.is_empty()
    read, accepted, quarantined = _account(result)
    assert (read, read - accepted) == (16, quarantined)


def test_two_files_for_the_same_month_are_refused(tmp_path: Path) -> None:
    first = write_rtt(tmp_path / "Jun25.csv")
    second = write_rtt(tmp_path / "Jun25-revised.csv")
    with pytest.raises(SourceFileError, match="RTT value 2025-26 Q1 RAA OF0003 is also given by"):
        rtt_full.read([first, second])


# --- the quick path: counts read as integers, the same result as every cell read as text --------------------


def _outcome(path: Path) -> object:
    try:
        result = rtt_full.read([path])
    except SourceFileError as exc:
        return str(exc)
    return result.values, result.quarantine, result.accounts


def _the_same_either_way(path: Path, monkeypatch: pytest.MonkeyPatch, *, quick: bool | None = None) -> object:
    """The result of reading ``path``, checked to be what the text path and pandera alone give."""
    if quick is not None:
        typed = rtt_full._read_typed(path)
        assert (typed is not None and rtt_full._typed_result(path, typed, None) is not None) == quick
    got = _outcome(path)
    with monkeypatch.context() as m:
        m.setattr(rtt_full, "_read_typed", lambda path: None)
        as_text = _outcome(path)
        m.setattr(base, "screen_rows", lambda *args, **kw: None)
        by_pandera = _outcome(path)
    for expected in (as_text, by_pandera):
        if isinstance(got, str) or isinstance(expected, str):
            assert got == expected
        else:
            assert got[0].equals(expected[0]) and got[1].equals(expected[1]) and got[2] == expected[2]
    return got


def test_files_read_together_give_what_each_gives_alone(tmp_path: Path) -> None:
    """Clean files' values are validated together, once; a file with a row to quarantine is read as before."""
    june, may = write_rtt(tmp_path / "june.csv"), write_rtt(tmp_path / "may.csv", standard_rows("RTT-May-2025"))
    rows = standard_rows("RTT-September-2025")
    rows[0][BANDS[0]], rows[0]["Total All"] = "-10", "0"  # RAA's waiting list: quarantined, RAA withheld
    september = write_rtt(tmp_path / "september.csv", rows)
    for files in ([june, may], [may, september, june]):
        together = rtt_full.read(files)
        alone = [rtt_full.read([path]) for path in files]
        assert together.values.equals(pl.concat([r.values for r in alone], how="diagonal_relaxed"))
        assert together.quarantine.equals(pl.concat([r.quarantine for r in alone]))
        assert together.accounts == [a for r in alone for a in r.accounts]
    assert set(together.values["quarter"]) == {"2025-26 Q1", "2025-26 Q2"}
    assert together.quarantine["source_file"].unique().to_list() == [str(september)]


def test_a_clean_file_takes_the_quick_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values, quarantine, _ = _the_same_either_way(write_rtt(tmp_path / "rtt.csv"), monkeypatch, quick=True)
    assert values.height == 4 and quarantine.is_empty()


@pytest.mark.parametrize(
    ("cell", "quick", "quarantined"),
    [
        ("020", True, None),  # a leading zero: the same number either way
        (" 20", True, None),  # trimmed on the text path, skipped by polars' parser
        ("+20", False, "str_matches"),  # polars' integer parser takes the sign, the published pattern does not
        ("20.0", False, None),  # not an integer: read as text, where it is a number
        ("abc", False, "str_matches"),
        ("-20", False, "non_negative"),
    ],
)
def test_cells_the_quick_path_cannot_vouch_for_go_the_text_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cell: str, quick: bool, quarantined: str | None
) -> None:
    rows = standard_rows()
    assert rows[1][BANDS[3]] == "20"  # RAA 15N C_110, Part_2: the cell is read in the quick path as in the text path
    rows[1][BANDS[3]] = cell
    got = _the_same_either_way(write_rtt(tmp_path / "rtt.csv", rows), monkeypatch, quick=quick)
    if quarantined:
        record = got[1].filter(pl.col("column") == BANDS[3]).row(0, named=True)
        assert (record["source_row"], record["check"].startswith(quarantined), record["value"]) == (3, True, cell)
    else:
        assert got[1].is_empty() and got[0].height == 4


def test_bands_that_do_not_add_up_go_the_text_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quick path sums the bands once for both totals checks: a band changed without its totals fails both."""
    rows = standard_rows()
    rows[1]["Total"] = str(sum(int(rows[1][b] or 0) for b in BANDS))  # filled, so both totals are checked
    rows[1][BANDS[3]] = str(int(rows[1][BANDS[3]]) + 1)  # a valid count, but the row's totals no longer add up
    typed = rtt_full._read_typed(write_rtt(tmp_path / "rtt.csv", rows))
    assert typed is not None and typed.frame[BAND_SUM][1] == sum(int(rows[1][b] or 0) for b in BANDS)
    _, quarantine, _ = _the_same_either_way(tmp_path / "rtt.csv", monkeypatch, quick=False)
    checks = quarantine.filter(pl.col("source_row") == 3).select("column", "check").rows()
    assert ("Total All", "total_all_is_bands_plus_unknown_start") in checks
    assert ("Total", "total_is_sum_of_bands") in checks


def test_the_band_sums_skip_blank_bands_and_the_whole_is_null_with_none_filled() -> None:
    full = {b: [i, 2 * i, 0, None, None] for i, b in enumerate(BANDS)}  # rows: all filled (twice), one blank, ...
    full[BANDS[7]][2] = None  # ... some blank and some filled, none filled, and a row with only the last band
    full[BANDS[-1]][4] = 5
    frame = pl.DataFrame(full, schema=dict.fromkeys(BANDS, pl.Int64))
    expected = [sum(range(len(BANDS))), 2 * sum(range(len(BANDS))), 0, None, 5]
    summed = frame.lazy().select(rtt_full.band_sums()).collect()
    assert summed[BAND_SUM].to_list() == expected
    assert summed["_bands_to_18"].to_list() == [sum(range(18)), 2 * sum(range(18)), 0, 0, 0]
    assert summed["_bands_over_52"].to_list() == [sum(range(52, 105)), 2 * sum(range(52, 105)), 0, 0, 5]


@pytest.mark.parametrize(
    "large",
    [
        {"total_all": EXACT_COUNT},  # a row with no bands
        {"bands": {3: EXACT_COUNT - 1, 90: 1}},  # bands each below EXACT_COUNT whose sum is not
        {"bands": {3: 2**49 + 1}},  # one band above EXACT_COUNT, within MAX_MAGNITUDE
    ],
)
def test_counts_too_large_to_sum_exactly_go_the_text_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large: dict
) -> None:
    """The quick path sums counts as integers, the text path (and pandera) as floats."""
    rows = [rtt_row(p, c, "Part_2", tf, b) for (p, c, tf), b in WAITING.items()]
    rows.append(rtt_row("RAA", "15N", "Part_3", "C_100", **large))
    _the_same_either_way(write_rtt(tmp_path / "large.csv", with_totals(rows)), monkeypatch, quick=False)


def test_layouts_the_text_path_reads_give_the_same_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    header = [c + " " if c.startswith("Gt 1") else c for c in LAYOUT]
    for name, kw in {
        "bom_crlf_title": {"bom": True, "newline": "\r\n", "preamble": ["18wksRTT - Monthly EXTRACTS - Jun25", ""]},
        "padded_header": {"header": header},
        "plain": {},
    }.items():
        _the_same_either_way(write_rtt(tmp_path / f"{name}.csv", **kw), monkeypatch, quick=True)
    text = write_rtt(tmp_path / "plain.csv").read_text()
    lines = text.splitlines(keepends=True)
    for name, changed in {
        "blank_lines": "".join([*lines[:3], "\n", "   \n", "," * (len(LAYOUT) - 1) + "\n", *lines[3:]]),
        "no_final_line_end": text.rstrip("\n"),
        "lone_cr_in_title": "title\rline\n" + text,
        "dash_row": "".join([*lines, ",".join(["-"] * len(LAYOUT)) + "\n"]),
    }.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(changed, newline="")
        _the_same_either_way(path, monkeypatch)


def test_a_missing_column_is_named_on_either_path(tmp_path: Path) -> None:
    dropped = "Gt 50 To 51 Weeks SUM 1"
    header = [c for c in LAYOUT if c != dropped]
    path = tmp_path / "short.csv"
    rows = [[r[c] for c in header] for r in standard_rows()]
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    with pytest.raises(SourceFileError, match=f"missing {dropped}") as err:
        rtt_full.read([path])
    assert err.value.row == 1


def test_random_damage_gives_the_same_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    pool = ["", "-", "abc", "-4", "+4", "4.5", "04", " 4 ", "0", "12", "RAA", "R-BB", "Part_2A", "Part_9", "C_999",
            "RTT-May-2025", "rtt-june-2025", "Incomplete Pathways with DTA", "1e3"]  # fmt: skip
    for trial in range(8):
        rows = standard_rows()
        for _ in range(rng.randint(1, 3)):
            row = rng.choice(rows)
            row[rng.choice(LAYOUT)] = rng.choice([*pool, rng.choice(rows)[rng.choice(LAYOUT)]])
        if rng.random() < 0.3:
            rows.append(dict(rng.choice(rows)))
        _the_same_either_way(write_rtt(tmp_path / f"damaged{trial}.csv", rows), monkeypatch)


def test_read_clean_gives_the_text_rows_with_counts_as_numbers(tmp_path: Path) -> None:
    path = write_rtt(tmp_path / "rtt.csv", preamble=["18wksRTT - Monthly EXTRACTS - Jun25"])
    clean = rtt_full.read_clean(path)
    assert clean is not None and clean.month == "2025-06" and clean.sha256 == base.sha256_file(path)
    text = rtt_full._read_csv(path)
    columns = [*rtt_full.CHECKED_TEXT, "source_row"]
    assert clean.rows.select(columns).equals(text.select(columns))
    counts = text.select(pl.col(rtt_full.COUNTS).cast(pl.Int64))
    assert clean.rows.select(rtt_full.COUNTS).equals(counts)
    rows = standard_rows()
    rows[0]["Period"] = "RTT-May-2025"  # a row to quarantine: not a clean file
    assert rtt_full.read_clean(write_rtt(tmp_path / "may.csv", rows)) is None


@pytest.mark.parametrize("marker", ["-", "", "*", "..", "x", "[c]"])
def test_a_suppressed_band_holding_patients_is_never_counted_as_nobody(tmp_path: Path, marker: str) -> None:
    """Issue 11.1: a blank or '-' band holds nobody only when Total All, always given, says so; a band suppressed
    while its patients are still in Total All (or any other marker) quarantines the row and withholds the provider."""
    rows = standard_rows()
    row = next(
        r
        for r in rows
        if (r["Provider Org Code"], r["RTT Part Type"]) == ("RAA", "Part_2") and r[BANDS[0]] not in ("", "0")
    )
    row[BANDS[0]] = marker
    result = rtt_full.read([write_rtt(tmp_path / "rtt.csv", rows)])
    assert "RAA" not in result.values["org_code"].to_list()
    assert "RBB" in result.values["org_code"].to_list()
    assert result.quarantine.height >= 1
    [account] = result.accounts
    assert account.rows_read == account.rows_accepted + account.rows_quarantined


@pytest.mark.parametrize("written", ["raa", " rAa", "RAA.", "r-aa", "\uff32\uff21\uff21", ""])
def test_rows_quarantined_for_how_their_code_is_written_withhold_their_provider(tmp_path: Path, written: str) -> None:
    """The provider a quarantined waiting-list row belongs to gets no value however its code is written (trimmed,
    upper-cased, full-width folded, punctuation dropped; a blank code by the provider's name): RAA's waiting list
    from its other commissioner alone would be 11 patients, not 52."""
    rows = standard_rows()
    for row in rows:
        if row["Provider Org Code"] == "RAA" and row["Commissioner Org Code"] == "15N":
            row["Provider Org Code"] = written  # the whole group, its C_999 row too, so every total still adds up
    path = write_rtt(tmp_path / "rtt.csv", rows)
    result = rtt_full.read([path])
    assert set(result.quarantine["column"]) == {"Provider Org Code"}
    assert set(result.values["org_code"]) == {"RBB"}
    within, _, waiting = EXPECTED["RBB"]
    assert _by_org(result)["RBB"]["OF0023"] == pytest.approx((100 * within / waiting, within, waiting))
    assert _account(result) == (15, 6, 9)
    counts, _, _ = rtt_full.provider_month_counts(path)  # what ICB figures are built from
    assert counts.filter(pl.col("org_code") == "RAA").rows() == [("RAA", None, None)]
