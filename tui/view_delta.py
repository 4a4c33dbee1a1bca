"""A view brought up to date by what changed, instead of read again whole. Headless.

Reading a view of a million mentions takes ~0.35 s (tui.store.queue_ids), and a desk did it
on every change anywhere: each arrival, each colleague's claim. Most changes touch a few
mentions: those that arrived, and those a decision was logged for. Each of them either
joins the view, leaves it or stays where it is; where it goes follows from its sort keys,
which never change after ingest (`Sort.fixed`), by a binary search over the ids in order.
The search reads the keys of the ids it visits, all searches in step: one query per step,
about twenty steps at a million, whatever the number of changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

Key = tuple[Any, ...]
KeyReader = Callable[[list[int]], Awaitable[dict[int, Key]]]


class Stale(Exception):
    """A mention the search visited has no keys any more: read the view whole."""


@dataclass(frozen=True)
class Delta:
    """What to do to the ids in order: remove those at `gone` (positions), and insert each of
    `joined` (position in the list as it was, id) before what was there, in this order."""

    gone: list[int]
    joined: list[tuple[int, int]]

    def __bool__(self) -> bool:
        return bool(self.gone or self.joined)


async def delta(
    ids: Sequence[int],
    changed: dict[int, Key],
    passing: Collection[int],
    keys: KeyReader,
    descending: bool,
) -> Delta:
    """`changed`: the keys of the mentions that may have moved in or out; `passing`: which of
    them the view shows now; `keys` reads the keys of ids in the list."""
    at = await _positions(ids, changed, keys, descending)
    in_order = sorted(at, key=changed.__getitem__, reverse=descending)
    in_order.sort(key=at.__getitem__)  # stable: mentions joining at one place stay in order
    gone, joined = [], []
    for mention_id in in_order:
        index = at[mention_id]
        present = index < len(ids) and ids[index] == mention_id
        if present and mention_id not in passing:
            gone.append(index)
        elif not present and mention_id in passing:
            joined.append((index, mention_id))
    return Delta(gone, joined)


async def _positions(
    ids: Sequence[int], targets: dict[int, Key], keys: KeyReader, descending: bool
) -> dict[int, int]:
    """Where each target is or would be (bisect-left by key), all searched in step."""
    lo = dict.fromkeys(targets, 0)
    hi = dict.fromkeys(targets, len(ids))
    known: dict[int, Key] = dict(targets)
    while searching := [t for t in targets if lo[t] < hi[t]]:
        wanted = {ids[(lo[t] + hi[t]) // 2] for t in searching} - known.keys()
        if wanted:
            known.update(await keys(list(wanted)))
        for t in searching:
            mid = (lo[t] + hi[t]) // 2
            probe = known.get(ids[mid])
            if probe is None:
                raise Stale(f"mention {ids[mid]} has no sort keys")
            if (probe > targets[t]) if descending else (probe < targets[t]):
                lo[t] = mid + 1
            else:
                hi[t] = mid
    return lo


def applied(ids: list[int], change: Delta) -> list[int]:
    """The ids after `change`: one pass, a copy (a few memmoves of a million ids cost about
    as much as one pass, and the copy leaves the list a reader may hold alone)."""
    out: list[int] = []
    start = 0
    gone = set(change.gone)
    cuts = sorted({*change.gone, *(i for i, _ in change.joined)})
    joining = change.joined
    j = 0
    for cut in cuts:
        out.extend(ids[start:cut])
        while j < len(joining) and joining[j][0] == cut:
            out.append(joining[j][1])
            j += 1
        start = cut + 1 if cut in gone else cut
    out.extend(ids[start:])
    return out
