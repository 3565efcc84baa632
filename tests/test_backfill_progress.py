"""The progress display follows a live run by reading each event once (a cursor), never the whole log again."""

from __future__ import annotations

import threading
import time
import uuid

import dagster as dg

from assets.commands.progress import PUBLISH_PREFIX, RunState, follow


@dg.op
def ingest() -> int:
    time.sleep(0.6)
    return 1


@dg.op
def publish(context, value: int) -> int:
    for label in ("2025-26 Q1", "2025-26 Q2"):
        context.log.info(f"{PUBLISH_PREFIX}writing {label}")
        time.sleep(0.4)
        context.log.info(f"{PUBLISH_PREFIX}published {label}")
    return value


@dg.op
def broken(context, value: int) -> None:
    time.sleep(0.3)
    raise ValueError("/landing/ae_monthly/Monthly-AE-May-2025.csv: the file is empty")


@dg.job
def small() -> None:
    value = ingest()
    publish(value)
    broken(value)


class CountingInstance:
    """The real instance, with every event record it hands out counted (a re-read shows as a repeat)."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self.seen: list[int] = []
        self.calls = 0

    def get_records_for_run(self, run_id: str, cursor=None, limit=None):
        self.calls += 1
        connection = self.instance.get_records_for_run(run_id, cursor=cursor, limit=limit)
        self.seen += [record.storage_id for record in connection.records]
        return connection

    def get_run_by_id(self, run_id: str):
        return self.instance.get_run_by_id(run_id)


def test_a_live_run_is_followed_reading_each_event_once() -> None:
    with dg.instance_for_test() as instance:
        run_id = str(uuid.uuid4())
        worker = threading.Thread(
            target=lambda: small.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)
        )
        worker.start()
        while instance.get_run_by_id(run_id) is None:
            time.sleep(0.05)
        spy = CountingInstance(instance)
        state = follow(spy, RunState(run_id, "2025-26 Q1 .. 2025-26 Q2"), live=False, quiet=True)
        worker.join()
        assert spy.calls > 3  # it polled while the run was going
        assert len(spy.seen) == len(set(spy.seen))  # no event read twice
        every = [r.storage_id for r in instance.get_records_for_run(run_id, limit=100000).records]
        assert sorted(spy.seen) == sorted(every)  # and none missed
    assert state.finished and not state.success
    assert {k: s.status for k, s in state.steps.items()} == {"ingest": "done", "publish": "done", "broken": "failed"}
    assert state.publish == {"2025-26 Q1": "published", "2025-26 Q2": "published"}
    assert [key for key, _ in state.failures] == ["broken"]
    from assets.commands.summary import problem_lines

    assert problem_lines([state], debug=False) == [
        "broken: /landing/ae_monthly/Monthly-AE-May-2025.csv: the file is empty"
    ]
    with_stack = problem_lines([state], debug=True)
    assert with_stack[0] == "broken: /landing/ae_monthly/Monthly-AE-May-2025.csv: the file is empty"
    assert any("Stack Trace" in line or 'File "' in line for line in with_stack[1:])


def test_the_live_display_says_the_worker_is_starting_until_its_steps_are_known() -> None:
    from rich.console import Console

    from assets.commands.progress import StepState, _LiveDisplay

    state = RunState("run", "2025-26 Q1")
    display = _LiveDisplay(state, "")

    def shown() -> str:
        console = Console(record=True, width=100)
        console.print(display._render())
        return console.export_text()

    assert "starting the run worker, which loads the pipeline" in shown() and "0/? steps" in shown()
    state.steps = {"ingest": StepState(status="running", started=0.0)}
    assert "starting" not in shown() and "running  ingest" in shown()
