"""Discover source types through the `triage.sources` entry-point group.

Built-ins are registered there too (see pyproject.toml), so a third-party package that
declares an entry point is exactly as first-class as the demo source.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from sources.contract import Source, SourceConfig

GROUP = "triage.sources"


class SourceError(Exception):
    """A source could not be loaded or configured; each problem names its field."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__(
            "; ".join(f"{'.'.join(map(str, loc)) or '(table)'}: {msg}" for loc, msg in problems)
        )
        self.problems = problems


@dataclass(frozen=True)
class SourceType:
    name: str
    target: str  # "module:attr", for `triage sources list`
    distribution: str | None

    def load(self) -> type[Source[Any]]:
        for ep in entry_points(group=GROUP, name=self.name):
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, Source)):
                raise SourceError([(("type",), f"entry point {self.target} is not a Source class")])
            return cls
        raise SourceError([(("type",), f"unknown source type {self.name!r}")])


@cache
def available() -> dict[str, SourceType]:
    """Every registered source type by name."""
    found: dict[str, SourceType] = {}
    for ep in entry_points(group=GROUP):
        dist = ep.dist.name if ep.dist is not None else None
        found.setdefault(ep.name, SourceType(ep.name, ep.value, dist))
    return found


def build(table: dict[str, Any]) -> Source[Any]:
    """Validate one `[[sources]]` table against its type's config model and build the source.

    Raises SourceError listing every problem with its field, e.g. `path: Field required`.
    """
    type_name = table.get("type")
    types = available()
    if not isinstance(type_name, str) or type_name not in types:
        known = ", ".join(sorted(types)) or "none installed"
        raise SourceError([(("type",), f"unknown source type {type_name!r} (known: {known})")])
    cls = types[type_name].load()
    try:
        config = cls.config_model.model_validate(table)
    except ValidationError as exc:
        problems = [(tuple(e["loc"]), e["msg"].removeprefix("Value error, ")) for e in exc.errors()]
        raise SourceError(problems) from None
    return cls(config)


__all__ = ["GROUP", "SourceConfig", "SourceError", "SourceType", "available", "build"]
