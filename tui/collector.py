"""The garbage collector, tuned for a desk that must answer a key within a frame.

CPython's full collections walk every tracked object while holding the GIL: with ingest running
beside the desk they stalled the event loop 29-38 ms now and then (`bench.ingest`, timed with
`gc.callbacks`). Once the long-lived objects exist, the desk freezes them (never walked again)
and turns automatic full collections off; it runs one itself every minute instead, when the few
objects left to walk make it a pause of milliseconds. Cyclic garbage then waits up to a minute.
"""

from __future__ import annotations

import gc

FULL_EVERY = 60.0  # seconds between the desk's own full collections
_NEVER = 1 << 30  # a threshold the third generation never reaches
_DEFAULT = gc.get_threshold()


def settle() -> None:
    """Call when start-up (or a first big load) is done: what exists now lives as long as the
    desk. Calling it again freezes what was made since."""
    gc.freeze()
    young, middle, _ = _DEFAULT
    gc.set_threshold(young, middle, _NEVER)


def release() -> None:
    """The desk is closing: the collector goes back to its defaults (tests run many desks)."""
    gc.unfreeze()
    gc.set_threshold(*_DEFAULT)


def collect() -> None:
    gc.collect()
