"""``npaf backfill``: process a range of quarters through the Dagster code location, with progress and a summary.

Registration imports nothing heavy (``npaf --help`` stays fast); the work is in :func:`_run`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from npaf_pipeline.commands import shipped_rule_sets

DESCRIPTION = """\
Process a range of quarters through the Dagster pipeline and print a summary.

Problems that can be known before the run (a bad quarter or range, a missing landing folder, an output
folder that is a file or cannot be written, an unknown or invalid rule set) stop it at once with one line
and exit 2. The run is launched through the code location (as the Dagster UI launches runs), so it is
listed under the job quarterly_pipeline in the UI. By default the whole range is one run; --per-quarter
runs each quarter on its own, so one bad quarter cannot stop the others. Runs are recorded in the
instance at DAGSTER_HOME (a temporary one, removed afterwards, when it is not set).

Exit status: 0 every quarter published; 1 a quarter failed (each failure is named in the summary);
2 a problem found before the run."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backfill",
        help="process a range of quarters through the Dagster pipeline, with progress and a summary",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--from", dest="first", required=True, help="first quarter, e.g. 2025-26Q1 or '2025-26 Q1'")
    p.add_argument("--to", dest="last", required=True, help="last quarter, e.g. 2026-27Q2")
    p.add_argument("--landing", type=Path, help="landing zone (default: NPAF_LANDING_DIR or build/sample-landing)")
    p.add_argument("--output", type=Path, help="published outputs (default: NPAF_OUTPUT_DIR or build/output)")
    p.add_argument(
        "--framework",
        help=(
            f"rule set: one of {', '.join(shipped_rule_sets())}, or the path of a rule-set YAML file "
            "(default: NPAF_FRAMEWORK or nof-2025-26)"
        ),
    )
    p.add_argument("--per-quarter", action="store_true", help="one run per quarter instead of one run for the range")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show stack traces of failures and errors"
    )
    p.set_defaults(func=_run)


def settings_env(args: argparse.Namespace, environ: dict[str, str]) -> dict[str, str]:
    """The NPAF_* settings of this backfill (options over environment over defaults), paths made absolute so the
    code server and run worker read and write exactly where this command says."""
    landing = args.landing or Path(environ.get("NPAF_LANDING_DIR", "build/sample-landing"))
    output = args.output or Path(environ.get("NPAF_OUTPUT_DIR", "build/output"))
    state = Path(environ["NPAF_STATE_DIR"]) if environ.get("NPAF_STATE_DIR") else output / ".state"
    framework = args.framework or environ.get("NPAF_FRAMEWORK", "nof-2025-26")
    if Path(framework).suffix:  # a YAML path, relative to here
        framework = str(Path(framework).absolute())
    return {
        "NPAF_LANDING_DIR": str(Path(landing).absolute()),
        "NPAF_OUTPUT_DIR": str(Path(output).absolute()),
        "NPAF_STATE_DIR": str(Path(state).absolute()),
        "NPAF_FRAMEWORK": framework,
    }


def _run(args: argparse.Namespace) -> int:
    from assets.commands.preflight import PreflightError, preflight

    environ = dict(os.environ)
    settings = settings_env(args, environ)
    plan = preflight(args.first, args.last, settings, environ)  # raises PreflightError: one line, exit 2

    import dagster as dg

    from assets.commands.launch import (
        JOB,
        START_AT_ONCE,
        InstanceHome,
        Launcher,
        child_env,
        queue_problem,
        queues_runs,
        run_tags,
    )
    from assets.commands.progress import RunState, follow
    from assets.commands.summary import print_summary

    quarters = plan.quarters
    keys = [q.partition_key for q in quarters]
    batches = [[q] for q in quarters] if args.per_quarter else [quarters]
    print(
        f"Backfilling {len(keys)} quarter(s) {quarters[0].label} .. {quarters[-1].label} from {plan.landing} into "
        f"{plan.output} with {plan.rule_set.split(':')[0]} "
        f"({'one run per quarter' if args.per_quarter else 'one run'})",
        file=sys.stderr,
    )
    home = InstanceHome(environ)
    started = time.perf_counter()
    runs: list[tuple[list[str], RunState]] = []
    try:
        launcher = Launcher(child_env(environ, home, settings), home.logs)
        os.environ["DAGSTER_HOME"] = str(home.path)
        with dg.DagsterInstance.get() as instance:
            problem = queue_problem(instance, home.path)
            if problem:  # a run submitted now would wait for a daemon that is not there
                raise PreflightError(problem)
            hint = (
                "this instance queues runs for the Dagster daemon; it is running, so the run starts when the "
                f"daemon picks it up (or launch at once with {START_AT_ONCE})"
                if queues_runs(instance)
                else ""
            )
            live = not args.quiet and sys.stderr.isatty()

            def say(line: str) -> None:  # the seconds before the first step: what is starting
                if not args.quiet:
                    print(line, file=sys.stderr, flush=True)

            for batch in batches:
                labels = [q.label for q in batch]
                say("  launching: the code server loads the pipeline and records the run")
                asked = time.perf_counter()
                run_id = launcher.launch(JOB, run_tags([q.partition_key for q in batch], labels))
                took = time.perf_counter() - asked
                then = "it waits for the Dagster daemon" if hint else "its worker is loading the pipeline"
                say(f"  run {run_id} launched ({took:.1f} s); {then}")
                label = labels[0] if len(labels) == 1 else f"{labels[0]} .. {labels[-1]}"
                state = RunState(run_id, label)
                try:
                    follow(instance, state, live=live, quiet=args.quiet, queued_hint=hint)
                except KeyboardInterrupt:
                    print(f"npaf backfill: stopping run {run_id}", file=sys.stderr)
                    instance.run_launcher.terminate(run_id)  # the run worker lives on in the code server
                    raise
                runs.append(([q.partition_key for q in batch], state))
            elapsed = time.perf_counter() - started
            failed = print_summary(plan, runs, elapsed, args.debug)
    finally:
        if "DAGSTER_HOME" in environ:
            os.environ["DAGSTER_HOME"] = environ["DAGSTER_HOME"]
        else:
            os.environ.pop("DAGSTER_HOME", None)
        home.close()
    if failed:
        print(f"\nnpaf backfill: {len(failed)} quarter(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
