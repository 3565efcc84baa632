"""Write the static site: league tables, a page per organisation and quarter, national and data-quality pages.

The site is built in a staging folder next to the target and swapped in whole, so a reader never sees half a
site and pages of organisations that left the snapshot do not linger. A folder is only replaced when it holds
a previous site (the ``.npaf-site`` marker) or nothing at all.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment

from npaf_pipeline import __version__
from npaf_pipeline.site import charts
from npaf_pipeline.site.model import (
    ICB,
    SiteModel,
    build_model,
    change_summary,
    cutpoints,
    distance_panel,
    distribution,
    driver_rows,
    metric_rows,
    movement,
    org_file,
    slug,
)
from npaf_pipeline.site.snapshot import Snapshot, load_snapshot
from npaf_pipeline.site.templating import environment
from npaf_pipeline.site.vega import install_bundle

MARKER = ".npaf-site"
STATIC = ("site.css", "site.js")


@dataclass
class SiteReport:
    out: Path
    pages: int
    organisations: int
    quarters: list[str]
    bytes: int
    seconds: float
    missing: list[str]
    data_docs_linked: bool

    def summary(self) -> str:
        lines = [
            f"Site in {self.out}: {self.pages} pages, {self.organisations} organisations, "
            f"{len(self.quarters)} quarter(s) {self.quarters[0]} to {self.quarters[-1]}, "
            f"{self.bytes / 1e6:.1f} MB in {self.seconds:.1f} s",
            f"Open {self.out / 'index.html'} in a browser (no server needed).",
        ]
        if self.missing:
            lines.append(f"Not in the snapshot, panels omitted: {', '.join(self.missing)}")
        if not self.data_docs_linked:
            lines.append("The site is outside the snapshot folder: Data Docs are named by path, not linked.")
        return "\n".join(lines)


class _Writer:
    """Renders templates into the staging folder; links are relative to each page's folder."""

    def __init__(self, root: Path, env: Environment, common: dict[str, Any]) -> None:
        self.root, self.env, self.common = root, env, common
        self.pages = 0
        self._templates: dict[str, Any] = {}
        self._folders: set[Path] = set()

    def chart(self, spec: dict[str, Any], name: str) -> dict[str, Any]:
        """A chart with its data inline in the page (``name`` unique within it)."""
        chart_id = f"chart-{name}"
        return {"id": chart_id, "json": charts.spec_json(spec)}

    def fragment(self, relative: str, name: str, html: str) -> None:
        """A piece of HTML shared by several pages, written once as a script that hands it to site.js, which puts
        it into each page's ``data-fragment`` element of that name."""
        key, text = json.dumps(name), json.dumps(html, ensure_ascii=False)
        self._write(relative, f"(window.NPAF_FRAGMENTS = window.NPAF_FRAGMENTS || {{}})[{key}] = {text};\n")

    def page(self, relative: str, template: str, **context: Any) -> None:
        depth = relative.count("/")
        tpl = self._templates.get(template) or self._templates.setdefault(template, self.env.get_template(template))
        self._write(relative, tpl.render(**self.common, **context, root="../" * depth, here=relative))
        self.pages += 1

    def _write(self, relative: str, text: str) -> None:
        path = self.root / relative
        if path.parent not in self._folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(path.parent)
        path.write_text(text, encoding="utf-8")


def _link_base(site: Path, snapshot: Path) -> str | None:
    """Relative path from the site's root to the snapshot root when the site sits inside it (else None)."""
    site_abs, snap_abs = Path(os.path.abspath(site)), Path(os.path.abspath(snapshot))
    if snap_abs in site_abs.parents:
        return os.path.relpath(snap_abs, site_abs).replace(os.sep, "/") + "/"
    return None


def build_site(snapshot: Path | str, out: Path | str) -> SiteReport:
    """Build the site for the snapshot at ``snapshot`` into ``out`` (replaced whole)."""
    started = time.perf_counter()
    snapshot, out = Path(snapshot), Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        raise FileExistsError(f"{out}: exists and is not a site built by npaf site; choose an empty or new folder")
    snap = load_snapshot(snapshot)
    model = build_model(snap)
    staging = out.parent / f".{out.name}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "assets").mkdir(parents=True)
    try:
        docs_base = _link_base(out, snapshot)
        bundle = install_bundle(staging / "assets", reuse_from=[out / "assets"])
        for name in STATIC:
            data = resources.files("npaf_pipeline.site").joinpath("static", name).read_bytes()
            if name == "site.js":  # the charts' shared look, from charts.CONFIG, ahead of the script that uses it
                data = charts.config_script().encode("utf-8") + data
            (staging / "assets" / name).write_bytes(data)
        pages = _write_pages(staging, snap, model, bundle, docs_base)
        (staging / MARKER).write_text(f"npaf site {__version__}\n", encoding="utf-8")
        size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
        _swap(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SiteReport(
        out=out,
        pages=pages,
        organisations=len(model.orgs),
        quarters=model.quarters,
        bytes=size,
        seconds=time.perf_counter() - started,
        missing=model.missing,
        data_docs_linked=docs_base is not None,
    )


def _swap(staging: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _write_pages(root: Path, snap: Snapshot, model: SiteModel, bundle: str, docs_base: str | None) -> int:
    latest = model.quarters[-1]
    league_keys = list(model.league)
    nav_types = {q: [t for (qq, t) in league_keys if qq == q] for q in model.quarters}
    rule_sets = {q: (snap.manifests.get(q) or {}).get("rule_set", {}) for q in model.quarters}
    common = {
        "bundle": bundle,
        "quarters": model.quarters,
        "latest": latest,
        "type_labels": model.type_labels,
        "nav_types": nav_types,
        "domains": model.domains,
        "missing": model.missing,
        "version": __version__,
        "rule_sets": rule_sets,
    }
    w = _Writer(root, environment(), common)

    # home and the organisation directory
    w.page(
        "index.html",
        "index.html",
        title="NHS Oversight Framework scorecards",
        dist=distribution(model, latest),
        summary=change_summary(model, latest),
        league_keys=league_keys,
        orgs=model.orgs,
    )
    w.page("organisations.html", "organisations.html", title="Organisations", orgs=model.orgs)

    # league tables
    for (label, org_type), rows in model.league.items():
        enriched = [r | {"move": movement(model, label, r["code"])} for r in rows]
        regions = sorted({r["region"] for r in rows if r["region"]})
        subtypes = sorted({r["subtype"] for r in rows if r["subtype"]})
        w.page(
            f"{slug(label)}/league-{org_type}.html",
            "league.html",
            title=f"{model.type_labels.get(org_type, org_type)} league table, {label}",
            label=label,
            org_type=org_type,
            rows=enriched,
            regions=regions,
            subtypes=subtypes,
            has_changes=model.changes is not None,
            previous=model.previous.get(label),
            is_icb=org_type == ICB,
        )

    # national pages
    for label in model.quarters:
        dist = distribution(model, label)
        chart_rows = [
            {"type": d["type"], "segment": s, "organisations": n} for d in dist for s, n in d["segments"].items() if n
        ]
        changed = []
        for (q, code), row in model.seg.items():
            if q != label:
                continue
            m = movement(model, label, code)
            if m and not m.get("new") and (m["segment_changed"] or m["previous_final_segment"] != m["final_segment"]):
                changed.append({"org": model.orgs[code], "move": m, "row": row})
        changed.sort(key=lambda c: (c["row"]["org_type"], c["org"]["org_name"] or c["org"]["org_code"]))
        before = model.previous.get(label)
        arrivals = sorted(c for (q, c) in model.seg if q == label and before and (before, c) not in model.seg)
        leavers = sorted(c for (q, c) in model.seg if before and q == before and (label, c) not in model.seg)
        w.page(
            f"{slug(label)}/national.html",
            "national.html",
            title=f"National picture, {label}",
            label=label,
            previous=before,
            dist=dist,
            dist_chart=w.chart(
                charts.distribution_chart(
                    chart_rows,
                    f"Share of organisations in each segment by type, {label}; the numbers are in the "
                    "table below the chart.",
                ),
                "distribution",
            )
            if chart_rows
            else None,
            summary=change_summary(model, label),
            has_changes=model.changes is not None,
            cuts=cutpoints(model, label),
            changed=changed,
            arrivals=[model.orgs[c] for c in arrivals],
            leavers=[model.orgs[c] for c in leavers],
        )

    # data quality
    quality = []
    for label in model.quarters:
        manifest = snap.manifests.get(label) or {}
        index = snap.data_docs(label)
        pages = snap.validation_pages(label)
        quality.append(
            {
                "label": label,
                "checks": manifest.get("checks", []),
                "quarantine": model.quarantine.get(label, []),
                "inputs": model.run_manifest.get(label, []),
                "docs_index": _docs_ref(index, snap.root, docs_base),
                "docs_pages": {t: _docs_ref(p, snap.root, docs_base) for t, p in pages.items()},
                "manifest": _docs_ref(snap.manifest_path(label), snap.root, docs_base)
                if snap.manifest_path(label).is_file()
                else None,
                "tables": manifest.get("tables", {}),
            }
        )
    w.page(
        "quality.html",
        "quality.html",
        title="Data quality",
        quality=quality,
        linked=docs_base is not None,
        snapshot_root=str(snap.root),
    )

    # one page per organisation and quarter: the bulk of the work, split over processes where it pays
    w.env.get_template("org.html")  # compiled once, before any fork
    w.env.get_template("_history.html")
    codes = list(model.orgs)
    general = w.pages
    global _ORG_STATE
    _ORG_STATE = (w, snap, model, docs_base)
    try:
        workers = _workers(len(codes))
        if workers > 1:
            chunks = [codes[i::workers] for i in range(workers)]
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                pages = sum(pool.map(_org_pages, chunks))
        else:
            pages = _org_pages(codes)
    finally:
        _ORG_STATE = None
    return general + pages


# Charts drawn from a table of the organisation page (the specs are in site.js; see charts.TABLE_CHARTS).
HISTORY_CHART = {"id": "chart-history", "template": "history", "table": "history-table"}
DRIVERS_CHART = {"id": "chart-drivers", "template": "drivers", "table": "drivers-table"}

# The state the organisation pages are rendered from, inherited by forked workers (never pickled).
_ORG_STATE: tuple[_Writer, Snapshot, SiteModel, str | None] | None = None
PARALLEL_FROM = 150  # organisations; below this a pool costs more than it saves


def _workers(organisations: int) -> int:
    if organisations < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1, 4))


def _org_pages(codes: list[str]) -> int:
    w, snap, model, docs_base = _ORG_STATE
    before = w.pages
    history_template = w.env.get_template("_history.html")
    chart = w.env.get_template("_macros.html").module.chart  # the same two charts on every page: rendered once
    history_chart, drivers_chart = chart(HISTORY_CHART), chart(DRIVERS_CHART)
    manifests = {label: _docs_ref(path, snap.root, docs_base) for label, path in _manifests(snap, model).items()}
    for code in codes:
        org = model.orgs[code]
        folder = f"org/{org_file(code)}"
        history = [
            model.seg[(q, code)] | {"n": model.type_counts.get((q, model.seg[(q, code)]["org_type"]))}
            for q in org["quarters"]
            if (q, code) in model.seg
        ]
        hist_chart = history_chart if sum(1 for h in history if h.get("average_score") is not None) > 1 else None
        # the same on every quarter's page, so written once (site.js marks the page's own quarter)
        w.fragment(f"{folder}/history.js", "history", history_template.render(history=history))
        for label in org["quarters"]:
            row = model.seg.get((label, code))
            drivers = driver_rows((model.explanation or {}).get((label, code), []))
            sources = model.sources.get((label, code), [])
            source_no = {s["source_file"]: i for i, s in enumerate(sources, 1)}
            w.page(
                f"{folder}/{slug(label)}.html",
                "org.html",
                title=f"{org['org_name'] or code}, {label}",
                label=label,
                org=org,
                row=row,
                n=model.type_counts.get((label, org["org_type"])),
                metrics=metric_rows(model.metrics.get((label, code), []), source_no),
                sources=sources,
                system=model.system.get((label, code), []),
                drivers=drivers,
                drivers_chart=drivers_chart if drivers else None,
                distance=distance_panel(rows) if (rows := (model.distance or {}).get((label, code))) else None,
                change=(model.changes or {}).get((label, code)),
                move=movement(model, label, code),
                history_chart=hist_chart,
                league_type=org["org_type"] if (label, org["org_type"]) in model.league else None,
                has_explanation=model.explanation is not None,
                has_distance=model.distance is not None,
                has_changes=model.changes is not None,
                rule=model.rule_set(label),
                manifest=manifests.get(label),
            )
    return w.pages - before


def _manifests(snap: Snapshot, model: SiteModel) -> dict[str, Path]:
    """The manifest file of each quarter that has one."""
    return {label: path for label in model.quarters if (path := snap.manifest_path(label)).is_file()}


def _docs_ref(path: Path | None, snapshot_root: Path, base: str | None) -> dict[str, str] | None:
    """A file of the snapshot as a link relative to the site root (when inside) or as a path to name."""
    if path is None:
        return None
    relative = path.relative_to(snapshot_root).as_posix()
    return {"href": base + relative if base is not None else None, "path": str(path)}
