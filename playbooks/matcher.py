"""Find every keyword of every playbook in a text with one Aho-Corasick pass.

Matching is case-insensitive (both sides lower-cased, NFC) and word-boundary aware in the
Unicode sense: a keyword matches only where the characters around it are not letters, digits
or underscore (`str.isalnum`, the same rule as `re`'s `\\w`). Scripts written without spaces
(Han, kana, Hangul, Thai) have no word boundaries, so an edge of a keyword in those scripts
matches anywhere. `reference_find` states the same rule with `re`, for the property test.

Why an automaton: with 500 keywords, `re` alternation costs ~50x more per mention (DESIGN §5);
the automaton's cost depends on the text, not on the number of keywords.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Set
from typing import NamedTuple

import ahocorasick

from playbooks.model import normalise_term

_NO_SPACE_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI", "LAO", "KHMER", "MYANMAR")


def is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def unbounded(char: str) -> bool:
    """True for characters of scripts that do not separate words with spaces."""
    return unicodedata.name(char, "").startswith(_NO_SPACE_SCRIPTS)


def haystack(text: str) -> str:
    """The form texts are searched in: NFC, lower case."""
    return unicodedata.normalize("NFC", text).lower()


class Found(NamedTuple):
    """Made for every mention: a named tuple of the sets as built (a frozen dataclass of
    frozen copies cost ~1 us more)."""

    words: Set[str]  # keywords found at word boundaries
    substrings: Set[str]  # every term found anywhere (regex prefilters)


_NOTHING = Found(frozenset(), frozenset())


class KeywordMatcher:
    """All terms compiled into one automaton; `find` is safe to call from any thread."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        self.terms = sorted({normalise_term(t) for t in terms if t.strip()})
        for term in self.terms:
            edges = (unbounded(term[0]), unbounded(term[-1]))
            self._automaton.add_word(term, (term, len(term) - 1, *edges))
        if self.terms:
            self._automaton.make_automaton()

    def find(self, text: str) -> Found:
        if not self.terms:
            return _NOTHING
        hay = " ".join(haystack(text).split())  # as the terms: inner whitespace collapsed
        words: set[str] = set()
        substrings: set[str] = set()
        last = len(hay) - 1
        for end, (term, span, free_left, free_right) in self._automaton.iter(hay):
            substrings.add(term)
            if term in words:
                continue
            start = end - span
            left_ok = free_left or start == 0 or not is_word_char(hay[start - 1])
            right_ok = free_right or end == last or not is_word_char(hay[end + 1])
            if left_ok and right_ok:
                words.add(term)
        return Found(words, substrings)


def reference_find(terms: Iterable[str], text: str) -> frozenset[str]:
    """The obvious implementation of `KeywordMatcher.find(...).words`, one regex per term."""
    hay = " ".join(haystack(text).split())
    found = set()
    for term in {normalise_term(t) for t in terms if t.strip()}:
        left = "" if unbounded(term[0]) else r"(?<!\w)"
        right = "" if unbounded(term[-1]) else r"(?!\w)"
        if re.search(left + re.escape(term) + right, hay):
            found.add(term)
    return frozenset(found)
