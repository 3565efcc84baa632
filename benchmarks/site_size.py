"""Time and weigh ``npaf site`` on a published snapshot: ``python -m benchmarks.site_size OUTPUT_DIR [SITE_DIR]``.

Builds twice: the first build may bundle the chart library (vl-convert, several seconds, kept in the user cache
afterwards), the second is the steady state every later build sees (it also replaces the first build's folder).
Prints, per build, organisations, quarters, pages, wall seconds, CPU seconds (user and system, this process and
its page-rendering workers) with the load average beside them (the CPU figure is the steadier one on a shared
machine; system time is mostly the creating and removing of ~2,200 files), and megabytes; then where the
megabytes of the last build are, by kind of file.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
from collections import Counter
from pathlib import Path

from npaf_pipeline.site import build_site


def _cpu() -> tuple[float, float]:
    """User and system CPU seconds of this process and its finished children (wall time alone misleads on a
    shared machine)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + children.ru_utime, own.ru_stime + children.ru_stime


def _kind(relative: Path) -> str:
    parts = relative.parts
    if parts[0] == "org":
        return f"organisation {'pages' if relative.suffix == '.html' else 'scripts (history tables)'}"
    if parts[0] == "assets":
        return "chart library" if parts[-1].startswith("vega") else "site.css and site.js"
    if relative.name.startswith("league-"):
        return "league tables"
    if relative.name == "national.html":
        return "national pages"
    return "index, organisations and data-quality pages"


def weights(site: Path) -> list[tuple[str, int, int]]:
    """(kind, files, bytes) of a built site, heaviest first."""
    size: Counter[str] = Counter()
    files: Counter[str] = Counter()
    for path in site.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            kind = _kind(path.relative_to(site))
            size[kind] += path.stat().st_size
            files[kind] += 1
    return [(kind, files[kind], total) for kind, total in size.most_common()]


def main(argv: list[str]) -> int:
    snapshot = Path(argv[0])
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(argv[1]) if len(argv) > 1 else Path(tmp) / "site"
        for attempt in ("first build", "rebuild"):
            user, system = _cpu()
            load = os.getloadavg()[0]
            report = build_site(snapshot, site)
            user, system = _cpu()[0] - user, _cpu()[1] - system
            print(
                f"{attempt}: {report.organisations} organisations, {len(report.quarters)} quarters, "
                f"{report.pages} pages, {report.seconds:.2f} s wall, {user + system:.2f} s CPU "
                f"({user:.2f} user, {system:.2f} system; this process and its workers; load average "
                f"{load:.1f} before, {os.getloadavg()[0]:.1f} after), {report.bytes / 1e6:.1f} MB"
            )
        for kind, files, total in weights(site):
            print(f"  {total / 1e6:5.1f} MB  {files:5,} files  {kind} ({total / files / 1e3:,.1f} KB each)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
