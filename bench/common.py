"""Timing helpers and the result table. Medians over repeats; ratios are the headline."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    name: str
    unit: str
    ours: float
    baseline_name: str
    baseline: float
    budget: str
    ok: bool

    @property
    def ratio(self) -> float:
        """Baseline / ours for times (higher is better for us)."""
        return self.baseline / self.ours if self.ours else float("inf")


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of `fn()` in seconds."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def table(results: list[Result]) -> str:
    head = f"{'benchmark':<44} {'ours':>12} {'baseline':>12} {'x faster':>9}  {'budget':<22} ok"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.name:<44} {r.ours:>9.2f} {r.unit:<2} {r.baseline:>9.2f} {r.unit:<2} "
            f"{r.ratio:>9.1f}  {r.budget:<22} {'yes' if r.ok else 'NO'}"
        )
        lines.append(f"{'  baseline: ' + r.baseline_name:<44}")
    return "\n".join(lines)
