"""The queue's windowed model: ordered ids for the view, rows fetched only for what is seen.

Headless. The widget asks `row_at(index)` while drawing; rows not loaded yet draw as a
placeholder, and `missing(start, end)` tells the app which to fetch. The cursor follows its
mention across reloads, so new arrivals above it do not move the responder's place.
"""

from __future__ import annotations

from collections.abc import Iterable

from tui.records import QueueRow


class QueueModel:
    def __init__(self) -> None:
        self.ids: list[int] = []
        self._index: dict[int, int] = {}
        self._rows: dict[int, QueueRow] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, mention_id: object) -> bool:
        return mention_id in self._index

    def replace(self, ids: list[int], cursor: int) -> int:
        """Load a new ordering; return where the cursor goes.

        The cursor stays on the mention it was on if that is still in the view; otherwise it
        stays at the same position, which is the next mention (auto-advance after a decision).
        """
        current = self.ids[cursor] if 0 <= cursor < len(self.ids) else None
        self.ids = ids
        self._index = {mention_id: i for i, mention_id in enumerate(ids)}
        keep = set(ids)
        self._rows = {k: v for k, v in self._rows.items() if k in keep}
        if current is not None and current in self._index:
            return self._index[current]
        return max(0, min(cursor, len(ids) - 1))

    def index_of(self, mention_id: int) -> int | None:
        return self._index.get(mention_id)

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
