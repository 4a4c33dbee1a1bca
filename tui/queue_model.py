"""The queue's windowed model: ordered ids for the view, rows fetched only for what is seen.

Headless. The widget asks `row_at(index)` while drawing; rows not loaded yet draw as a
placeholder, and `missing(start, end)` tells the app which to fetch. The cursor follows its
mention across reloads, so new arrivals above it do not move the responder's place.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from itertools import filterfalse

from tui.records import QueueRow
from tui.view_delta import Delta, applied

_FEW = 8  # removals done one by one (a scan and a memmove each); more make one pass


class QueueModel:
    """Positions are found with `list.index` (a C scan from the top, where the cursor mostly
    is) and membership with a set, so nothing here walks a million ids in Python: a reload
    hands over a set built off the event loop, a decision removes its mention in O(1) set
    work. An index dict of every id cost ~110 ms at a million, on every decision."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.members: set[int] = set()  # the ids, for membership (read-only outside)
        self.version = 0  # counts changes to the ids, for work that spans awaits
        self._rows: dict[int, QueueRow] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, mention_id: object) -> bool:
        return mention_id in self.members

    def replace(self, ids: list[int], cursor: int, members: set[int] | None = None) -> int:
        """Load a new ordering; return where the cursor goes. `members` is `set(ids)`, when
        the caller built it off the event loop.

        The cursor stays on the mention it was on if that is still in the view; otherwise it
        stays at the same position, which is the next mention (auto-advance after a decision).
        """
        current = self.id_at(cursor)
        self.ids = ids
        self.members = set(ids) if members is None else members
        self._rows = {k: v for k, v in self._rows.items() if k in self.members}
        self.version += 1
        return self._follow(current, cursor)

    def apply(self, change: Delta, cursor: int) -> int:
        """What changed since the ids were read (tui.view_delta); return where the cursor goes."""
        current = self.id_at(cursor)
        gone = [self.ids[i] for i in change.gone]
        self.ids = applied(self.ids, change)
        self.members.difference_update(gone)
        self.members.update(mention_id for _, mention_id in change.joined)
        self.forget(gone)
        self.version += 1
        return self._follow(current, cursor)

    def remove(self, gone: Collection[int], cursor: int) -> int:
        """Take mentions out (decided elsewhere or here); return where the cursor goes."""
        current = self.id_at(cursor)
        present = [g for g in gone if g in self.members]
        if len(present) <= _FEW:
            for mention_id in present:
                del self.ids[self.ids.index(mention_id)]
        else:
            self.ids = list(filterfalse(set(present).__contains__, self.ids))
        self.members.difference_update(present)
        self.forget(present)
        self.version += 1
        return self._follow(current, cursor)

    def _follow(self, current: int | None, cursor: int) -> int:
        if current is not None and current in self.members:
            return self.ids.index(current)
        return max(0, min(cursor, len(self.ids) - 1))

    def index_of(self, mention_id: int) -> int | None:
        return self.ids.index(mention_id) if mention_id in self.members else None

    def id_at(self, index: int) -> int | None:
        return self.ids[index] if 0 <= index < len(self.ids) else None

    def row(self, mention_id: int) -> QueueRow | None:
        return self._rows.get(mention_id)

    def row_at(self, index: int) -> QueueRow | None:
        mention_id = self.id_at(index)
        return None if mention_id is None else self._rows.get(mention_id)

    def missing(self, start: int, end: int) -> list[int]:
        return [i for i in self.ids[max(start, 0) : end] if i not in self._rows]

    def update(self, rows: dict[int, QueueRow]) -> None:
        self._rows.update(rows)

    def loaded(self) -> list[int]:
        """Ids whose rows are held: the lines on screen and near it."""
        return list(self._rows)

    def forget(self, ids: Iterable[int]) -> None:
        for mention_id in ids:
            self._rows.pop(mention_id, None)
