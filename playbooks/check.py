"""Warnings for playbooks that load but will not behave as their author expects."""

from __future__ import annotations

from collections.abc import Iterator

from playbooks.loader import LoadedPlaybook
from playbooks.model import Regex, When, normalise_term
from playbooks.tomlfile import LocatedError, locate

Loc = tuple[str | int, ...]


def warnings(loaded: LoadedPlaybook) -> list[LocatedError]:
    text = loaded.path.read_text(encoding="utf-8")
    out = []
    for index, rule in enumerate(loaded.playbook.rules):
        for loc, message in _when_warnings(rule.when, ("rules", index, "when")):
            field = ".".join(map(str, loc))
            out.append(LocatedError(loaded.path, locate(text, loc), field, f"warning: {message}"))
    return out


def _when_warnings(when: When, loc: Loc) -> Iterator[tuple[Loc, str]]:
    for i, regex in enumerate(when.regex):
        if isinstance(regex, str) or not regex.prefilter:
            pattern = regex if isinstance(regex, str) else regex.pattern
            yield (
                (*loc, "regex", i),
                f"regex {pattern!r} has no prefilter, so it runs on every mention; "
                f'write it as {{ pattern = ..., prefilter = ["a literal word it needs"] }}',
            )
        elif isinstance(regex, Regex):
            yield from _prefilter_warnings(regex, (*loc, "regex", i))
    both = {normalise_term(t) for t in when.any} & {normalise_term(t) for t in when.none}
    if both:
        yield (*loc, "none"), f"{sorted(both)[0]!r} is in both any and none: the rule never fires"
    for key, children in (("all_of", when.all_of), ("any_of", when.any_of)):
        for i, child in enumerate(children):
            yield from _when_warnings(child, (*loc, key, i))
    if when.not_ is not None:
        yield from _when_warnings(when.not_, (*loc, "not"))


def _prefilter_warnings(regex: Regex, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if any(not p.strip() for p in regex.prefilter):
        yield (*loc, "prefilter"), "an empty prefilter matches everything"
