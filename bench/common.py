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
    higher_is_better: bool = False  # rates (k/s) rather than times
    # --quick fails below this ratio: far under where we stand today (a gross regression),
    # never on an absolute time. Rows without a baseline have no guard.
    gross: float = 0.1

    @property
    def ratio(self) -> float:
        """How many times better than the baseline we are (> 1: better)."""
        if self.higher_is_better:
            return self.ours / self.baseline if self.baseline else float("inf")
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
    head = f"{'benchmark':<44} {'ours':>12} {'baseline':>12} {'x better':>9}  {'budget':<22} ok"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.name:<44} {r.ours:>9.2f} {r.unit:<2} {r.baseline:>9.2f} {r.unit:<2} "
            f"{r.ratio:>9.1f}  {r.budget:<22} {'yes' if r.ok else 'NO'}"
        )
        lines.append(f"{'  baseline: ' + r.baseline_name:<44}")
    return "\n".join(lines)
