"""Queue views: a name and a query. Headless.

Foundation subset of the query language (DESIGN §6): `status:new` or `status:done,dismissed`;
an empty query is everything. Anything else is a ViewError that says where, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.records import STATUSES


class ViewError(ValueError):
    def __init__(self, query: str, position: int, message: str) -> None:
        super().__init__(f"{message} (at column {position + 1} of {query!r})")
        self.position = position


@dataclass(frozen=True)
class View:
    name: str
    query: str
    statuses: tuple[str, ...]  # empty: every status


def parse(name: str, query: str) -> View:
    statuses: list[str] = []
    position = 0
    for term in query.split(" "):
        if term:
            field, sep, value = term.partition(":")
            if field != "status" or not sep:
                raise ViewError(query, position, f"unsupported term {term!r}; use status:VALUE")
            for status in value.split(","):
                if status not in STATUSES:
                    known = ", ".join(STATUSES)
                    raise ViewError(query, position, f"unknown status {status!r} (known: {known})")
                statuses.append(status)
        position += len(term) + 1
    return View(name, query, tuple(dict.fromkeys(statuses)))
