"""``npaf explain``: one terminal page per organisation, read from the published snapshot only.

Imports polars, rich and the snapshot reader, nothing of the pipeline, so the page appears well under a second.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import polars as pl
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from npaf_pipeline.explain.snapshot import published_quarters, read_quarter
from npaf_pipeline.quarters import parse_quarter


class NotFound(ValueError):
    """An unknown organisation or quarter; the message names the closest matches."""


def _closest(word: str, choices: list[str], n: int = 3) -> list[str]:
    upper = {c.upper(): c for c in choices}
    return [upper[m] for m in difflib.get_close_matches(word.upper(), list(upper), n=n, cutoff=0.3)]


def resolve_quarter(out: Path, quarter: str | None, code: str | None = None) -> str:
    """The quarter label asked for (any spelling), or the latest quarter publishing ``code``."""
    labels = published_quarters(out)
    if not labels:
        raise NotFound(f"no published snapshot in {out} (run npaf backfill, or pass --snapshot)")
    if quarter is None:
        if code is not None:
            for label in reversed(labels):
                seg = read_quarter(out, "organisation_segmentation", label, ["org_code"])
                if seg is not None and code.upper() in seg["org_code"].to_list():
                    return label
        return labels[-1]
    try:
        label = parse_quarter(quarter).label
    except ValueError:
        label = quarter
    if label not in labels:
        near = _closest(label, labels) or labels[-3:]
        raise NotFound(f"quarter {quarter!r} is not published in {out}; closest: {', '.join(near)}")
    return label


def resolve_org(seg: pl.DataFrame, code: str, label: str) -> str:
    codes = seg["org_code"].to_list()
    if code.upper() in codes:
        return code.upper()
    names = dict(zip(seg["org_code"].to_list(), seg["org_name"].fill_null("").to_list(), strict=True))
    near = _closest(code, codes)
    by_name = [c for c, n in names.items() if n and code.lower() in n.lower()][:3]
    shown = [f"{c} ({names.get(c) or 'no name'})" for c in dict.fromkeys(by_name + near)]
    raise NotFound(f"no organisation {code!r} in {label}; closest: {', '.join(shown) or 'none'}")


def _fmt(x: object, places: int = 2) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{places}f}"
    return str(x)


def _org_row(out: Path, code: str, quarter: str | None) -> tuple[str, dict, pl.DataFrame]:
    label = resolve_quarter(out, quarter, code)
    seg = read_quarter(out, "organisation_segmentation", label)
    assert seg is not None
    org = resolve_org(seg, code, label)
    return label, seg.filter(pl.col("org_code") == org).row(0, named=True), seg


def page(out: Path, code: str, quarter: str | None = None, top: int = 3) -> Group:
    """The renderable page for one organisation and quarter."""
    out = Path(out)
    label, r, seg = _org_row(out, code, quarter)
    org = r["org_code"]
    parts: list[object] = []
    same_type = seg.filter((pl.col("org_type") == r["org_type"]) & pl.col("amr_rank").is_not_null()).height
    head = Text()
    head.append(f"{org}  {r['org_name'] or ''}\n", style="bold")
    head.append(f"{label} · {r['org_type_label'] or r['org_type']}")
    if r["final_segment"] is None:
        head.append("\nnot segmented this quarter (reported only)")
    else:
        head.append(
            f"\nSegment {r['final_segment']}"
            + (f" (adjusted {r['adjusted_segment']})" if r["final_segment"] != r["adjusted_segment"] else "")
            + f" · unadjusted {r['unadjusted_segment']}"
            + f"\nRank {r['amr_rank']} of {same_type}"
            + (f" (likely {r['amr_rank_low']} to {r['amr_rank_high']})" if r["amr_rank_low"] is not None else "")
        )
    head.append(
        f"\nAverage score {_fmt(r['average_score'])}"
        + (
            f" (likely {_fmt(r['average_score_low'])} to {_fmt(r['average_score_high'])})"
            if r["average_score_low"] is not None
            else ""
        )
        + f" over {r['n_items']} items; cut-points {_fmt(r['cutpoint_1_2'])} / {_fmt(r['cutpoint_2_3'])} / "
        f"{_fmt(r['cutpoint_3_4'])}"
    )
    if r["override_flag"]:
        capped = r["adjusted_segment"] is not None and r["adjusted_segment"] > r["system_adjusted_segment"]
        head.append(
            "\nFinancial override: applies"
            + (
                f", caps segment {r['system_adjusted_segment']} at {r['adjusted_segment']} (a finance matter)"
                if capped
                else " (does not change the segment)"
            )
        )
    else:
        head.append("\nFinancial override: does not apply")
    if r["intensive_support"]:
        head.append("\nIn intensive support: segment 5 is a support decision")
    parts.append(Panel(head, title="npaf explain", expand=False))

    drivers = read_quarter(out, "segment_explanation", label)
    if drivers is not None:
        mine = drivers.filter(pl.col("org_code") == org).sort("driver_rank")
        if mine.height:
            table = Table(title="Drivers (pull against the type's mean average)", title_justify="left")
            for col in ("", "item", "score", "share", "pull"):
                table.add_column(col, justify="right" if col in ("score", "share", "pull") else "left")
            worse = mine.head(top)
            better = mine.sort("driver_rank", descending=True).head(top)
            for tag, rows in (("worse", worse), ("better", better)):
                for d in rows.iter_rows(named=True):
                    if (tag == "worse") != (d["pull_vs_type_mean"] > 0):
                        continue
                    table.add_row(
                        f"pulls {tag}",
                        f"{d['item_id']} {d['item_name']}",
                        _fmt(d["score"]),
                        f"{d['weight']:.3f}",
                        f"{d['pull_vs_type_mean']:+.3f}",
                    )
            parts.append(table)

    distance = read_quarter(out, "segment_distance", label)
    if distance is not None:
        mine = distance.filter(pl.col("org_code") == org)
        if mine.height and r["unadjusted_segment"] and r["unadjusted_segment"] > 1:
            first = mine.row(0, named=True)
            parts.append(
                Text(
                    f"Distance: {_fmt(first['points_to_better'])} score points to segment "
                    f"{r['unadjusted_segment'] - 1} (unadjusted); each metric alone, first order:"
                )
            )
            closers = mine.filter(pl.col("can_close_alone")).sort("metric_id")
            if closers.height:
                table = Table()
                for col in ("metric", "value", "needed", "note"):
                    table.add_column(col, justify="right" if col in ("value", "needed") else "left")
                for d in closers.iter_rows(named=True):
                    places = d["display_decimals"]
                    table.add_row(
                        f"{d['metric_id']} {d['metric_name']}",
                        f"{d['value']:.{places}f} {d['unit'] or ''}".strip(),
                        f"{d['value_for_better']:.{places}f}",
                        d["note"].split("; ")[0],
                    )
                parts.append(table)
            cannot = mine.height - closers.height
            org_notes = dict.fromkeys(part for n in mine["note"].to_list() for part in n.split("; ")[1:])
            parts.append(
                Text(
                    f"  {cannot} of {mine.height} metrics cannot close the gap alone"
                    + "".join(f"\n  {n}" for n in org_notes)
                )
            )
        elif r["unadjusted_segment"] == 1:
            parts.append(Text("Distance: already in segment 1"))

    changes = read_quarter(out, "segment_changes", label)
    line = Text("Since last quarter: no previous quarter published")
    if changes is not None:
        mine = changes.filter(pl.col("org_code") == org)
        if mine.height:
            c = mine.row(0, named=True)
            moved = (
                f"segment {c['previous_segment']} -> {c['segment']}"
                if c["segment_changed"]
                else f"segment {c['segment']} held"
            )
            p = f", p = {c['p_value']:.3f}" if c["p_value"] is not None else ""
            line = Text(
                f"Since {c['previous_quarter_label']}: {moved}; average {_fmt(c['previous_average'])} -> "
                f"{_fmt(c['average'])} ({c['average_change']:+.3f}); rank {_fmt(c['previous_rank'])} -> "
                f"{_fmt(c['rank'])}; cause {c['cause']}; {c['change_class'].replace('_', ' ')}{p}"
            )
    parts.append(line)

    tests = read_quarter(out, "system_considerations", label)
    if tests is not None:
        mine = tests.filter(pl.col("icb_code") == org)
        if mine.height:
            table = Table(title="System considerations", title_justify="left")
            for col in ("test", "status", "evidence"):
                table.add_column(col)
            for t in mine.sort("test_id").iter_rows(named=True):
                table.add_row(t["test_name"], t["status"], t["evidence"])
            parts.append(table)
    return Group(*parts)
