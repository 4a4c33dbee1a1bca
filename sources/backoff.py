"""Capped exponential backoff with full jitter: retrying clients spread out instead of
stampeding a recovering server together."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base: float = 2.0
    cap: float = 900.0
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def next(self, floor: float = 0.0) -> float:
        """Seconds to wait after one more failure: between half and all of base·2ⁿ (capped),
        never less than `floor` (a server's own `Retry-After`, a block's minimum)."""
        self.failures += 1
        ceiling = min(self.cap, self.base * 2.0 ** min(self.failures - 1, 30))
        return max(floor, ceiling * self.rng.uniform(0.5, 1.0))

    def reset(self) -> None:
        self.failures = 0
