"""Where the engine's memory goes: ``python -m benchmarks.memprofile <inputs folder>`` prints JSON.

The engine's stages run one after the other while a thread samples the resident set every 5 ms; for each
stage the peak above the resident set before the run (the inputs already read) and the size of the frames it
returns, so that the report can show which stage sets the peak and how much of it is the result.
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


def profile(folder: Path) -> dict[str, Any]:
    from benchmarks.inputs import read_inputs
    from npaf_pipeline.engine.pipeline import aggregate_stage, score_stage, segment_stage
    from npaf_pipeline.ruleset import load_ruleset

    rs = load_ruleset("nof-2025-26")
    data = read_inputs(folder)
    gc.collect()
    start = rss_mb()
    sampler = PeakSampler()
    stages: dict[str, dict[str, float]] = {}
    sampler.reset()
    mark = time.perf_counter()
    scored = score_stage(data.values, data.orgs, rs)
    stages["score_stage"] = {"seconds": time.perf_counter() - mark, "peak_mb": sampler.reset() - start}
    mark = time.perf_counter()
    agg = aggregate_stage(scored.metric_scores, rs)
    stages["aggregate_stage"] = {"seconds": time.perf_counter() - mark, "peak_mb": sampler.reset() - start}
    mark = time.perf_counter()
    seg = segment_stage(agg, data.values, rs, data.flags, with_ranges=False)
    stages["segment_stage"] = {"seconds": time.perf_counter() - mark, "peak_mb": sampler.reset() - start}
    sampler.stop()
    frames = {
        "metric_scores": scored.metric_scores,
        "metric_ranks": scored.metric_ranks,
        "type_statistics": scored.type_statistics,
        "items": agg.items,
        "group_scores": agg.group_scores,
        "domain_scores": seg.domain_scores,
        "segmentation": seg.segmentation,
        "cutpoints": seg.cutpoints,
    }
    return {
        "size": folder.name,
        "inputs_mb": data.decoded_mb,
        "stages": stages,
        "result_mb": {name: f.estimated_size() / 2**20 for name, f in frames.items()},
        "result_dtypes": {name: {c: str(t) for c, t in f.schema.items()} for name, f in frames.items()},
    }


if __name__ == "__main__":
    json.dump(profile(Path(sys.argv[1])), sys.stdout)
