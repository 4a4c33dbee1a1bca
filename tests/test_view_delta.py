"""A view brought up to date by what changed equals the view read again whole."""

from __future__ import annotations

import random

import pytest

from tui.view_delta import Key, Stale, applied, delta


def _world(rng: random.Random, size: int) -> dict[int, Key]:
    """Mentions with keys as a sort makes them: few distinct values, ties broken by the id."""
    return {i: (rng.randrange(4), f"2026-11-{rng.randrange(1, 4):02d}", i) for i in range(size)}


def _in_order(ids: set[int], keys: dict[int, Key], descending: bool) -> list[int]:
    return sorted(ids, key=keys.__getitem__, reverse=descending)


@pytest.mark.parametrize("descending", [False, True])
async def test_a_delta_gives_the_order_a_whole_read_gives(descending: bool) -> None:
    rng = random.Random(5)
    for _ in range(300):
        keys = _world(rng, rng.randrange(0, 60))
        shown = {i for i in keys if rng.random() < 0.5}
        changed = {i for i in keys if rng.random() < 0.2}
        passing = {i for i in changed if rng.random() < 0.5}
        before = _in_order(shown, keys, descending)
        read = _Reader(keys)
        change = await delta(before, {i: keys[i] for i in changed}, passing, read, descending)
        expected = _in_order((shown - changed) | passing, keys, descending)
        assert applied(before, change) == expected
        assert bool(change) == (expected != before)
        assert read.calls <= max(1, len(before)).bit_length()  # one read per step, not per change


class _Reader:
    """Sort keys from a dict, as the store reads them, counting the reads."""

    def __init__(self, keys: dict[int, Key]) -> None:
        self.keys = keys
        self.calls = 0

    async def __call__(self, ids: list[int]) -> dict[int, Key]:
        self.calls += 1
        return {i: self.keys[i] for i in ids if i in self.keys}


async def test_a_visited_mention_without_keys_is_stale() -> None:
    with pytest.raises(Stale):
        await delta([1, 2, 3], {9: (9,)}, {9}, _Reader({}), descending=False)


def test_applied_keeps_the_list_it_was_given() -> None:
    from tui.view_delta import Delta

    ids = [10, 20, 30]
    assert applied(ids, Delta(gone=[1], joined=[(1, 15), (3, 40)])) == [10, 15, 30, 40]
    assert ids == [10, 20, 30]
