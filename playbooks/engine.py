"""Match mentions against playbooks and produce ordered suggestions, each with its why.

Minimal engine (Foundation): keyword conditions compile to one word-boundary regex per rule.
The full language and the Aho-Corasick matcher come with the Playbooks issue; the interface
(`Engine.suggest(mention) -> list[Suggestion]`) stays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from string import Template
from typing import Any

from playbooks.loader import LoadedPlaybook
from playbooks.model import PRIORITY_RANK, Rule, parse_duration
from sources.model import Mention


@dataclass(frozen=True)
class Suggestion:
    playbook_id: str
    playbook_version: str
    rule_id: str
    action: str
    params: dict[str, Any]
    priority: str
    sla: timedelta | None
    why: str
    tags: tuple[str, ...] = field(default=())


def _terms(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternation = "|".join(re.escape(t.strip()) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class _Compiled:
    loaded: LoadedPlaybook
    rule: Rule
    any: re.Pattern[str] | None
    all: tuple[re.Pattern[str], ...]
    none: re.Pattern[str] | None
    sla: timedelta | None

    @classmethod
    def of(cls, loaded: LoadedPlaybook, rule: Rule) -> _Compiled:
        when = rule.when
        all_terms = tuple(p for t in when.all if (p := _terms((t,))) is not None)
        sla = parse_duration(rule.then.sla) if rule.then.sla else None
        return cls(loaded, rule, _terms(when.any), all_terms, _terms(when.none), sla)

    def why(self, mention: Mention, haystack: str) -> str | None:
        """The reasons this rule matches, in words, or None if it does not."""
        when, reasons = self.rule.when, []
        if when.sources:
            if mention.source not in when.sources:
                return None
            reasons.append(f"source is {mention.source}")
        if when.languages:
            if (mention.language or "") not in when.languages:
                return None
            reasons.append(f"language is {mention.language}")
        if self.any is not None:
            found = _found(self.any, haystack)
            if not found:
                return None
            reasons.append("mentions " + ", ".join(f'"{f}"' for f in found))
        for pattern in self.all:
            found = _found(pattern, haystack)
            if not found:
                return None
            reasons.append(f'mentions "{found[0]}"')
        if self.none is not None and self.none.search(haystack):
            return None
        return "; ".join(reasons) or "always (no conditions)"


def _found(pattern: re.Pattern[str], text: str) -> list[str]:
    return list(dict.fromkeys(m.lower() for m in pattern.findall(text)))


class Engine:
    """All loaded playbooks, compiled once; `suggest` is pure and safe to call in a thread."""

    def __init__(self, playbooks: list[LoadedPlaybook]) -> None:
        compiled = [_Compiled.of(p, r) for p in playbooks for r in p.playbook.rules]
        self._rules = [c for c in compiled if not c.rule.fallback]
        self._fallbacks = [c for c in compiled if c.rule.fallback]

    def suggest(self, mention: Mention) -> list[Suggestion]:
        """Suggestions for `mention`, most urgent first; ties keep playbook and rule order."""
        haystack = f"{mention.title or ''}\n{mention.text}"
        out = self._fire(self._rules, mention, haystack)
        if not out:
            out = self._fire(self._fallbacks, mention, haystack)
        return sorted(out, key=lambda s: PRIORITY_RANK[s.priority])

    def _fire(self, rules: list[_Compiled], mention: Mention, haystack: str) -> list[Suggestion]:
        out = []
        for compiled in rules:
            why = compiled.why(mention, haystack)
            if why is not None:
                out.append(_suggestion(compiled, mention, why))
        return out


def _suggestion(compiled: _Compiled, mention: Mention, why: str) -> Suggestion:
    then = compiled.rule.then
    params: dict[str, Any] = {}
    if then.team:
        params["team"] = then.team
    if then.reason:
        params["reason"] = then.reason
    if then.tags:
        params["tags"] = list(then.tags)
    if then.reply:
        params["reply"] = render_template(then.reply, mention)
    return Suggestion(
        playbook_id=compiled.loaded.playbook.id,
        playbook_version=compiled.loaded.version,
        rule_id=compiled.rule.id,
        action=then.action,
        params=params,
        priority=then.priority,
        sla=compiled.sla,
        why=why,
        tags=then.tags,
    )


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
