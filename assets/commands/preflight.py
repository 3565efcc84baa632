"""What ``npaf backfill`` can know is wrong before a run starts: each problem is one line and exit 2.

Nothing here imports Dagster: the quarters the pipeline can run are computed the way the partitions are defined
(from ``NPAF_FIRST_PARTITION`` or 2025-26 Q1 to the last quarter that has ended, in Europe/London time).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from npaf_pipeline.quarters import Quarter, of_month, parse_quarter, quarter_range


class PreflightError(ValueError):
    """A problem found before the run; the message is one line naming the option, path or value."""


@dataclass(frozen=True)
class Plan:
    quarters: list[Quarter]
    landing: Path
    output: Path
    state: Path
    framework: str
    rule_set: str  # "<id> <version>: <name>"


def quarter_option(option: str, text: str) -> Quarter:
    try:
        return parse_quarter(text)
    except ValueError as exc:
        raise PreflightError(f"{option}: {exc}") from None


def runnable_quarters(now: datetime | None = None) -> tuple[Quarter, Quarter]:
    """First and last quarter the partitions hold: a quarter exists once it has ended."""
    first = parse_quarter(os.environ.get("NPAF_FIRST_PARTITION", "2025-04"))
    today = now or datetime.now(ZoneInfo("Europe/London"))
    return first, of_month(today.year, today.month).shift(-1)


def check_quarters(first_text: str, last_text: str) -> list[Quarter]:
    first, last = quarter_option("--from", first_text), quarter_option("--to", last_text)
    if last < first:
        raise PreflightError(f"--from {first.label} is after --to {last.label}")
    low, high = runnable_quarters()
    outside = [q.label for q in quarter_range(first, last) if q < low or q > high]
    if outside:
        raise PreflightError(
            f"quarter(s) {', '.join(outside)} outside the pipeline's partitions ({low.label} to {high.label}, "
            "the last quarter that has ended)"
        )
    return quarter_range(first, last)


def check_landing(landing: Path) -> None:
    if not landing.exists():
        raise PreflightError(f"landing folder {landing} does not exist (set --landing or NPAF_LANDING_DIR)")
    if not landing.is_dir():
        raise PreflightError(f"landing folder {landing} is not a folder")
    if not os.access(landing, os.R_OK | os.X_OK):
        raise PreflightError(f"landing folder {landing} cannot be read")


def check_writable(path: Path, what: str) -> None:
    """``path`` is a folder that can be written, or can be created: its nearest existing parent is a folder in
    which a file can be made (tried, not inferred from permission bits, which say nothing for root or read-only
    file systems)."""
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise PreflightError(f"{what} {path}: {probe} is a broken symbolic link")
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        where = "is a file" if probe == path else f"cannot be created: {probe} is a file, not a folder"
        raise PreflightError(f"{what} {path} {where}")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        where = "is not writable" if probe == path else f"cannot be created in {probe}"
        raise PreflightError(f"{what} {path} {where} ({exc.strerror or exc})") from None


def check_rule_set(framework: str) -> str:
    """Load the rule set now (id or YAML path); a bad one is one line: its first problem and how many more."""
    from npaf_pipeline.ruleset import load_ruleset

    try:
        rs = load_ruleset(framework)
    except ValueError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        more = f" (and {len(lines) - 2} more)" if len(lines) > 2 else ""
        raise PreflightError(f"--framework {framework}: {'; '.join(lines[:2])}{more}") from None
    return f"{rs.id} {rs.version}: {rs.name}"


def check_dagster_home(environ: dict[str, str]) -> None:
    home = environ.get("DAGSTER_HOME")
    if home and not Path(home).is_dir():
        raise PreflightError(f"DAGSTER_HOME {home} is not a folder (create it, or unset DAGSTER_HOME)")


def preflight(first: str, last: str, settings: dict[str, str], environ: dict[str, str]) -> Plan:
    """Every check, cheapest first; the first problem raises :class:`PreflightError`."""
    quarters = check_quarters(first, last)
    landing, output, state = (Path(settings[k]) for k in ("NPAF_LANDING_DIR", "NPAF_OUTPUT_DIR", "NPAF_STATE_DIR"))
    check_landing(landing)
    check_writable(output, "output folder")
    check_writable(state, "state folder")
    check_dagster_home(environ)
    rule_set = check_rule_set(settings["NPAF_FRAMEWORK"])
    return Plan(quarters, landing, output, state, settings["NPAF_FRAMEWORK"], rule_set)
