"""Match mentions against playbooks and produce ordered suggestions, each with its why.

How several matching rules combine (documented in the README): every rule that matches makes a
suggestion; each has a score, its priority's base (urgent 300, high 200, normal 100, low 0)
plus the rule's `weight`; suggestions are ordered by score, ties in playbook and rule order
(playbooks load in file-name order). The first is the top suggestion, what `a` accepts.
Fallback rules fire only when no other rule did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from string import Template
from typing import Any, NamedTuple

from playbooks.conditions import Compiled, Context, triggers
from playbooks.loader import LoadedPlaybook
from playbooks.matcher import Found, KeywordMatcher
from playbooks.model import PRIORITY_SCORE, Rule, When, parse_duration
from sources.model import Mention


class Suggestion(NamedTuple):
    """A named tuple: made 1.6 times a mention on average, and a frozen dataclass costs
    ~1.5 us more to make (bench.rules)."""

    playbook_id: str
    playbook_version: str
    rule_id: str
    action: str
    params: dict[str, Any]
    priority: str
    sla: timedelta | None
    why: str
    score: int


@dataclass(frozen=True)
class _Rule:
    order: int
    loaded: LoadedPlaybook
    rule: Rule
    when: Compiled
    priority: str
    sla: timedelta | None
    score: int
    params: dict[str, Any]  # everything but the rendered reply, worked out once
    fixed: tuple[str, str, str, str]  # playbook id and version, rule id, action: as suggested


def _terms(when: When) -> Iterable[str]:
    yield from when.any
    yield from when.all
    yield from when.none
    for regex in when.regex:
        if not isinstance(regex, str):
            yield from regex.prefilter
    for child in (*when.all_of, *when.any_of, *([when.not_] if when.not_ else [])):
        yield from _terms(child)


class Engine:
    """All loaded playbooks, compiled once; `suggest` is pure and safe to call in a thread."""

    def __init__(self, playbooks: list[LoadedPlaybook]) -> None:
        self.playbooks = playbooks
        rules = [_compile(i, p, r) for i, (p, r) in enumerate(_rules(playbooks))]
        self._matcher = KeywordMatcher(t for r in rules for t in _terms(r.rule.when))
        self._always: list[_Rule] = []  # rules that must be evaluated for every mention
        # Which rules a term wakes: found as a word, or anywhere (a regex's prefilter).
        self._by_word: dict[str, list[_Rule]] = {}
        self._by_substring: dict[str, list[_Rule]] = {}
        for rule in rules:
            if rule.rule.fallback:
                continue
            wake = triggers(rule.rule.when)
            if wake is None:
                self._always.append(rule)
            for as_word, term in wake or ():
                woken = self._by_word if as_word else self._by_substring
                woken.setdefault(term, []).append(rule)
        self._fallbacks = [r for r in rules if r.rule.fallback]

    def suggest(self, mention: Mention, now: datetime | None = None) -> list[Suggestion]:
        """Suggestions for `mention`, best first (see the module docstring for the order)."""
        text = f"{mention.title}\n{mention.text}" if mention.title else mention.text
        arrived = mention.received_at or now or datetime.now(UTC)
        ctx = Context(mention, self._matcher.find(text), text, arrived)
        fired = _fire(self._candidates(ctx.found), ctx) or _fire(self._fallbacks, ctx)
        if len(fired) > 1:
            fired.sort(key=lambda pair: (-pair[0].score, pair[0].order))
        return [_suggestion(rule, mention, why) for rule, why in fired]

    def _candidates(self, found: Found) -> list[_Rule]:
        """The rules that can fire on what was found, in playbook and rule order."""
        rules = {r.order: r for r in self._always}
        for term in found.words:
            for rule in self._by_word.get(term, ()):
                rules[rule.order] = rule
        for term in found.substrings:
            for rule in self._by_substring.get(term, ()):
                rules[rule.order] = rule
        return [rules[order] for order in sorted(rules)]


def _rules(playbooks: list[LoadedPlaybook]) -> Iterable[tuple[LoadedPlaybook, Rule]]:
    for loaded in playbooks:
        for rule in loaded.playbook.rules:
            yield loaded, rule


def _compile(order: int, loaded: LoadedPlaybook, rule: Rule) -> _Rule:
    defaults, then = loaded.playbook.defaults, rule.then
    sla = then.sla or defaults.sla
    priority = then.priority or defaults.priority or "normal"
    params: dict[str, Any] = {}
    for key in ("team", "reason", "queue", "assignee", "snooze"):
        if value := getattr(then, key):
            params[key] = value
    if tags := list(dict.fromkeys((*then.tags, *defaults.tags))):
        params["tags"] = tags
    if then.notify:
        params["notify"] = list(then.notify)
    return _Rule(
        order=order,
        loaded=loaded,
        rule=rule,
        when=Compiled(rule.when),
        priority=priority,
        sla=parse_duration(sla) if sla else None,
        score=PRIORITY_SCORE[priority] + rule.weight,
        params=params,
        fixed=(loaded.playbook.id, loaded.version, rule.id, then.action),
    )


def _fire(rules: Iterable[_Rule], ctx: Context) -> list[tuple[_Rule, str]]:
    out = []
    for rule in rules:
        why = rule.when.why(ctx)
        if why is not None:
            out.append((rule, why))
    return out


def _suggestion(rule: _Rule, mention: Mention, why: str) -> Suggestion:
    params = (
        {**rule.params, "tags": list(rule.params["tags"])}
        if "tags" in rule.params
        else dict(rule.params)
    )
    if reply := rule.rule.then.reply:
        params["reply"] = render_template(reply, mention)
    return Suggestion(*rule.fixed, params, rule.priority, rule.sla, why, rule.score)


def render_template(template: str, mention: Mention) -> str:
    """Substitute the named fields only; there is no attribute access and no code."""
    author = mention.author
    values = {
        "author_name": author.display_name or author.handle,
        "author_handle": author.handle,
        "url": mention.url or "",
        "source": mention.source,
        "source_name": mention.source_name,
        "title": mention.title or "",
        "language": mention.language or "",
    }
    return Template(template).safe_substitute(values)
