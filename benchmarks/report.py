"""``docs/performance.md`` and the plots under ``docs/performance/`` from ``benchmarks/results/results.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.common import PLOTS, REPORT


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 0.1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


BUSY = 0.10
"""Share of the machine's CPU used by other processes above which a measurement is marked."""


def _busy(entry: dict[str, Any]) -> float:
    shares = [entry.get("other_cpu_share", 0.0)] + [r.get("other_cpu_share", 0.0) for r in entry.get("runs", [])]
    return max(shares)


def _t(entry: dict[str, Any] | None) -> str:
    """Median with its spread (max - min) and the number of runs; † when other processes were busy."""
    if not entry:
        return "—"
    time = entry["time"]
    if entry.get("estimated"):
        return f"≈ {_s(time['median'])} (est.)"
    mark = " †" if _busy(entry) > BUSY else ""
    if time.get("n", 1) == 1:
        return f"{_s(time['median'])} (1 run){mark}"
    return f"{_s(time['median'])} ± {_s(time['spread'] / 2)} (n={time['n']}){mark}"


def _all_measurements(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = [i for r in results["engine"] for i in r["impls"].values() if "times" in i]
    out += [r[m] for r in results["ingest"] if r["source"] != "all" for m in ("pipeline", "floor")]
    out += [run for r in (results.get("orchestration") or {}).get("runs", []) for m in r["modes"].values()
            for run in m["runs"]]  # fmt: skip
    return out


def _mb(value: float | None) -> str:
    return "—" if value is None else (f"{value:,.0f} MiB" if value >= 10 else f"{value:.1f} MiB")


def _slope(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def write(results: dict[str, Any], report: Path = REPORT, plots_dir: Path = PLOTS) -> Path:
    """Write the page to ``report`` and its plots to ``plots_dir``; returns the page's path."""
    plots = _plots(results, plots_dir)
    lines: list[str] = []
    add = lines.append
    m = results["machine"]
    add("# Performance")
    add("")
    add(
        "Measured by `make bench` (`python -m benchmarks`), which writes `benchmarks/results/results.json`, this page "
        "and the plots in `docs/performance/`. Every figure is the median of the runs shown (± half the spread, "
        "max − min) unless marked as one run or an estimate. `python -m benchmarks --quick` is a smoke run at the "
        "smallest sizes, written to `build/bench-quick/` so that it never replaces these figures; "
        "`python -m benchmarks --report-only` rewrites this page and the plots from `results.json`."
    )
    add("")
    if results.get("quick"):
        add("**This is a quick smoke run (smallest sizes, one run each): not the committed figures.**")
        add("")
    waited = sum(m.get("waited_for_quiet_s", 0.0) for m in _all_measurements(results))
    pause = f" ({waited:.0f} s of it waiting for other processes to quieten)" if waited else ""
    add(f"Run: {results['started']}, {results['total_s'] / 60:.1f} minutes in all{pause}.")
    add("")
    add("## Targets")
    add("")
    add("| target | result | met |")
    add("|---|---|---|")
    for t in results["targets"]:
        add(f"| {t['target']} | {t['result']} | {'yes' if t['met'] else '**no**'} |")
    add("")
    add("## Machine")
    add("")
    libs = ", ".join(f"{k} {v}" for k, v in m["libraries"].items())
    add(f"- CPU: {m['cpu']}, {m['cores']} cores (polars thread pool: {m['polars_threads']})")
    add(f"- Memory: {m['memory_gib']} GiB; {m['os']}")
    add(f"- Python {m['python']}; {libs}")
    if m.get("env"):
        add(f"- Environment: {', '.join(f'{k}={v}' for k, v in m['env'].items())}")
    add("")
    _method(add, results)
    _engine(add, results)
    _ingest(add, results)
    _orchestration(add, results)
    _scaling(add, results)
    _profiles(add, results)
    add("## Plots")
    add("")
    for title, path in plots:
        add(f"![{title}]({path.relative_to(report.parent).as_posix()})")
        add("")
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return report


def _method(add: Any, results: dict[str, Any]) -> None:
    add("## How it is measured")
    add("")
    shares = [m.get("other_cpu_share", 0.0) for m in _all_measurements(results)]
    if shares:
        marked, mean = sum(share > BUSY for share in shares), sum(shares) / len(shares)
        waited = sum(m.get("waited_for_quiet_s", 0.0) for m in _all_measurements(results))
        add(
            f"- **A shared machine.** Other processes (not this benchmark) used {100 * mean:.0f} % "
            f"of the machine's CPU on average during the measurements (most {100 * max(shares):.0f} %); "
            f"{marked} of {len(shares)} measurements ran while they used more than {100 * BUSY:.0f} % and are "
            "marked †: their times are likely too high. Before each measurement the run waits while other "
            f"processes use more than a quarter of the CPU (here {waited:.0f} s in all, at most five minutes a run)."
        )
    add(
        "- **One process per measurement.** Each (workload, size, implementation) runs in a fresh child process "
        "(`benchmarks/child.py`): imports, a warm-up call on the smallest input, then the timed calls "
        "(`time.perf_counter`) and the process's peak resident set size (`VmHWM` in `/proc/self/status`, which "
        "counts polars' Rust allocations that tracemalloc cannot see; not `ru_maxrss`, which on Linux keeps the "
        "parent's high-water mark across fork and exec). Implementations that are compared are measured in the same "
        "`make bench` run, one after the other, on the same input files."
    )
    add(
        "- **Memory.** *Run memory* is the peak RSS minus the RSS after imports and warm-up, before the inputs are "
        "read: the inputs plus everything the run allocates. *Decoded inputs* is the Arrow size of the engine's "
        "input frames (`DataFrame.estimated_size`). The memory target compares the two."
    )
    add(
        "- **Engine inputs** (`benchmarks/inputs.py`): the base is one quarter of 205 trusts — NHS England's real "
        "Q1 2025/26 values, published within-type ranks and override / intensive-support flags for 195 trusts "
        "(read by `nof_csv` from `../shared/real-data`), plus the 10 ambulance trusts of the trust reference, whose "
        "file is not published, with values from the sample generator's calibrated model. Larger sizes replicate "
        "the base: ×K organisations are K copies of every trust (codes `R0A~1`, …), Q quarters the quarters "
        "ending 2025-26 Q1; every copy and quarter but the real one has its values perturbed (Gaussian noise of a "
        "tenth of the metric's spread across trusts, rounded to 2 dp, clipped to the valid range; counts and "
        "provided scores kept), so ties, gates and quartiles behave as in real data."
    )
    add(
        "- **Pandas reference** (`benchmarks/pandas_reference.py`): the same rule set scored and segmented with "
        "pandas as an analyst would write it (a loop over metrics, groupby ranks, a loop over quarters for the "
        "quartiles). It has no likely ranges, so it is compared with the engine without them. Its inputs are "
        "converted to pandas before the clock starts. Every size checks that both give the same metric scores "
        "and ranks, items, domain scores, averages and cut-points (to 1e-9) and the same segments and AMR ranks."
    )
    add(
        "- **Ingest** (`benchmarks/landing.py`, `benchmarks/floor.py`): each source's adapter (`registry.reader`: "
        "parse, pandera validation, quarantine, row accounting, values) against the *floor*, the same files merely "
        "read by the fastest reader at hand (polars' CSV reader, calamine through fastexcel for the sheets the "
        "adapter reads; every cell as text, no validation). One quarter is NHS England's own files for 2025-26 Q1 "
        "plus a generated RTT full extract (about 207,000 rows, 105 MB, the published 121-column layout); twelve "
        "quarters are the same files re-dated byte for byte otherwise (36 A&E CSVs, 36 CHS workbooks, ten "
        "four-month CWT extracts, the AmbSYS workbook, 12 quarter-end RTT extracts), written to a temporary folder."
    )
    add(
        "- **Orchestration** (`benchmarks/orchestration_bench.py`): sample landing zones (40 trusts, from 2017-18 "
        "Q1) of 8 and 32 quarters. Dagster: `quarterly_pipeline` in process with the partition-range tags, "
        "`NPAF_FIRST_PARTITION=2017-04`, an ephemeral instance (no `DAGSTER_HOME`). Direct: the same adapters, "
        "merge, screening, `engine.run` (with likely ranges, as the `segmentation` asset) and `publish_quarters`. "
        "The time is the run alone; imports and definitions are reported as start-up."
    )
    add("")


def _engine(add: Any, results: dict[str, Any]) -> None:
    add("## Engine and the pandas reference")
    add("")
    add(
        "| size | orgs | org-quarters | value rows | decoded inputs | engine | engine + likely ranges "
        "| pandas reference | pandas / engine | engine run memory | run memory / inputs | same results |"
    )
    add("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results["engine"]:
        e = r["impls"]["engine"]
        add(
            f"| ×{r['orgs_factor']} orgs × {r['quarters']} q | {r['organisations']:,} | {r['org_quarters']:,} | "
            f"{r['value_rows']:,} | {_mb(r['decoded_inputs_mb'])} | {_t(e)} | {_t(r['impls'].get('engine_ranges'))} | "
            f"{_t(r['impls'].get('pandas'))} | **{r['ratio_pandas_engine']:.2f}×** | {_mb(e['run_memory_mb'])} | "
            f"{e['run_memory_mb'] / r['decoded_inputs_mb']:.1f}× | "
            f"{'yes' if r['equivalence']['identical'] else '**no** (see below)'} |"
        )
    add("")
    add("Peak memory of every implementation (peak RSS of the process; run memory as defined above):")
    add("")
    add(
        "| size | engine peak RSS | engine run memory | + likely ranges run memory | pandas peak RSS "
        "| pandas run memory |"
    )
    add("|---|---|---|---|---|---|")
    for r in results["engine"]:
        i = r["impls"]
        rr = i.get("engine_ranges", {})
        add(
            f"| ×{r['orgs_factor']} × {r['quarters']} q | {_mb(i['engine']['peak_rss_mb'])} | "
            f"{_mb(i['engine']['run_memory_mb'])} | {_mb(rr.get('run_memory_mb'))} | "
            f"{_mb(i['pandas']['peak_rss_mb'])} | {_mb(i['pandas']['run_memory_mb'])} |"
        )
    add("")
    differing = [r for r in results["engine"] if not r["equivalence"]["identical"]]
    if differing:
        add("Differences between the pandas reference and the engine:")
        add("")
        for r in differing:
            add(f"- ×{r['orgs_factor']} × {r['quarters']} q: {r['equivalence_text']}")
    else:
        rows = sum(r["equivalence"]["tables"]["metric_scores"]["rows_engine"] for r in results["engine"])
        add(
            f"The pandas reference and the engine agree at every size: {rows:,} metric scores and ranks in all, "
            "every item, domain score, average, cut-point, segment and AMR rank (largest absolute difference in any "
            f"score: {max(_max_diff(r) for r in results['engine']):.1e})."
        )
    estimated = [r for r in results["engine"] if r["impls"].get("engine_ranges", {}).get("estimated")]
    if estimated:
        add("")
        add(
            "Likely ranges marked *est.* were not run (they would take most of the run's time budget): the estimate "
            "is the measured time without ranges plus the bootstrap's measured cost per quarter at the same number "
            "of organisations ("
            + ", ".join(
                f"×{r['orgs_factor']} × {r['quarters']} q from {r['impls']['engine_ranges']['from']}" for r in estimated
            )
            + "); the bootstrap treats each quarter on its own, so its cost is linear in quarters."
        )
    add("")


def _max_diff(row: dict[str, Any]) -> float:
    return max(
        (f["max_abs_difference"] for t in row["equivalence"]["tables"].values() for f in t["fields"].values()),
        default=0.0,
    )


def _ingest(add: Any, results: dict[str, Any]) -> None:
    add("## Ingest: adapters against the read floor")
    add("")
    add(
        "| quarters | source | files | size | pipeline (parse + validate) | floor (read only) | pipeline / floor "
        "| pipeline peak RSS |"
    )
    add("|---|---|---|---|---|---|---|---|")
    for r in results["ingest"]:
        total = r["source"] == "all"
        name = "**all sources**" if total else f"`{r['source']}`"
        peak = "" if total else _mb(r["pipeline"].get("peak_rss_mb"))
        pipeline = f"**{_s(r['pipeline']['time']['median'])}**" if total else _t(r["pipeline"])
        floor = f"**{_s(r['floor']['time']['median'])}**" if total else _t(r["floor"])
        add(
            f"| {r['quarters']} | {name} | {r['files']} | {r['bytes'] / 2**20:.1f} MB | {pipeline} | {floor} | "
            f"**{r['ratio_pipeline_floor']:.1f}×** | {peak} |"
        )
    add("")


def _orchestration(add: Any, results: dict[str, Any]) -> None:
    o = results.get("orchestration") or {}
    if not o.get("runs"):
        return
    add("## Orchestration: single-run Dagster backfill against the direct path")
    add("")
    add(
        "| quarters | direct (adapters + merge + engine + publish) | Dagster single run | Dagster / direct "
        "| overhead | overhead per quarter | start-up (direct / Dagster) |"
    )
    add("|---|---|---|---|---|---|---|")
    for r in o["runs"]:
        d, g = r["modes"]["direct"], r["modes"]["dagster"]
        startup = f"{_s(d['runs'][0]['startup_s'])} / {_s(g['runs'][0]['startup_s'])}"
        add(
            f"| {r['quarters']} | {_t(d)} | {_t(g)} | **{r['ratio_dagster_direct']:.2f}×** | {_s(r['overhead_s'])} | "
            f"{_s(r['overhead_per_quarter_s'])} | {startup} |"
        )
    add("")
    if "per_quarter_s" in o:
        add(
            f"Fitted over 8 and 32 quarters: direct {_s(o['fixed_s']['direct'])} + {_s(o['per_quarter_s']['direct'])} "
            f"per quarter; Dagster {_s(o['fixed_s']['dagster'])} + {_s(o['per_quarter_s']['dagster'])} per quarter. "
            f"Dagster adds {_s(o['overhead_fixed_s'])} fixed and {_more_or_less(o['overhead_per_quarter_s'])} per "
            f"quarter (per-quarter cost {o['per_quarter_ratio']:.2f}× the direct path's"
            + ("; within the noise of single runs)." if abs(o["per_quarter_ratio"] - 1) < 0.05 else ").")
        )
        add("")
    for r in o["runs"]:
        stages = r["modes"]["direct"]["runs"][0]["stages"]
        add(
            f"Direct path at {r['quarters']} quarters, by stage: "
            + ", ".join(f"{k} {_s(v)}" for k, v in stages.items())
            + "."
        )
        steps = r["modes"]["dagster"]["runs"][0]["stages"]
        if steps:
            top = sorted(steps.items(), key=lambda kv: -kv[1])[:6]
            add(
                f"Dagster at {r['quarters']} quarters, slowest steps: "
                + ", ".join(f"{k} {_s(v)}" for k, v in top)
                + f" (all {len(steps)} steps: {_s(sum(steps.values()))})."
            )
        add("")
    sqlite = [r for r in o["runs"] if "dagster_sqlite" in r["modes"]]
    for r in sqlite:
        p, e = r["modes"]["dagster_sqlite"]["time"]["median"], r["modes"]["dagster"]["time"]["median"]
        add(
            f"A persistent instance (`DAGSTER_HOME` with the default SQLite storage, one run at {r['quarters']} "
            f"quarters): {_s(p)}, {_more_or_less(p - e)} than the ephemeral instance ({(p / e - 1) * 100:+.0f} %)."
        )
        add("")


def _scaling(add: Any, results: dict[str, Any]) -> None:
    add("## Scaling")
    add("")
    add("Least-squares slope of log(time) and log(run memory) against log(size): 1.0 is linear.")
    add("")
    add("| implementation | grows with | held fixed | sizes | time slope | time slope, last step | memory slope |")
    add("|---|---|---|---|---|---|---|")
    for f in results["scaling"]["engine"]:
        add(
            f"| {f['impl']} | {f['axis']} | {f['fixed']} | {', '.join(map(str, f['points']))} | "
            f"{_slope(f['time_slope'])} | {_slope(f['time_slope_last_step'])} | {_slope(f['memory_slope'])} |"
        )
    add("")
    if results["scaling"].get("ingest"):
        add("| ingest source | quarters | bytes slope | pipeline time slope | floor time slope |")
        add("|---|---|---|---|---|")
        for f in results["scaling"]["ingest"]:
            add(
                f"| {f['source']} | {', '.join(map(str, f['points']))} | {_slope(f['bytes_slope'])} | "
                f"{_slope(f['pipeline_slope'])} | {_slope(f['floor_slope'])} |"
            )
        add("")
    if results["scaling"].get("orchestration"):
        add("| orchestration | quarters | time slope |")
        add("|---|---|---|")
        for f in results["scaling"]["orchestration"]:
            add(f"| {f['mode']} | {', '.join(map(str, f['points']))} | {_slope(f['time_slope'])} |")
        add("")
    notes = results.get("scaling_notes") or []
    for note in notes:
        add(f"- {note}")
    if notes:
        add("")


def _profiles(add: Any, results: dict[str, Any]) -> None:
    profiles = results.get("profiles") or {}
    if not profiles and not results.get("findings"):
        return
    add("## Where the time goes, and what would fix it")
    add("")
    for finding in results.get("findings", []):
        add(f"### {finding['title']}")
        add("")
        for paragraph in finding["text"]:
            add(paragraph)
            add("")
    for name, p in profiles.items():
        add(f"<details><summary>cProfile: {name} ({_s(p['total_s'])})</summary>")
        add("")
        if p.get("stages"):
            add("Stages: " + ", ".join(f"{k} {_s(v)}" for k, v in p["stages"].items()) + ".")
            add("")
        add("| function | calls | own time | cumulative |")
        add("|---|---|---|---|")
        for row in p["functions"][:25]:
            add(f"| `{row['function']}` | {row['ncalls']} | {_s(row['tottime'])} | {_s(row['cumtime'])} |")
        add("")
        add("</details>")
        add("")


# --- plots ------------------------------------------------------------------------------------------------


def _plots(results: dict[str, Any], plots_dir: Path) -> list[tuple[str, Path]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots_dir.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, Path]] = []
    rows = results["engine"]

    if rows:  # a run of the ingest or orchestration workloads alone has no engine rows
        out += _engine_plots(rows, plots_dir, plt)

    ingest = [r for r in results.get("ingest", []) if r["source"] != "all"]
    if ingest:
        fig, ax = plt.subplots(figsize=(10, 4.2))
        labels = [f"{r['source']}\n{r['quarters']} q" for r in ingest]
        xs = range(len(ingest))
        ax.bar(
            [x - 0.2 for x in xs],
            [r["pipeline"]["time"]["median"] for r in ingest],
            0.4,
            label="pipeline (parse + validate)",
        )
        ax.bar([x + 0.2 for x in xs], [r["floor"]["time"]["median"] for r in ingest], 0.4, label="floor (read only)")
        for x, r in zip(xs, ingest, strict=True):
            ax.annotate(
                f"{r['ratio_pipeline_floor']:.1f}×",
                (x, r["pipeline"]["time"]["median"]),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_xticks(list(xs), labels, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("seconds (median)")
        ax.set_title("Ingest: adapter against the read floor (ratio above the bars)")
        ax.legend(fontsize=8)
        ax.grid(True, axis="y", which="both", alpha=0.3)
        fig.tight_layout()
        out.append(("ingest", _save(fig, plots_dir, "ingest.png")))
        plt.close(fig)

    o = results.get("orchestration") or {}
    if o.get("runs"):
        fig, ax = plt.subplots(figsize=(7, 4.2))
        runs = o["runs"]
        xs = range(len(runs))
        stages = list(runs[0]["modes"]["direct"]["runs"][0]["stages"])
        bottom = [0.0] * len(runs)
        for stage in stages:
            heights = [r["modes"]["direct"]["runs"][0]["stages"][stage] for r in runs]
            ax.bar([x - 0.2 for x in xs], heights, 0.4, bottom=bottom, label=f"direct: {stage}")
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.bar(
            [x + 0.2 for x in xs],
            [r["modes"]["dagster"]["time"]["median"] for r in runs],
            0.4,
            label="Dagster single run",
            color="0.35",
        )
        for x, r in zip(xs, runs, strict=True):
            ax.annotate(
                f"{r['ratio_dagster_direct']:.2f}×",
                (x + 0.2, r["modes"]["dagster"]["time"]["median"]),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_xticks(list(xs), [f"{r['quarters']} quarters" for r in runs])
        ax.set_xlim(-0.8, len(runs) - 0.2)
        ax.set_ylim(0, 1.2 * max(max(bottom), max(r["modes"]["dagster"]["time"]["median"] for r in runs)))
        ax.set_ylabel("seconds")
        ax.set_title("Orchestration: Dagster backfill against the direct path")
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        out.append(("orchestration", _save(fig, plots_dir, "orchestration.png")))
        plt.close(fig)
    return out


def _save(fig: Any, folder: Path, name: str) -> Path:
    path = folder / name
    fig.savefig(path, dpi=110, metadata={"Software": None})
    return path


def _engine_plots(rows: list[dict[str, Any]], plots_dir: Path, plt: Any) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    colours = {"engine": "tab:blue", "engine_ranges": "tab:green", "pandas": "tab:orange"}
    markers = {"engine": "o", "engine_ranges": "s", "pandas": "^"}
    names = {"engine": "engine", "engine_ranges": "engine + likely ranges", "pandas": "pandas reference"}
    dashes = ["-", "--", ":"]
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.6))
    for ax, factor_axis in zip(axes, ("quarters", "orgs_factor"), strict=True):
        fixed_key = "orgs_factor" if factor_axis == "quarters" else "quarters"
        held = sorted({r[fixed_key] for r in rows}, reverse=True)
        for impl in ("engine", "engine_ranges", "pandas"):
            for n, value in enumerate(held):
                pts = sorted(
                    (r for r in rows if r[fixed_key] == value and impl in r["impls"]), key=lambda r: r[factor_axis]
                )
                if len(pts) < 2:
                    continue
                xs = [r[factor_axis] for r in pts]
                ys = [r["impls"][impl]["time"]["median"] for r in pts]
                what = f"×{value} orgs" if fixed_key == "orgs_factor" else f"{value} q"
                ax.plot(
                    xs, ys, dashes[n % 3], color=colours[impl], marker=markers[impl], label=f"{names[impl]}, {what}"
                )
                for x, y, r in zip(xs, ys, pts, strict=True):
                    if r["impls"][impl].get("estimated"):
                        ax.scatter([x], [y], s=90, facecolors="none", edgecolors="k", zorder=3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(ScalarFormatter())
            axis.set_minor_formatter(NullFormatter())
        ax.set_xticks(sorted({r[factor_axis] for r in rows}))
        ax.set_xlabel("quarters" if factor_axis == "quarters" else "organisations (× 205 trusts)")
        ax.set_ylabel("seconds (median; circled: estimated)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_title("Engine and pandas reference: time against quarters")
    axes[1].set_title("… and against organisations")
    fig.tight_layout()
    out.append(("engine time", _save(fig, plots_dir, "engine_time.png")))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for impl, marker in (("engine", "o"), ("engine_ranges", "s"), ("pandas", "^")):
        pts = [r for r in rows if impl in r["impls"] and "run_memory_mb" in r["impls"][impl]]
        ax.scatter(
            [r["decoded_inputs_mb"] for r in pts],
            [r["impls"][impl]["run_memory_mb"] for r in pts],
            marker=marker,
            label=impl.replace("_", " + likely "),
        )
    lo = min(r["decoded_inputs_mb"] for r in rows)
    hi = max(r["decoded_inputs_mb"] for r in rows)
    ax.plot([lo, hi], [2 * lo, 2 * hi], "k:", label="2 × decoded inputs (target)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("decoded inputs (MiB)")
    ax.set_ylabel("run memory: peak RSS − RSS before inputs (MiB)")
    ax.set_title("Peak memory against input size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.append(("engine memory", _save(fig, plots_dir, "engine_memory.png")))
    plt.close(fig)
    return out


def _more_or_less(seconds: float) -> str:
    """A signed difference in words: "1.2 s more" or "1.2 s less"."""
    return f"{_s(abs(seconds))} {'more' if seconds >= 0 else 'less'}"
