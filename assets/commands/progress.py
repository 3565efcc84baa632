"""Follow a launched run through the instance's event log: new events only, shown step by step and quarter by quarter.

Each poll asks the event log for the records after the last cursor (``get_records_for_run(run_id, cursor)``), so a
long run costs one small query per tick, not a re-read of the whole log. The same pass collects what the closing
summary needs (failed steps with their error, check evaluations, publish progress), so the log is read once.
"""

from __future__ import annotations

import ast
import sys
import time
from dataclasses import dataclass, field
from typing import Any

PUBLISH_PREFIX = "publish: "  # log messages of the publish step that report its stages (assets/publish.py)
POLL_S = 0.5
STATUS_POLL_S = 2.0
FINISHED = {"RUN_SUCCESS", "RUN_FAILURE", "RUN_CANCELED"}


@dataclass
class StepState:
    status: str = "waiting"  # waiting, running, done, failed, skipped
    started: float | None = None
    seconds: float | None = None


@dataclass
class RunState:
    """What one run did, built from its events as they arrive."""

    run_id: str
    label: str
    steps: dict[str, StepState] = field(default_factory=dict)
    failures: list[tuple[str, Any]] = field(default_factory=list)  # (step key, SerializableErrorInfo)
    checks: list[Any] = field(default_factory=list)  # AssetCheckEvaluation
    publish: dict[str, str] = field(default_factory=dict)  # quarter label -> stage
    publish_note: str = ""
    run_error: Any = None
    status: str = "STARTING"
    started: float = field(default_factory=time.monotonic)
    events: int = 0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def success(self) -> bool:
        return self.status == "RUN_SUCCESS"

    def counts(self) -> tuple[int, int]:
        done = sum(s.status in ("done", "failed", "skipped") for s in self.steps.values())
        return done, len(self.steps)

    def apply(self, record: Any) -> list[str]:
        """Take one event-log record; return the plain lines it is worth printing when there is no live display."""
        entry = record.event_log_entry
        self.events += 1
        event = entry.dagster_event
        if event is None:
            return self._log_message(entry.user_message or "")
        kind = event.event_type_value
        key = event.step_key
        if kind == "ENGINE_EVENT" and not self.steps:
            planned = event.engine_event_data.metadata.get("step_keys") if event.engine_event_data else None
            if planned is not None:
                for step in ast.literal_eval(planned.value):
                    self.steps.setdefault(step, StepState())
                return [f"  worker started: {len(self.steps)} steps to run"]
        elif kind == "STEP_START" and key:
            step = self.steps.setdefault(key, StepState())
            step.status, step.started = "running", entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED") and key:
            step = self.steps.setdefault(key, StepState())
            step.status = {"STEP_SUCCESS": "done", "STEP_FAILURE": "failed", "STEP_SKIPPED": "skipped"}[kind]
            if step.started is not None:
                step.seconds = entry.timestamp - step.started
            if kind == "STEP_FAILURE":
                self.failures.append((key, event.step_failure_data.error))
            done, total = self.counts()
            took = f" ({step.seconds:.1f} s)" if step.seconds is not None else ""
            return [f"  [{done:>2}/{total}] {key} {step.status}{took}"]
        elif kind == "ASSET_CHECK_EVALUATION":
            self.checks.append(event.asset_check_evaluation_data)
        elif kind in FINISHED:
            self.status = kind
            if kind == "RUN_FAILURE" and event.job_failure_data is not None:
                self.run_error = event.job_failure_data.error
        elif kind in ("RUN_START", "RUN_STARTING", "RUN_ENQUEUED"):
            self.status = kind
        return []

    def _log_message(self, message: str) -> list[str]:
        if not message.startswith(PUBLISH_PREFIX):
            return []
        text = message.removeprefix(PUBLISH_PREFIX)
        # "<stage> <quarter label>" for a quarter's stage, anything else is a note on the whole publish
        stage, _, quarter = text.partition(" ")
        if quarter[:4].isdigit() and " Q" in quarter:
            self.publish[quarter] = stage
        else:
            self.publish_note = text
        return [f"          publish: {text}"]


def follow(instance: Any, state: RunState, live: bool, quiet: bool = False, queued_hint: str = "") -> RunState:
    """Poll the run's new events until it finishes, drawing progress: a live display on a terminal, a line per
    finished step and publish stage otherwise, nothing when ``quiet``."""
    display = _LiveDisplay(state, queued_hint) if live else None
    cursor = None
    last_status = 0.0
    try:
        if display:
            display.start()
        while True:
            connection = instance.get_records_for_run(state.run_id, cursor=cursor, limit=1000)
            for record in connection.records:
                for line in state.apply(record):
                    if display is None and not quiet:
                        print(line, file=sys.stderr, flush=True)
            cursor = connection.cursor
            if connection.has_more:
                continue
            now = time.monotonic()
            if state.finished:
                break
            if now - last_status > STATUS_POLL_S:  # a run worker that died leaves no final event
                last_status = now
                run = instance.get_run_by_id(state.run_id)
                if run is not None and run.is_finished and not state.finished:
                    state.status = {"SUCCESS": "RUN_SUCCESS", "CANCELED": "RUN_CANCELED"}.get(
                        run.status.value, "RUN_FAILURE"
                    )
                    continue  # read any events written before it ended
                if run is not None and run.status.value == "QUEUED":
                    if state.status != "QUEUED" and display is None and not quiet:  # said once, off a terminal too
                        print(f"  run queued{': ' + queued_hint if queued_hint else ''}", file=sys.stderr, flush=True)
                    state.status = "QUEUED"
            if display:
                display.update()
            time.sleep(POLL_S)
    finally:
        if display:
            display.stop()
    return state


class _LiveDisplay:
    """A rich live view: a bar over the steps, the running step, each quarter's publish stage."""

    def __init__(self, state: RunState, queued_hint: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self.state = state
        self.queued_hint = queued_hint
        self.console = Console(stderr=True)
        self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)

    def start(self) -> None:
        self.live.start()

    def update(self) -> None:
        self.live.update(self._render())

    def stop(self) -> None:
        self.live.update(self._render())
        self.live.stop()

    def _render(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        s = self.state
        done, total = s.counts()
        elapsed = time.monotonic() - s.started
        head = Table.grid(padding=(0, 1))
        head.add_row(
            Text(s.label, style="bold"),
            ProgressBar(total=max(total, 1), completed=done, width=30),
            Text(f"{done}/{total or '?'} steps  {elapsed:5.1f} s"),
        )
        rows = [head]
        running = [k for k, st in s.steps.items() if st.status == "running"]
        if s.status == "QUEUED":
            rows.append(Text(f"  queued{': ' + self.queued_hint if self.queued_hint else ''}", style="yellow"))
        elif not s.steps and not s.finished:
            rows.append(Text("  starting the run worker, which loads the pipeline", style="cyan"))
        elif running:
            now = time.time()
            parts = [f"{k} ({now - (s.steps[k].started or now):.1f} s)" for k in running]
            rows.append(Text("  running  " + ", ".join(parts), style="cyan"))
        failed = [k for k, st in s.steps.items() if st.status == "failed"]
        if failed:
            rows.append(Text("  failed   " + ", ".join(failed), style="red"))
        if s.publish:
            rows.append(Text("  publish  " + publish_line(s.publish)))
        elif s.publish_note:
            rows.append(Text(f"  publish  {s.publish_note}"))
        return Group(*rows)


def publish_line(stages: dict[str, str]) -> str:
    """``3/6 quarter(s) published; writing 2025-26 Q4``: one short line however many quarters."""
    done = [q for q, stage in stages.items() if stage == "published"]
    busy = [f"{stage} {q}" for q, stage in stages.items() if stage != "published"]
    text = f"{len(done)} quarter(s) published"
    return f"{text}; {', '.join(busy)}" if busy else text
