"""The garbage collector, tuned for a desk that must answer a key within a frame.

CPython's full collections walk every tracked object while holding the GIL. Once start-up is
done, the desk freezes what exists (the app, its widgets, the first view: never walked again),
so a full collection walks only what was made since.

Full collections stay automatic: CPython runs one once the objects that survived into the
oldest generation since the last are a quarter of those that survived it. Textual makes that
garbage fast while a feed streams in (each line it draws is a Strip that caches itself: a
cycle). Running our own full collection once a minute instead, as the desk did, walked a
minute of it at once: 174-220 ms, against 33-40 ms for the longest turn with automatic ones,
a desk fetching a 150k feed for 70 s (`bench.ingest`'s desk, timed with `gc.callbacks`).
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Call when start-up (or a first big load) is done: what exists now lives as long as the
    desk. Calling it again freezes what was made since."""
    gc.freeze()


def release() -> None:
    """The desk is closing: what it froze can be collected again (tests run many desks)."""
    gc.unfreeze()
