"""Time and weigh ``npaf site`` on a published snapshot: ``python -m benchmarks.site_size OUTPUT_DIR [SITE_DIR]``.

Builds twice: the first build may bundle the chart library (vl-convert, several seconds, kept in the user cache
afterwards), the second is the steady state every later build sees. Prints organisations, quarters, pages, seconds
CPU seconds and megabytes of each build.
"""

from __future__ import annotations

import resource
import sys
import tempfile
from pathlib import Path

from npaf_pipeline.site import build_site


def _cpu() -> float:
    """User and system CPU seconds of this process and its finished children (wall time alone misleads on a
    shared machine)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str]) -> int:
    snapshot = Path(argv[0])
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(argv[1]) if len(argv) > 1 else Path(tmp) / "site"
        for attempt in ("first build", "rebuild"):
            before = _cpu()
            report = build_site(snapshot, site)
            print(
                f"{attempt}: {report.organisations} organisations, {len(report.quarters)} quarters, "
                f"{report.pages} pages, {report.seconds:.2f} s wall, {_cpu() - before:.2f} s CPU "
                f"(this process and its workers), {report.bytes / 1e6:.1f} MB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
