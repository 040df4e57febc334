"""Timing shared by the benchmark scripts (run them as ``python benchmarks/<name>.py``)."""

from __future__ import annotations

import statistics
import time


def median_time(function, *, repeats: int, warmup: bool = True) -> float:
    """Median wall-clock seconds of ``function()`` over ``repeats`` calls, after one untimed call
    (imports, caches, a cluster's first graph) unless ``warmup`` is False."""
    if warmup:
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
