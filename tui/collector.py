"""The garbage collector, tuned for a desk that must answer a key within a frame.

CPython's collections walk the objects of the generations they collect while holding the GIL.
Once start-up is done, the desk freezes what exists (the app, its widgets, the first view:
never walked again), so a full collection walks only what was made since.

While a feed streams in, Textual makes cyclic garbage fast (each line it draws is a Strip
that caches itself) and ingest keeps a batch of parsed mentions alive at a time. With
CPython's default of a young collection every 700 net new objects, those ran ~70 times a
second and carried the Strips into the older generations: 4.4 s of collecting in a 70 s feed,
full collections of 24 ms every two seconds. At 5,000 (`YOUNG`) the young collections run
about twice a second, most Strips die young, and full collections are rare: 1.1 s of
collecting. Turns over 16 ms: 5 in that 150k feed (22 at 2,000), 1-3 in a 50k feed (13-14 at
700): `bench.ingest`'s desk, timed with `gc.callbacks`. Full collections stay automatic: one a
minute of our own, as the desk ran before, walked a minute of that garbage at once (174-220 ms).
"""

from __future__ import annotations

import gc

YOUNG = 5_000  # net new objects between young collections (CPython's default: 700)
_DEFAULT = gc.get_threshold()


def settle() -> None:
    """Call when start-up (or a first big load) is done: what exists now lives as long as the
    desk. Calling it again freezes what was made since."""
    gc.freeze()
    gc.set_threshold(YOUNG, *_DEFAULT[1:])


def release() -> None:
    """The desk is closing: the collector goes back to its defaults (tests run many desks)."""
    gc.unfreeze()
    gc.set_threshold(*_DEFAULT)
