"""A bounded set of recently seen ids (PRAW's BoundedSet): enough to drop the overlap
between two polls, without growing for as long as the desk runs."""

from __future__ import annotations

from collections import OrderedDict


class BoundedSet:
    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._items: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """Remember `key`; True when it is new."""
        if key in self._items:
            self._items.move_to_end(key)
            return False
        self._items[key] = None
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)
