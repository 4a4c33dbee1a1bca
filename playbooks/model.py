"""Playbook files, validated: a playbook has ordered rules, a rule a `when` and a `then`.

The models are the format: `triage playbooks schema` publishes them as JSON schema for editors,
and their descriptions are what an editor shows on hover.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import time, timedelta
from string import Template
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

Action = Literal["reply", "escalate", "tag", "dismiss", "route", "assign", "snooze"]
Priority = Literal["urgent", "high", "normal", "low"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EngagementKind = Literal["likes", "reposts", "replies", "quotes", "score"]
PRIORITY_RANK: dict[str, int] = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
# A suggestion's score is its priority's base plus the rule's weight; the highest score is
# the top suggestion. The bases are far apart so a weight tunes order within a priority.
PRIORITY_SCORE: dict[str, int] = {"urgent": 300, "high": 200, "normal": 100, "low": 0}

# What a reply template may name. Filled from the mention; nothing else is reachable.
TEMPLATE_FIELDS = frozenset(
    {"author_name", "author_handle", "url", "source", "source_name", "title", "language"}
)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LONGEST = timedelta(days=3653)  # past this a duration is a typo, and datetimes overflow
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_duration(value: str) -> timedelta:
    """'90s', '15m', '4h', '2d' -> timedelta."""
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"expected a duration like '15m', '4h' or '2d', got {value!r}")
    amount = int(match.group(1))
    if amount * _SECONDS[match.group(2)] > LONGEST.total_seconds():
        raise ValueError(f"{value.strip()!r} is longer than ten years")
    return timedelta(**{_UNITS[match.group(2)]: amount})


def parse_hours(value: str) -> tuple[time, time]:
    """'09:00-17:30' -> (start, end); an end before the start wraps past midnight."""
    match = _HOURS.match(value)
    if not match:
        raise ValueError(f"expected hours like '09:00-17:30', got {value!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"not a time of day in {value!r}")
    return time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)


def _check_duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


Duration = Annotated[str | None, AfterValidator(_check_duration)]


def check_regex(pattern: str) -> str:
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
    return pattern


def normalise_term(term: str) -> str:
    """How keywords are compared: NFC, lower case, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", term).lower().split())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Terms = tuple[str, ...]


class Regex(_Strict):
    """A regular expression with the literal words that must appear for it to be worth running."""

    pattern: str = Field(description="Python regex, matched case-insensitively.")
    prefilter: Terms = Field(
        default=(),
        description="Literal strings, one of which must appear (any case) before the regex runs. "
        "Without one the regex runs on every mention, and `triage playbooks check` warns.",
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        return check_regex(pattern)


class Window(_Strict):
    """When a mention arrived, in a time zone: business hours, weekdays."""

    hours: str | None = Field(default=None, description="'09:00-17:30'; wraps past midnight.")
    weekdays: tuple[Weekday, ...] = Field(default=(), description="e.g. ['mon', 'fri'].")
    timezone: str = Field(default="UTC", description="IANA name, e.g. 'Europe/Berlin'.")

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: str | None) -> str | None:
        if value is not None:
            parse_hours(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class When(_Strict):
    """Conditions. Every condition given must hold; an empty `when` matches every mention."""

    any: Terms = Field(default=(), description="At least one of these words or phrases.")
    all: Terms = Field(default=(), description="Every one of these words or phrases.")
    none: Terms = Field(default=(), description="None of these words or phrases.")
    regex: tuple[str | Regex, ...] = Field(default=(), description="At least one matches.")
    sources: Terms = Field(default=(), description="Networks: mastodon, bluesky, reddit...")
    source_names: Terms = Field(default=(), description="Configured source names.")
    kinds: Terms = Field(default=(), description="post, reply, comment, story, article...")
    languages: Terms = Field(default=(), description="Language codes: en, de, pt-BR...")
    authors: Terms = Field(default=(), description="Author handles, any case.")
    min_followers: int | None = Field(default=None, ge=0)
    max_followers: int | None = Field(default=None, ge=0)
    min_engagement: dict[EngagementKind, int] = Field(
        default={}, description="Thresholds, e.g. {likes = 50, reposts = 10}; any one suffices."
    )
    is_reply: bool | None = None
    has_link: bool | None = None
    hashtags: Terms = Field(default=(), description="At least one of these hashtags (no '#').")
    window: Window | None = Field(default=None, description="Arrival time window.")
    all_of: tuple[When, ...] = Field(default=(), description="Every nested condition holds.")
    any_of: tuple[When, ...] = Field(default=(), description="At least one nested condition.")
    not_: When | None = Field(default=None, alias="not", description="This one must not hold.")

    @field_validator("regex")
    @classmethod
    def _plain_regexes_compile(cls, items: tuple[str | Regex, ...]) -> tuple[str | Regex, ...]:
        for item in items:
            if isinstance(item, str):
                check_regex(item)
        return items

    @field_validator("any", "all", "none", "hashtags", "authors")
    @classmethod
    def _non_empty_terms(cls, terms: Terms) -> Terms:
        if any(not t.strip() for t in terms):
            raise ValueError("words must not be empty")
        return terms


class Then(_Strict):
    """The suggestion a rule makes."""

    action: Action
    priority: Priority | None = Field(
        default=None, description="Default: the playbook's, or normal."
    )
    sla: Duration = Field(default=None, description="Time to first decision: '15m', '4h', '2d'.")
    team: str | None = Field(default=None, description="Who an escalation goes to.")
    reason: str | None = Field(default=None, description="Why a dismissal.")
    queue: str | None = Field(default=None, description="The view a route sends it to.")
    assignee: str | None = Field(default=None, description="Who an assignment goes to.")
    snooze: Duration = Field(default=None, description="How long a snooze lasts: '2h'.")
    tags: Terms = ()
    reply: str | None = Field(default=None, description="Reply template: $author_name, $url...")
    notify: Terms = Field(
        default=(), description="Teams told (through their [teams] target) when this is decided."
    )

    @field_validator("reply")
    @classmethod
    def _known_fields(cls, value: str | None) -> str | None:
        if value is None:
            return None
        template = Template(value)
        if not template.is_valid():
            raise ValueError("invalid template: a '$' must start a $field name (write $$ for '$')")
        unknown = sorted(set(template.get_identifiers()) - TEMPLATE_FIELDS)
        if unknown:
            known = ", ".join(f"${f}" for f in sorted(TEMPLATE_FIELDS))
            raise ValueError(f"unknown template field ${unknown[0]} (known: {known})")
        return value

    @model_validator(mode="after")
    def _action_needs(self) -> Then:
        needs = {
            "escalate": "team",
            "dismiss": "reason",
            "reply": "reply",
            "route": "queue",
            "assign": "assignee",
            "snooze": "snooze",
            "tag": "tags",
        }
        field = needs[self.action]
        if not getattr(self, field):
            raise ValueError(f"action {self.action!r} needs then.{field}")
        return self


class Defaults(_Strict):
    """Applied to every rule of the playbook that does not set its own."""

    priority: Priority | None = None
    sla: Duration = None
    tags: Terms = Field(default=(), description="Added to every rule's tags.")


class Rule(_Strict):
    id: str = Field(min_length=1)
    description: str = ""
    when: When = Field(default_factory=When)
    then: Then
    weight: int = Field(
        default=0, ge=-99, le=99, description="Added to the priority's score to order suggestions."
    )
    fallback: bool = Field(
        default=False, description="Fire only when no other rule in any playbook fired."
    )


class Playbook(_Strict):
    id: str = Field(min_length=1)
    description: str = ""
    defaults: Defaults = Field(default_factory=Defaults)
    rules: tuple[Rule, ...]

    @field_validator("rules")
    @classmethod
    def _has_rules(cls, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        # A validator, not min_length: it runs only when every rule parsed, so a broken rule
        # is not reported twice.
        if not rules:
            raise ValueError("a playbook needs at least one [[rules]] table")
        return rules

    def duplicate_rule_ids(self) -> list[int]:
        """Indexes of rules whose id an earlier rule already has (checked by the loader,
        which can point at the offending line)."""
        seen: set[str] = set()
        out = []
        for index, rule in enumerate(self.rules):
            if rule.id in seen:
                out.append(index)
            seen.add(rule.id)
        return out
