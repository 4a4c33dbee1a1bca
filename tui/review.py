"""What a reviewer selects: a time range, an actor, a view, a source, a rule, an outcome.
One definition serves `triage report`, `triage replay` and `triage export decisions`, so every
figure in a report can be traced to the rows the export lists. Headless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from playbooks.model import parse_duration
from tui.timefmt import iso

BOOKKEEPING = ("note", "claim", "release")  # logged, but they decide nothing
OUTCOMES = ("accepted", "edited", "overridden", "none_offered")


class FilterError(ValueError):
    """A filter value that cannot be read; the message names the flag."""


def parse_when(flag: str, value: str, now: datetime) -> datetime:
    """'2026-11-26', '2026-11-26T09:00', '2026-11-26T09:00:00Z', or '24h' / '7d' ago."""
    try:
        return now - parse_duration(value)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            f"{flag}: expected a date/time like 2026-11-26T09:00 or an age like 24h, got {value!r}"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    view: str | None = None
    source: str | None = None  # a configured source name or a network
    rule: str | None = None  # 'rule-id' or 'playbook/rule-id'
    outcome: str | None = None

    def decisions(self, d: str = "d", m: str = "m", s: str = "s") -> tuple[str, list[object]]:
        """SQL over decisions `d` joined with their mention `m` and suggestion `s`."""
        where, args = self._time(f"{d}.decided_at")
        for column, value in (
            (f"{d}.actor", self.actor),
            (f"{d}.view", self.view),
            (f"{d}.outcome", self.outcome),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        where += self._source(m, args)
        if self.rule is not None:
            playbook, _, rule = self.rule.rpartition("/")
            where.append(f"{s}.rule_id = ?")
            args.append(rule)
            if playbook:
                where.append(f"{s}.playbook_id = ?")
                args.append(playbook)
        return " AND ".join(where) or "1", args

    def mentions(self, m: str = "m") -> tuple[str, list[object]]:
        """SQL over mentions: the time range (on arrival) and the source."""
        where, args = self._time(f"{m}.received_at")
        where += self._source(m, args)
        return " AND ".join(where) or "1", args

    def firsts(self, m: str = "m") -> tuple[str, list[object]]:
        """SQL over mentions for their first decision (copied onto the mention): the time
        range on arrival and on that decision, and the source."""
        where, args = self._time(f"{m}.received_at")
        decided, more = self._time(f"{m}.first_at")
        where += [f"{m}.first_at IS NOT NULL", *decided, *self._source(m, more)]
        return " AND ".join(where), [*args, *more]

    @property
    def narrows_decisions(self) -> bool:
        """Filters that only decisions have (a mention has no actor, view, rule or outcome)."""
        return any(v is not None for v in (self.actor, self.view, self.rule, self.outcome))

    def _time(self, column: str) -> tuple[list[str], list[object]]:
        where: list[str] = []
        args: list[object] = []
        if self.since is not None:
            where.append(f"{column} >= ?")
            args.append(iso(self.since))
        if self.until is not None:
            where.append(f"{column} < ?")
            args.append(iso(self.until))
        return where, args

    def _source(self, m: str, args: list[object]) -> list[str]:
        if self.source is None:
            return []
        args += [self.source, self.source]
        return [f"({m}.source_name = ? OR {m}.source = ?)"]

    def describe(self) -> str:
        parts = [
            f"{k}={v}"
            for k, v in (
                ("since", self.since and iso(self.since)),
                ("until", self.until and iso(self.until)),
                ("actor", self.actor),
                ("view", self.view),
                ("source", self.source),
                ("rule", self.rule),
                ("outcome", self.outcome),
            )
            if v
        ]
        return ", ".join(parts) or "everything"
