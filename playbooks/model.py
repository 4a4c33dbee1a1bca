"""Playbook files, validated: a playbook has ordered rules, a rule a `when` and a `then`."""

from __future__ import annotations

import re
from datetime import timedelta
from string import Template
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Action = Literal["reply", "escalate", "tag", "dismiss", "route", "assign", "snooze"]
Priority = Literal["urgent", "high", "normal", "low"]
PRIORITY_RANK: dict[str, int] = {"urgent": 0, "high": 1, "normal": 2, "low": 3}

# What a reply template may name. Filled from the mention; nothing else is reachable.
TEMPLATE_FIELDS = frozenset(
    {"author_name", "author_handle", "url", "source", "source_name", "title", "language"}
)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: str) -> timedelta:
    """'90s', '15m', '4h', '2d' -> timedelta."""
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"expected a duration like '15m', '4h' or '2d', got {value!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Strict):
    """Conditions; all given ones must hold. Empty matches every mention."""

    any: tuple[str, ...] = Field(default=(), description="At least one of these words/phrases.")
    all: tuple[str, ...] = Field(default=(), description="Every one of these words/phrases.")
    none: tuple[str, ...] = Field(default=(), description="None of these words/phrases.")
    sources: tuple[str, ...] = Field(default=(), description="Network kinds, e.g. 'mastodon'.")
    languages: tuple[str, ...] = Field(default=(), description="Language codes, e.g. 'en'.")

    @field_validator("any", "all", "none")
    @classmethod
    def _non_empty_terms(cls, terms: tuple[str, ...]) -> tuple[str, ...]:
        if any(not t.strip() for t in terms):
            raise ValueError("keywords must not be empty")
        return terms


class Then(_Strict):
    """The suggestion a rule makes."""

    action: Action
    priority: Priority = "normal"
    sla: str | None = Field(default=None, description="Time to first decision: '15m', '4h'.")
    team: str | None = Field(default=None, description="Who an escalation goes to.")
    reason: str | None = Field(default=None, description="Why a dismissal.")
    tags: tuple[str, ...] = ()
    reply: str | None = Field(default=None, description="Reply template, $field substitution.")

    @field_validator("sla")
    @classmethod
    def _valid_sla(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

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
        needs = {"escalate": "team", "dismiss": "reason", "reply": "reply"}
        field = needs.get(self.action)
        if field and getattr(self, field) is None:
            raise ValueError(f"action {self.action!r} needs then.{field}")
        return self


class Rule(_Strict):
    id: str = Field(min_length=1)
    description: str = ""
    when: When = Field(default_factory=When)
    then: Then
    fallback: bool = Field(
        default=False, description="Fire only when no other rule in any playbook fired."
    )


class Playbook(_Strict):
    id: str = Field(min_length=1)
    description: str = ""
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
