"""The closing summary of ``npaf backfill``: what a data engineer needs without opening the Dagster UI.

Built from the runs' events (collected while following them: no second read of the event log) and from the
published folder: where it read and wrote, rows per source, segments per quarter (or that a quarter had no
data), the comparison with NHS England's published segments, segment changes since the previous quarter, and
each failure with its file and reason, in the source's own column names. Stack traces only with ``--debug``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from assets.commands.preflight import Plan
from assets.commands.progress import RunState
from npaf_pipeline.quarters import Quarter

ROWS_SHOWN = 5
# exceptions whose message is already a sentence naming the file or option (the class name adds nothing)
PLAIN = {
    "ValueError",
    "OSError",
    "FileNotFoundError",
    "NotADirectoryError",
    "IsADirectoryError",
    "PermissionError",
    "SourceFileError",
    "RuleSetError",
    "AcceptanceError",
    "AccountingError",
}


def _value(entry: Any) -> Any:
    return getattr(entry, "value", entry)


def _records(entry: Any) -> list[dict[str, Any]]:
    return [r.data for r in getattr(entry, "records", None) or []]


def _innermost(error: Any) -> Any:
    while error is not None and error.cause is not None:
        error = error.cause
    return error


def reason_of(error: Any) -> str:
    """The innermost cause of a Dagster error: the user's exception, in its own words, one line."""
    error = _innermost(error)
    if error is None:
        return "unknown error"
    message = (error.message or "").strip()
    name = error.cls_name or ""
    head, sep, rest = message.partition(": ")
    if sep and head.split(".")[-1] == name:  # "package.module.SourceFileError: <message>"
        message = rest.strip() if name in PLAIN else f"{name}: {rest.strip()}"
    lines = message.splitlines()
    return lines[0] + (f" (and {len(lines) - 1} more line(s))" if len(lines) > 1 else "") if lines else name


def row_lines(rows: Sequence[dict[str, Any]], limit: int = ROWS_SHOWN) -> list[str]:
    """``<file>, row <n>, column <c>: <rule> (value '<v>')`` for the first ``limit`` rows of a failures table."""
    out = []
    for row in rows[:limit]:
        where = [str(row.get("file") or row.get("source_file") or "").strip() or "?"]
        if row.get("source_row") not in (None, "None"):
            where.append(f"row {row['source_row']}")
        if row.get("column") not in (None, "None", ""):
            where.append(f"column {row['column']}")
        reason = str(row.get("reason") or row.get("check") or "")
        column = str(row.get("column") or "")
        if column and reason.startswith(f"{column} "):  # the column is named already
            reason = reason[len(column) + 1 :]
        value = row.get("value")
        shown = f" (value {value!r})" if value not in (None, "None") and str(value) not in str(reason) else ""
        out.append(f"{', '.join(where)}: {reason}{shown}")
    if len(rows) > limit:
        out.append(f"... {len(rows) - limit} more in the check's metadata (Dagster UI) and quarantine_summary")
    return out


def check_problems(evaluation: Any) -> list[str]:
    """A failed check as lines: what failed, then the first rows with file, row, column, rule and value."""
    key = evaluation.asset_key.to_user_string()
    meta = evaluation.metadata or {}
    head = f"check {evaluation.check_name} on {key} failed"
    if evaluation.description:
        head += f": {evaluation.description}"
    lines = [head]
    problems = _value(meta.get("accounting_problems"))
    if problems and problems != "none":
        lines.append(f"  row accounting: {problems}")
    for name in ("failures", "details", "segment_differences"):
        rows = _records(meta.get(name))
        if rows:
            lines += [f"  {line}" for line in row_lines(rows)]
            break
    return lines


def _count(value: Any) -> int | None:
    """A count from check metadata (an int, or text in a table record); None when the check did not count it."""
    value = _value(value)
    return None if value in (None, "None", "") else int(value)


def source_rows(states: Iterable[RunState]) -> list[tuple[str, int | None, int | None, int | None, int | None]]:
    """(source, files, rows read, accepted, quarantined) per source that read a file, from the contract checks;
    a source whose reading failed has no counts (its failure is listed under Problems). A check over several
    landing folders (``icb_system_tests``: rtt_monthly/) gives one row per folder from its ``sources`` table;
    rows read and accepted are None where its reader does not count them."""
    totals: dict[str, list[int | None]] = {}
    for state in states:
        for evaluation in state.checks:
            if evaluation.check_name != "pandera_contract":
                continue
            meta = evaluation.metadata or {}
            name = evaluation.asset_key.to_user_string().removeprefix("ingest_")
            fields = ("files", "rows_read", "rows_accepted", "rows_quarantined")
            parts = _records(meta.get("sources")) or [{"source": name, **{f: meta.get(f) for f in fields}}]
            for part in parts:
                counts = [_count(part.get(field)) for field in fields]
                if not counts[0]:
                    continue
                row = totals.setdefault(str(part["source"]), [0, None, None, 0])
                # --per-quarter runs each read the same files: the largest count, not their sum
                for i, count in enumerate(counts):
                    if count is not None:
                        row[i] = max(row[i] or 0, count)
    failed = {key.removeprefix("ingest_") for state in states for key, _ in state.failures if key.startswith("ingest_")}
    rows: list[tuple[str, int | None, int | None, int | None, int | None]] = [
        (name, *values) for name, values in totals.items()
    ]
    rows += [(name, None, None, None, None) for name in failed - set(totals)]
    return sorted(rows)


def nhs_comparison(states: Iterable[RunState]) -> dict[str, str]:
    """Quarter label -> ``adjusted segment equal to NHS England: 194/195`` where its results were landed."""
    out: dict[str, str] = {}
    for state in states:
        for evaluation in state.checks:
            if evaluation.check_name != "matches_nhs_england":
                continue
            for row in _records((evaluation.metadata or {}).get("by_quarter")):
                out[row["quarter"]] = (
                    f"adjusted segment equal to NHS England: {row['adjusted_segment_equal']}; "
                    f"AMR rank within ±2: {row['amr_rank_within_2']}"
                )
    return out


def change_lines(output: Path) -> dict[str, str]:
    """Quarter label -> segment changes since the previous quarter with their class, from the published
    ``segment_changes`` table where it exists (classified by ``npaf_pipeline.explain.changes``)."""
    folder = output / "segment_changes"
    if not folder.is_dir() or not any(folder.glob("fy=*/quarter=*/*.parquet")):
        return {}
    try:
        import polars as pl

        from npaf_pipeline.explain.changes import national_summary
        from npaf_pipeline.partitions import plain_partitions
    except ImportError:
        return {}
    try:
        changes = plain_partitions(pl.read_parquet(folder / "**" / "*.parquet", hive_partitioning=False))
        summary = national_summary(changes).filter(pl.col("org_type") == "all")
    except (pl.exceptions.PolarsError, KeyError) as exc:  # a table from another version: say so, do not stop
        return {"*": f"segment changes not summarised: {type(exc).__name__}: {exc}"}
    out = {}
    for row in summary.iter_rows(named=True):
        text = f"segment changes since the previous quarter: {row['changed']} of {row['organisations']}"
        if row["changed"]:
            text += (
                f" ({row['changed_up']} to a better segment, {row['changed_down']} to a worse): "
                f"{row['override']} override, {row['significant']} significant, "
                f"{row['not_significant']} not significant"
            )
        out[row["quarter_label"]] = text
    return out


def _part_file(output: Path, table: str, quarter: Quarter) -> Path:
    """A published table's file for one quarter, by the partition layout alone (imported here, like polars in this
    module, so that loading the module for ``npaf backfill`` costs nothing until the summary runs)."""
    from npaf_pipeline.partitions import PART_FILE, partition_unit

    return output / partition_unit(table, quarter) / PART_FILE


def _published(output: Path, quarter: Quarter) -> bool:
    """Whether the quarter's segmentation is published (what its successor's segment changes compare with)."""
    return _part_file(output, "organisation_segmentation", quarter).exists()


def segments(output: Path, quarter: Quarter) -> tuple[int, dict[int, int], str]:
    """Organisations, final-segment counts and the ICB line of one published quarter (0 and {} when absent)."""
    import polars as pl

    path = _part_file(output, "organisation_segmentation", quarter)
    if not path.exists():
        return 0, {}, ""
    seg = pl.read_parquet(path)
    counts = {int(v): n for v, n in seg.group_by("final_segment").len().iter_rows() if v is not None}
    return seg.height, counts, _icb_line(pl, output, quarter, seg)


def _icb_line(pl: Any, output: Path, quarter: Quarter, seg: Any) -> str:
    """For runs that assess ICBs: ICBs segmented, system tests failed, ICBs the system adjustment moved."""
    path = _part_file(output, "system_considerations", quarter)
    if not path.exists():
        return ""
    tests = pl.read_parquet(path, columns=["failed"])
    if tests.is_empty():
        return ""
    icbs = seg.filter(pl.col("org_type") == "icb")
    moved = icbs.filter(pl.col("system_adjusted_segment") != pl.col("unadjusted_segment")).height
    failed = int(tests["failed"].sum())
    return f"ICBs {icbs.height}: {failed} system test(s) failed, {moved} ICB(s) moved by the system adjustment"


def print_summary(
    plan: Plan, runs: Sequence[tuple[list[str], RunState]], elapsed: float, debug: bool, out: Any = None
) -> list[str]:
    """Print the summary; return the labels of the quarters that failed."""
    out = out or sys.stdout
    states = [state for _, state in runs]
    by_key = {key: state for keys, state in runs for key in keys}

    def say(text: str = "") -> None:
        print(text, file=out)

    say()
    say(f"Landing   {plan.landing.resolve()}")
    say(f"Output    {plan.output.resolve()}")
    say(f"Rule set  {plan.rule_set}")
    say(f"Run(s)    {', '.join(s.run_id for s in states)}")
    rows = source_rows(states)
    if rows:
        say()
        say(f"{'source':<22} {'files':>6} {'rows read':>10} {'accepted':>10} {'quarantined':>12}")
        for name, files, read, accepted, quarantined in rows:
            if files is None:
                say(f"{name:<22} {'failed: see Problems':>41}")
            else:
                say(f"{name:<22} {files:>6} {_shown(read):>10} {_shown(accepted):>10} {_shown(quarantined):>12}")
    comparisons = nhs_comparison(states)
    changes = change_lines(plan.output)
    if "*" in changes:
        say()
        say(changes.pop("*"))
    say()
    say(f"{'quarter':<11} {'status':<8} {'orgs':>5} " + " ".join(f"{'seg ' + str(s):>6}" for s in range(1, 6)))
    failed: list[str] = []
    for quarter in plan.quarters:
        state = by_key[quarter.partition_key]
        orgs, counts, icb = segments(plan.output, quarter) if state.success else (0, {}, "")
        if not state.success:
            failed.append(quarter.label)
            say(f"{quarter.label:<11} FAILED")
            continue
        if orgs == 0:
            say(f"{quarter.label:<11} {'no data':<8}     - (the landing zone holds no organisations for this quarter)")
            continue
        say(f"{quarter.label:<11} {'ok':<8} {orgs:>5} " + " ".join(f"{counts.get(s, 0):>6}" for s in range(1, 6)))
        change, previous = changes.get(quarter.label), quarter.shift(-1)
        if change is None and changes and not _published(plan.output, previous):
            change = f"segment changes since the previous quarter: not known ({previous.label} is not published)"
        for line in (comparisons.get(quarter.label), change, icb):
            if line:
                say(f"    {line}")
    problems = problem_lines(states, debug)
    here = f"{Path.cwd()}{os.sep}"  # paths under the current folder are shown relative to it, as typed
    if problems:
        say()
        say("Problems:")
        for line in problems:
            say(f"  {line.replace(here, '')}")
    say()
    say(f"{len(plan.quarters)} quarter(s) in {elapsed:.1f} s; outputs in {str(plan.output).removeprefix(here)}")
    return failed


def _shown(count: int | None) -> str:
    """A count with thousands separators; ``-`` where the reader does not count it."""
    return "-" if count is None else f"{count:,}"


def problem_lines(states: Iterable[RunState], debug: bool) -> list[str]:
    """Each failed step with its file and reason, then each failed or warning check with its first rows."""
    lines: list[str] = []
    seen: set[str] = set()
    for state in states:
        for key, error in state.failures:
            if _innermost(error).cls_name == "DagsterAssetCheckFailedError":
                continue  # a blocking check stopped the step: the check's own lines below say what and where
            text = f"{key}: {reason_of(error)}"
            if text not in seen:
                seen.add(text)
                lines.append(text)
                if debug:
                    lines += ["    " + line for line in str(error).splitlines()]
        if state.run_error is not None and not state.failures:
            text = f"run {state.run_id}: {reason_of(state.run_error)}"
            if text not in seen:
                seen.add(text)
                lines.append(text)
        elif not state.success and not state.failures and all(e.passed for e in state.checks):
            lines.append(f"run {state.run_id} ended ({state.status}) with no step failed; its log in the UI says why")
        for evaluation in state.checks:
            if evaluation.passed:
                continue
            block = check_problems(evaluation)
            if block[0] not in seen:
                seen.add(block[0])
                lines += block
    return lines
