"""From the published tables to what each page shows: plain dictionaries, grouped once, for the templates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.site.formats import fmt, metric_value
from npaf_pipeline.site.snapshot import Snapshot

CHANGE_CLASSES = ("override", "significant", "not_significant")
ICB = "icb"

# The columns of the long tables that the organisation pages show (org.html); the rest are not read into Python.
KEYS = ("quarter_label", "org_code")
METRIC_COLUMNS = (
    *KEYS,
    "org_type",
    "metric_id",
    "metric_name",
    "domain",
    "domain_name",
    "role",
    "value",
    "unit",
    "period",
    "direction",
    "score",
    "metric_rank",
    "type_count",
    "type_median",
    "type_lower_quartile",
    "type_upper_quartile",
    "source_file",
    "source_row",
)
DRIVER_COLUMNS = (
    "item_id",
    "item_name",
    "domain",
    "score",
    "weight",
    "contribution",
    "pull_vs_type_mean",
    "pull_vs_cut_above",
    "driver_rank",
)
DISTANCE_COLUMNS = (
    "average_score",
    "points_to_better",
    "points_to_worse",
    "metric_id",
    "metric_name",
    "unit",
    "value",
    "value_for_better",
    "can_close_alone",
    "note",
    "override_capped",
    "segment_without_override",
)


def slug(label: str) -> str:
    """'2025-26 Q1' -> '2025-26-Q1' (folder and file names without spaces)."""
    return label.replace(" ", "-")


def org_file(code: str) -> str:
    """A safe file-name stem for an ODS code (codes are letters and digits; anything else is replaced)."""
    return "".join(c if c.isalnum() else "_" for c in code)


def _records(frame: pl.DataFrame, columns: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Rows as dicts, NaN read as missing (the templates and JSON treat both alike); with ``columns``, only those
    the pages show (the wide tables have many more, and turning every cell into a Python object is the cost)."""
    if columns is not None:
        frame = frame.select([c for c in columns if c in frame.columns])
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    if floats:
        frame = frame.with_columns(pl.col(floats).fill_nan(None))
    return frame.to_dicts()


def _group(rows: list[dict[str, Any]], *keys: str) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    if len(keys) == 2:
        first, second = keys
        for row in rows:
            out[(row[first], row[second])].append(row)
    elif len(keys) == 1:
        for row in rows:
            out[row[keys[0]]].append(row)
    else:
        for row in rows:
            out[tuple(row[k] for k in keys)].append(row)
    return out


@dataclass
class SiteModel:
    """Everything the pages need, grouped by quarter, type and organisation."""

    quarters: list[str]
    previous: dict[str, str | None]
    domains: list[dict[str, str]]
    seg: dict[tuple[str, str], dict[str, Any]]  # (quarter, org) -> organisation_segmentation row
    orgs: dict[str, dict[str, Any]]  # org -> latest identity (name, type, region, ...) and its quarters
    type_labels: dict[str, str]
    type_counts: dict[tuple[str, str], int]  # (quarter, org_type) -> organisations ranked
    league: dict[tuple[str, str], list[dict[str, Any]]]  # (quarter, org_type) -> rows in rank order
    metrics: dict[tuple[str, str], list[dict[str, Any]]]
    sources: dict[tuple[str, str], list[dict[str, Any]]]
    system: dict[tuple[str, str], list[dict[str, Any]]]
    explanation: dict[tuple[str, str], list[dict[str, Any]]] | None
    distance: dict[tuple[str, str], list[dict[str, Any]]] | None
    changes: dict[tuple[str, str], dict[str, Any]] | None
    run_manifest: dict[str, list[dict[str, Any]]]
    quarantine: dict[str, list[dict[str, Any]]]
    missing: list[str] = field(default_factory=list)

    def rule_set(self, quarter: str) -> dict[str, Any]:
        rows = self.run_manifest.get(quarter) or []
        return rows[0] if rows else {}


def _type_order(types: list[str]) -> list[str]:
    order = {"acute": 0, "mental_health": 1, "community": 2, "ambulance": 3, ICB: 9}
    return sorted(types, key=lambda t: (order.get(t, 5), t))


def build_model(snap: Snapshot) -> SiteModel:
    seg_frame = snap.table("organisation_segmentation").sort("quarter_label", "org_code")
    quarters = snap.quarters
    present = set(quarters)
    previous = {}
    for label in quarters:
        before = parse_quarter(label).shift(-1).label
        previous[label] = before if before in present else None

    seg_rows = _records(seg_frame)
    seg = {(r["quarter_label"], r["org_code"]): r for r in seg_rows}
    type_labels = {r["org_type"]: r.get("org_type_label") or r["org_type"] for r in seg_rows}
    type_counts: dict[tuple[str, str], int] = defaultdict(int)
    for r in seg_rows:
        if r.get("amr_rank") is not None:
            type_counts[(r["quarter_label"], r["org_type"])] += 1

    scores = snap.table("metric_scores") if snap.has("metric_scores") else None
    domains: list[dict[str, str]] = []
    if scores is not None and scores.height:
        pairs = scores.select("domain", "domain_name").unique(maintain_order=True).rows()
        seen = set()
        for domain, name in pairs:
            if domain not in seen and f"{domain}_score" in seg_frame.columns:
                seen.add(domain)
                domains.append({"id": domain, "name": name})

    metrics: dict[tuple[str, str], list[dict[str, Any]]] = {}
    sources: dict[tuple[str, str], list[dict[str, Any]]] = {}
    values = snap.tables.get("metric_values")
    if scores is not None:
        frame = scores
        if values is not None:
            lineage = values.select("quarter_label", "org_code", "metric_id", "source_file", "source_row")
            frame = frame.join(lineage, on=["quarter_label", "org_code", "metric_id"], how="left")
        frame = frame.sort(
            "quarter_label", "org_code", "domain", "role", "metric_id", descending=[False] * 3 + [True, False]
        )
        metrics = _group(_records(frame, METRIC_COLUMNS), "quarter_label", "org_code")
    if values is not None:
        used = (
            values.group_by("quarter_label", "org_code", "source", "source_file", "source_sha256")
            .agg(pl.len().alias("n_values"))
            .sort("quarter_label", "org_code", "source_file")
        )
        sources = _group(used.to_dicts(), "quarter_label", "org_code")

    # every organisation in the snapshot: segmented ones and those only reported with metric scores
    orgs: dict[str, dict[str, Any]] = {}
    for r in seg_rows:
        entry = orgs.setdefault(r["org_code"], {"quarters": []})
        entry.update({k: r.get(k) for k in ("org_code", "org_name", "org_type", "org_subtype", "region")})
        entry["org_type_label"] = type_labels.get(r["org_type"], r["org_type"])
        entry["latest_segment"] = r.get("final_segment")
        entry["quarters"].append(r["quarter_label"])
    for (label, code), rows in metrics.items():
        entry = orgs.setdefault(
            code,
            {
                "quarters": [],
                "org_code": code,
                "org_name": None,
                "region": None,
                "org_subtype": None,
                "org_type": rows[0]["org_type"],
                "latest_segment": None,
            },
        )
        entry.setdefault("org_type_label", type_labels.get(entry["org_type"], entry["org_type"]))
        if label not in entry["quarters"]:
            entry["quarters"].append(label)
    for entry in orgs.values():
        entry["quarters"].sort()

    league = _league(snap, seg)
    system = (
        _group(
            _records(snap.table("system_considerations").sort("quarter_label", "icb_code", "test_id")),
            "quarter_label",
            "icb_code",
        )
        if snap.has("system_considerations")
        else {}
    )

    def optional(name: str, columns: tuple[str, ...], *sort: str) -> dict[tuple[str, str], list[dict[str, Any]]] | None:
        if not snap.has(name):
            return None
        return _group(_records(snap.table(name).sort(*sort), KEYS + columns), "quarter_label", "org_code")

    explanation = optional("segment_explanation", DRIVER_COLUMNS, "quarter_label", "org_code", "driver_rank")
    distance = optional("segment_distance", DISTANCE_COLUMNS, "quarter_label", "org_code", "metric_id")
    changes = None
    if snap.has("segment_changes"):
        changes = {(r["quarter_label"], r["org_code"]): r for r in _records(snap.table("segment_changes"))}

    run_manifest = (
        _group(_records(snap.table("run_manifest").sort("quarter_label", "input_file")), "quarter_label")
        if snap.has("run_manifest")
        else {}
    )
    quarantine = (
        _group(
            _records(snap.table("quarantine_summary").sort("quarter_label", "source", "source_file")), "quarter_label"
        )
        if snap.has("quarantine_summary")
        else {}
    )
    return SiteModel(
        quarters=quarters,
        previous=previous,
        domains=domains,
        seg=seg,
        orgs=dict(sorted(orgs.items())),
        type_labels=type_labels,
        type_counts=dict(type_counts),
        league=league,
        metrics=metrics,
        sources=sources,
        system=system,
        explanation=explanation,
        distance=distance,
        changes=changes,
        run_manifest=run_manifest,
        quarantine=quarantine,
        missing=[m for m in snap.missing if m in ("segment_explanation", "segment_distance", "segment_changes")],
    )


def _league(snap: Snapshot, seg: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], list[dict]]:
    """League rows per (quarter, type) in the published order (rank, then code), in one shape for trusts and ICBs."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    shapes = (
        ("league_table", "trust_code", "trust_name", "trust_subtype", "trust_in_financial_deficit"),
        ("icb_league_table", "icb_code", "icb_name", None, "icb_in_financial_deficit"),
    )
    for table, code_col, name_col, subtype_col, deficit_col in shapes:
        if not snap.has(table):
            continue
        for r in _records(snap.table(table).sort("quarter_label", "rank", code_col)):
            code, label = r[code_col], r["quarter_label"]
            org = seg.get((label, code), {})
            org_type = org.get("org_type") or (ICB if table == "icb_league_table" else r.get("trust_type", "trust"))
            out[(label, org_type)].append(
                {
                    "code": code,
                    "name": r[name_col] or org.get("org_name") or code,
                    "region": r.get("region"),
                    "subtype": r.get(subtype_col) if subtype_col else None,
                    "type_label": r.get("trust_type") or org.get("org_type_label"),
                    "rank": r["rank"],
                    "rank_low": r["likely_range_of_rank_low"],
                    "rank_high": r["likely_range_of_rank_high"],
                    "average": r["average_score"],
                    "low": r["likely_range_of_average_score_low"],
                    "high": r["likely_range_of_average_score_high"],
                    "segment": r["segment"],
                    "final_segment": r.get("final_segment", org.get("final_segment")),
                    "deficit": bool(r[deficit_col]),
                    "system_tests_failed": r.get("system_tests_failed"),
                }
            )
    return {key: out[key] for key in sorted(out, key=lambda k: (k[0], _type_order([k[1]])))}


def movement(model: SiteModel, label: str, code: str) -> dict[str, Any] | None:
    """Rank and segment since the previous published quarter, with the change class where published."""
    before = model.previous.get(label)
    now = model.seg.get((label, code))
    if before is None or now is None:
        return None
    then = model.seg.get((before, code))
    change = (model.changes or {}).get((label, code))
    if then is None and change is None:
        return {"new": True}
    prev_rank = change.get("previous_rank") if change else then.get("amr_rank")
    prev_segment = change.get("previous_segment") if change else then.get("adjusted_segment")
    rank = now.get("amr_rank")
    out: dict[str, Any] = {
        "new": False,
        "previous_rank": prev_rank,
        "rank_change": (prev_rank - rank) if prev_rank is not None and rank is not None else None,
        "previous_segment": prev_segment,
        "segment": now.get("adjusted_segment"),
        "previous_final_segment": change.get("previous_final_segment") if change else then.get("final_segment"),
        "final_segment": now.get("final_segment"),
        "change_class": change.get("change_class") if change else None,
        "cause": change.get("cause") if change else None,
        "segment_changed": (
            bool(change["segment_changed"])
            if change and change.get("segment_changed") is not None
            else prev_segment != now.get("adjusted_segment")
        ),
        "average_change": change.get("average_change") if change else None,
    }
    return out


def distribution(model: SiteModel, label: str) -> list[dict[str, Any]]:
    """Organisations per type and final segment in one quarter (types in their usual order)."""
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for (q, _), row in model.seg.items():
        if q == label and row.get("final_segment") is not None:
            counts[row["org_type"]][row["final_segment"]] += 1
    rows = []
    for org_type in _type_order(list(counts)):
        segs = counts[org_type]
        rows.append(
            {
                "type": model.type_labels.get(org_type, org_type),
                "org_type": org_type,
                "segments": {s: segs.get(s, 0) for s in range(1, 6)},
                "total": sum(segs.values()),
            }
        )
    return rows


def change_summary(model: SiteModel, label: str) -> list[dict[str, Any]]:
    """NHS England's shape per type: changed; of which override / significant / not significant; significant
    without a change of segment. Without segment_changes only 'changed' is known (from the segments)."""
    before = model.previous.get(label)
    if before is None:
        return []
    per: dict[str, dict[str, Any]] = {}
    for (q, code), row in model.seg.items():
        if q != label or row.get("adjusted_segment") is None:
            continue
        m = movement(model, label, code)
        if m is None or m.get("new"):
            continue
        entry = per.setdefault(
            row["org_type"],
            {
                "type": model.type_labels.get(row["org_type"], row["org_type"]),
                "compared": 0,
                "changed": 0,
                "better": 0,
                "worse": 0,
                **{c: 0 for c in CHANGE_CLASSES},
                "significant_no_change": 0,
            },
        )
        entry["compared"] += 1
        cls = m["change_class"]
        if m["segment_changed"]:
            entry["changed"] += 1
            if m["previous_segment"] is not None and m["segment"] is not None:
                entry["better" if m["segment"] < m["previous_segment"] else "worse"] += 1
            if cls in CHANGE_CLASSES:
                entry[cls] += 1
        elif cls == "significant":
            entry["significant_no_change"] += 1
    return [per[t] | {"org_type": t} for t in _type_order(list(per))]


def metric_rows(rows: list[dict[str, Any]], source_no: dict[str, int]) -> list[dict[str, Any]]:
    """The metrics table of an organisation page as display strings, one dict per row (a domain's first row
    carries the domain's name). Formatted here, not in the template: it is the largest table of every page."""
    out = []
    domain = object()
    for r in rows:
        unit, direction, score = r["unit"], r["direction"], r["score"]
        value = metric_value(r["value"], unit)
        if direction:
            value += " ↑" if direction == "higher" else " ↓"
        rank = "–" if r["metric_rank"] is None else str(r["metric_rank"])
        if r["type_count"]:
            rank += f" of {r['type_count']}"
        source = r["period"] or ""
        if r.get("source_file"):
            source += f" [{source_no.get(r['source_file'], '?')}]"
            if r.get("source_row"):
                source += f" row {r['source_row']}"
        out.append(
            {
                "group": r["domain_name"] if r["domain"] != domain else None,
                "input": r["role"] == "input",
                "id": r["metric_id"],
                "name": r["metric_name"],
                "value": value,
                "quartiles": (
                    metric_value(r["type_lower_quartile"], unit),
                    metric_value(r["type_median"], unit),
                    metric_value(r["type_upper_quartile"], unit),
                ),
                "score": fmt(score),
                "band": int((score or 0) + 0.5),
                "rank": rank,
                "source": source,
            }
        )
        domain = r["domain"]
    return out


def driver_rows(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """The drivers table (segment_explanation rows in driver order) as display strings: item, domain, score,
    weight, contribution, pull against the type's mean and against the cut above."""
    return [
        (
            r["item_name"] or r["item_id"],
            r["domain"],
            fmt(r["score"]),
            fmt(r["weight"], 3),
            fmt(r["contribution"], 3),
            fmt(r["pull_vs_type_mean"], 3),
            fmt(r["pull_vs_cut_above"], 3),
        )
        for r in rows
    ]


def distance_panel(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The segment_distance rows of one organisation and quarter, arranged to say each thing once.

    A note is a list of findings separated by '; '. Findings every row shares (the override caps the segment, a
    support decision) are said once above the table; the table holds the metrics with a value for the better
    segment, each with the rest of its note; the metrics without one are listed by code under their note (their
    names and values are in the metrics table). Nothing in the rows is dropped.
    """
    parts = [[p for p in (r.get("note") or "").split("; ") if p] for r in rows]
    common = [p for p in parts[0] if all(p in other for other in parts[1:])] if len(rows) > 1 else []
    reach: list[dict[str, Any]] = []
    without: dict[str, list[str]] = {}
    for row, found in zip(rows, parts, strict=True):
        own = "; ".join(p for p in found if p not in common)
        if row.get("value_for_better") is not None:
            reach.append(row | {"own_note": own})
        else:
            without.setdefault(own, []).append(row["metric_id"])
    return {
        "first": rows[0],
        "common": common,
        "reach": reach,
        "without": [{"note": note, "metrics": ids} for note, ids in without.items()],
        "metrics": len(rows),
    }


def cutpoints(model: SiteModel, label: str) -> list[dict[str, Any]]:
    """The cut-points used per segmentation population, beside the previous quarter's."""

    def of(q: str | None) -> dict[str, tuple]:
        found: dict[str, tuple] = {}
        for (qq, _), row in model.seg.items():
            if qq == q and row.get("cutpoint_1_2") is not None and row.get("segmentation_population"):
                found.setdefault(
                    row["segmentation_population"], (row["cutpoint_1_2"], row["cutpoint_2_3"], row["cutpoint_3_4"])
                )
        return found

    now, then = of(label), of(model.previous.get(label))
    return [{"population": p, "now": now[p], "before": then.get(p)} for p in sorted(now)]
