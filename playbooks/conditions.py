"""Compile a `when` into checks that say why they hold.

Each check takes the mention's context and returns a reason in words (it holds) or None (it
does not). A compiled `when` holds when all its checks hold; its why is their reasons joined.
Keyword checks only look up the set the automaton found, so their cost does not grow with the
number of keywords.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import NamedTuple
from zoneinfo import ZoneInfo

from playbooks.matcher import Found
from playbooks.model import Regex, When, normalise_term, parse_hours
from sources.model import Mention

ALWAYS = "always (no conditions)"  # the why of a rule whose checks all hold unsaid
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Context(NamedTuple):
    """What the checks of one mention read (a named tuple: one is made per mention)."""

    mention: Mention
    found: Found
    text: str  # title and body, as written (regexes run on this)
    arrived: datetime


Check = Callable[[Context], str | None]


def _quoted(terms: list[str]) -> str:
    return '"' + '", "'.join(terms) + '"'


@dataclass(frozen=True)
class CompiledRegex:
    pattern: re.Pattern[str]
    prefilter: tuple[str, ...]  # normalised; empty: always run

    @classmethod
    def of(cls, item: str | Regex) -> CompiledRegex:
        spec = Regex(pattern=item) if isinstance(item, str) else item
        prefilter = tuple(normalise_term(p) for p in spec.prefilter)
        return cls(re.compile(spec.pattern, re.IGNORECASE), prefilter)

    def search(self, ctx: Context) -> str | None:
        if self.prefilter and not any(p in ctx.found.substrings for p in self.prefilter):
            return None
        match = self.pattern.search(ctx.text)
        return None if match is None else match.group(0)


class Compiled:
    """A `when`, compiled. `why(ctx)` is None when it does not hold."""

    def __init__(self, when: When) -> None:
        self.when = when
        self.checks: list[Check] = []
        self._keywords(when)
        self._regexes(when)
        self._facts(when)
        self._window(when)
        self._nested(when)

    def why(self, ctx: Context) -> str | None:
        if len(self.checks) == 1:  # most rules: one list of keywords
            reason = self.checks[0](ctx)
            return reason or (None if reason is None else ALWAYS)
        reasons = []
        for check in self.checks:
            reason = check(ctx)
            if reason is None:
                return None
            if reason:
                reasons.append(reason)
        return "; ".join(reasons) or ALWAYS

    # -- the kinds of checks ------------------------------------------------------------

    def _keywords(self, when: When) -> None:
        any_terms = [normalise_term(t) for t in when.any]
        all_terms = [normalise_term(t) for t in when.all]
        none_terms = [normalise_term(t) for t in when.none]
        if any_terms:

            def any_check(ctx: Context) -> str | None:
                words = ctx.found.words
                hits = [t for t in any_terms if t in words]
                return f"mentions {_quoted(hits)}" if hits else None

            self.checks.append(any_check)
        if all_terms:

            def all_check(ctx: Context) -> str | None:
                words = ctx.found.words
                ok = all(t in words for t in all_terms)
                return f"mentions all of {_quoted(all_terms)}" if ok else None

            self.checks.append(all_check)
        if none_terms:

            def none_check(ctx: Context) -> str | None:
                words = ctx.found.words
                return None if any(t in words for t in none_terms) else ""

            self.checks.append(none_check)

    def _regexes(self, when: When) -> None:
        if not when.regex:
            return
        regexes = [CompiledRegex.of(r) for r in when.regex]

        def regex_check(ctx: Context) -> str | None:
            for regex in regexes:
                hit = regex.search(ctx)
                if hit is not None:
                    return f'matches /{regex.pattern.pattern}/ ("{hit}")'
            return None

        self.checks.append(regex_check)

    def _facts(self, when: When) -> None:
        """Conditions on the mention's fields rather than its words."""
        add = self.checks.append
        if when.sources:
            add(_member("source is", lambda m: m.source, when.sources))
        if when.source_names:
            add(_member("source name is", lambda m: m.source_name, when.source_names))
        if when.kinds:
            add(_member("kind is", lambda m: m.kind, when.kinds))
        if when.languages:
            languages = {lang.lower() for lang in when.languages}
            add(_member_set("language is", lambda m: (m.language or "").lower(), languages))
        if when.authors:
            handles = {h.lower().lstrip("@") for h in when.authors}
            add(_member_set("author is", lambda m: m.author.handle.lower().lstrip("@"), handles))
        if when.hashtags:
            tags = {t.lower().lstrip("#") for t in when.hashtags}
            add(_hashtags(tags))
        if when.min_followers is not None or when.max_followers is not None:
            add(_followers(when.min_followers, when.max_followers))
        if when.min_engagement:
            add(_engagement({str(k): v for k, v in when.min_engagement.items()}))
        if when.is_reply is not None:
            add(
                _flag(
                    "a reply", "not a reply", when.is_reply, lambda m: m.in_reply_to_id is not None
                )
            )
        if when.has_link is not None:
            add(_flag("has a link", "has no link", when.has_link, lambda m: bool(m.links)))

    def _window(self, when: When) -> None:
        window = when.window
        if window is None:
            return
        zone = ZoneInfo(window.timezone)
        hours = parse_hours(window.hours) if window.hours else None
        days = set(window.weekdays)

        def window_check(ctx: Context) -> str | None:
            local = ctx.arrived.astimezone(zone)
            if days and WEEKDAYS[local.weekday()] not in days:
                return None
            if hours is not None and not _within(local.time(), *hours):
                return None
            return f"arrived {local:%a %H:%M} {window.timezone}"

        self.checks.append(window_check)

    def _nested(self, when: When) -> None:
        every = [Compiled(w) for w in when.all_of]
        some = [Compiled(w) for w in when.any_of]
        negated = Compiled(when.not_) if when.not_ is not None else None
        if every:

            def all_of(ctx: Context) -> str | None:
                reasons = [c.why(ctx) for c in every]
                return None if None in reasons else "(" + "; ".join(r for r in reasons if r) + ")"

            self.checks.append(all_of)
        if some:

            def any_of(ctx: Context) -> str | None:
                for compiled in some:
                    reason = compiled.why(ctx)
                    if reason is not None:
                        return f"({reason})"
                return None

            self.checks.append(any_of)
        if negated is not None:

            def not_check(ctx: Context) -> str | None:
                reason = negated.why(ctx)
                return None if reason is not None else "not (" + _describe(negated.when) + ")"

            self.checks.append(not_check)


Trigger = tuple[bool, str]  # (found as a whole word, else anywhere as a substring; term)


def triggers(when: When) -> frozenset[Trigger] | None:
    """Terms of which at least one must be found for `when` to hold; None if unknown.

    Lets the engine skip rules that cannot fire: most mentions wake only a few rules. Keywords
    must be found as words; regex prefilters anywhere.
    """
    if when.any:
        return frozenset((True, normalise_term(t)) for t in when.any)
    if when.all:
        return frozenset({(True, normalise_term(when.all[0]))})
    if when.regex and all(isinstance(r, Regex) and r.prefilter for r in when.regex):
        prefilters = (p for r in when.regex if isinstance(r, Regex) for p in r.prefilter)
        return frozenset((False, normalise_term(p)) for p in prefilters)
    for child in when.all_of:
        found = triggers(child)
        if found is not None:
            return found
    if when.any_of:
        parts = [triggers(child) for child in when.any_of]
        if all(p is not None for p in parts):
            return frozenset().union(*(p for p in parts if p is not None))
    return None


def _within(now: time, start: time, end: time) -> bool:
    return start <= now < end if start <= end else now >= start or now < end


def _describe(when: When) -> str:
    """A short description of a condition for 'not (...)'."""
    fields = when.model_dump(exclude_defaults=True, by_alias=True)
    return ", ".join(f"{k}={v}" for k, v in fields.items()) or "always"


def _member(label: str, get: Callable[[Mention], str], allowed: tuple[str, ...]) -> Check:
    return _member_set(label, get, set(allowed))


def _member_set(label: str, get: Callable[[Mention], str], allowed: set[str]) -> Check:
    def check(ctx: Context) -> str | None:
        value = get(ctx.mention)
        return f"{label} {value}" if value in allowed else None

    return check


def _hashtags(tags: set[str]) -> Check:
    def check(ctx: Context) -> str | None:
        hits = [t for t in ctx.mention.hashtags if t.lower() in tags]
        return f"tagged #{', #'.join(hits)}" if hits else None

    return check


def _followers(low: int | None, high: int | None) -> Check:
    def check(ctx: Context) -> str | None:
        count = ctx.mention.author.followers
        if (
            count is None
            or (low is not None and count < low)
            or (high is not None and count > high)
        ):
            return None
        return f"author has {count:,} followers"

    return check


def _engagement(minimum: dict[str, int]) -> Check:
    def check(ctx: Context) -> str | None:
        counts = ctx.mention.engagement
        for kind, threshold in minimum.items():
            value = getattr(counts, kind)
            if value is not None and value >= threshold:
                return f"{value} {kind} (>= {threshold})"
        return None

    return check


def _flag(yes: str, no: str, wanted: bool, get: Callable[[Mention], bool]) -> Check:
    def check(ctx: Context) -> str | None:
        return (yes if wanted else no) if get(ctx.mention) == wanted else None

    return check
