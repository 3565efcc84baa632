"""Where the engine's memory goes: ``python -m benchmarks.memprofile <inputs folder>`` prints JSON.

``engine.run`` scores a long range in batches of quarters. A thread samples the resident set every 5 ms while
the stages of the first batch run one after the other (each stage's peak above the resident set with the
inputs read), then while ``run`` does the whole range (its peak); the frames ``run`` returns are measured as
returned (compact) and as the stages give them (text, ``Int64``), so the report can show how much of the peak is
the result.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.workloads import rss_mb


class PeakSampler:
    """Highest resident set seen since the last :meth:`reset`, sampled by a background thread."""

    def __init__(self, every: float = 0.005):
        self.every, self.peak, self._stop = every, rss_mb(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(self.every)

    def reset(self) -> float:
        peak, self.peak = max(self.peak, rss_mb()), rss_mb()
        return peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def profile_run(folder: Path) -> dict[str, Any]:
    """``run`` over the whole range: its peak and the frames it returns."""
    from benchmarks.inputs import read_inputs
    from npaf_pipeline.engine.pipeline import run
    from npaf_pipeline.ruleset import load_ruleset

    rs = load_ruleset("nof-2025-26")
    data = read_inputs(folder)
    gc.collect()
    start = rss_mb()
    sampler = PeakSampler()
    sampler.reset()
    mark = time.perf_counter()
    result = run(data.values, data.orgs, rs, data.flags, with_ranges=False)
    whole = {"seconds": time.perf_counter() - mark, "peak_mb": sampler.reset() - start}
    sampler.stop()
    frames = result.frames()
    text = result.as_text().frames()
    return {
        "size": folder.name,
        "inputs_mb": data.decoded_mb,
        "run": whole,
        "result_mb": {name: f.estimated_size() / 2**20 for name, f in frames.items()},
        "result_text_mb": {name: f.estimated_size() / 2**20 for name, f in text.items()},
        "result_dtypes": {name: {c: str(t) for c, t in f.schema.items()} for name, f in frames.items()},
    }


def profile_stages(folder: Path) -> dict[str, Any]:
    """The stages of ``run``'s first batch of quarters, one after the other: each one's peak."""
    from benchmarks.inputs import read_inputs
    from npaf_pipeline.engine import pipeline
    from npaf_pipeline.ruleset import load_ruleset

    rs = load_ruleset("nof-2025-26")
    data = read_inputs(folder)
    first = pipeline.quarter_batches(data.values, pipeline.BATCH_ROWS)[0]
    values = data.values.filter(data.values["quarter"].is_in(first))
    gc.collect()
    start = rss_mb()
    sampler = PeakSampler()
    stages: dict[str, dict[str, float]] = {}
    sampler.reset()
    mark = time.perf_counter()
    scored = pipeline.score_stage(values, data.orgs, rs)
    stages["score_stage"] = {"seconds": time.perf_counter() - mark, "peak_mb": sampler.reset() - start}
    mark = time.perf_counter()
    agg = pipeline.aggregate_stage(scored.metric_scores, rs)
    stages["aggregate_stage"] = {"seconds": time.perf_counter() - mark, "peak_mb": sampler.reset() - start}
    mark = time.perf_counter()
    pipeline.segment_stage(agg, values, rs, data.flags, with_ranges=False)
    stages["segment_stage"] = {"seconds": time.perf_counter() - mark, "peak_mb": sampler.reset() - start}
    sampler.stop()
    return {"batch_quarters": len(first), "stages": stages}


if __name__ == "__main__":
    part = {"run": profile_run, "stages": profile_stages}[sys.argv[2]]
    json.dump(part(Path(sys.argv[1])), sys.stdout)
