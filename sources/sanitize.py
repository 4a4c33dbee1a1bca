"""Neutralise hostile text from the networks, once, at ingest (DESIGN §3 "Untrusted text").

What can arrive in a post and what we do with it:

- terminal escape sequences (CSI colours, OSC 52 clipboard writes, OSC 8 fake links, DCS):
  removed whole, so neither the bytes nor their parameters reach the screen;
- any other C0/C1 control character and DEL: removed (newline and tab survive in body text);
- bidi embeddings, overrides and isolates: removed, so text cannot be visually reordered;
- zero-width spaces, word joiners, BOMs: removed (ZWJ/ZWNJ stay: emoji and scripts need them);
- lone surrogates from `\\ud800`-style JSON: removed, they cannot be encoded for a terminal;
- absurd lengths: capped, with an ellipsis so a reader can tell.

Markup (`[@click=...]`, `[b]`) is *not* touched here: it is harmless text as long as the
renderer never parses it, which `tui.render` guarantees. The raw payload keeps the original.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pydantic import BaseModel

from sources.model import Mention

# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC (ESC ] ... BEL or ST),
# and two-character escapes. The C1 single-byte forms (\x9b CSI, \x9d OSC, \x90 DCS) as well.
# A string sequence without its terminator loses only its introducer (as an ESC pair or a
# control): removing up to the end of the line would hide the author's text after it.
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                     # CSI
    | (?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c)  # OSC DCS SOS PM APC
    | \x1b[ -/]*[0-~]                                    # other ESC sequences
    """,
    re.VERBOSE,
)
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_INVISIBLE = "\u200b\u2060\ufeff\u180e\u00ad"
_CONTROLS_KEEP_NEWLINE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f" + _BIDI + _INVISIBLE + "\ud800-\udfff]"
)
_CONTROLS_ALL = re.compile("[\x00-\x1f\x7f-\x9f" + _BIDI + _INVISIBLE + "\ud800-\udfff]")
# Anything any of the passes below would change (line separators included): most posts have
# none, and for them cleaning is one scan instead of four.
_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f" + _BIDI + _INVISIBLE + "\u2028\u2029\ud800-\udfff]")
_SEPARATORS = re.compile("\r\n|[\r\u2028\u2029\x85]")

TEXT_LIMIT = 20_000
LINE_LIMIT = 500
ELLIPSIS = "…"


def clean_text(value: str, limit: int = TEXT_LIMIT) -> str:
    """Multi-line body text: escapes and controls out, newlines and tabs kept, length capped."""
    if _is_plain(value, "\n\t"):
        return _cap(value, limit)
    value = _ESCAPES.sub("", value)
    value = _SEPARATORS.sub("\n", value)
    value = _CONTROLS_KEEP_NEWLINE.sub("", value)
    return _cap(unicodedata.normalize("NFC", value), limit)


def clean_line(value: str, limit: int = LINE_LIMIT) -> str:
    """Single-line fields (names, handles, titles, urls): like clean_text, on one line."""
    if _is_plain(value, "") and value == value.strip():
        return _cap(value, limit)
    value = _ESCAPES.sub("", value)
    value = _SEPARATORS.sub(" ", value).replace("\n", " ").replace("\t", " ")
    value = _CONTROLS_ALL.sub("", value)
    return _cap(unicodedata.normalize("NFC", value).strip(), limit)


def strip_controls(value: str) -> str:
    """Only the character removal of clean_text (no escape parsing, no caps): a last guard
    for text that should already be clean."""
    return _CONTROLS_KEEP_NEWLINE.sub("", value)


def _is_plain(value: str, allowed: str) -> bool:
    """Nothing to clean: no control, bidi or invisible character (but `allowed`), NFC."""
    found = _SUSPECT.search(value)
    while found is not None and found.group() in allowed:
        found = _SUSPECT.search(value, found.end())
    return found is None and unicodedata.is_normalized("NFC", value)


def _cap(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def _opt_line(value: str | None, limit: int = LINE_LIMIT) -> str | None:
    return None if value is None else clean_line(value, limit)


def sanitize_mention(mention: Mention) -> Mention:
    """A copy of `mention` whose every network-supplied display field is safe to render;
    `mention` itself when nothing needed cleaning (most posts: a copy costs more than the
    cleaning, and mentions are frozen, so sharing is safe)."""
    author = mention.author
    clean_author = {
        "id": _opt_line(author.id),
        "handle": clean_line(author.handle) or "unknown",
        "display_name": _opt_line(author.display_name),
        "url": _opt_line(author.url, 2_000),
    }
    clean: dict[str, Any] = {
        "source": clean_line(mention.source, 100) or "unknown",
        "source_name": clean_line(mention.source_name, 200) or "unknown",
        "native_id": clean_line(mention.native_id, 1_000) or _escaped(mention.native_id),
        "url": _opt_line(mention.url, 2_000),
        "text": clean_text(mention.text),
        "title": _opt_line(mention.title),
        "language": _opt_line(mention.language, 35),
        "content_warning": _opt_line(mention.content_warning),
        "in_reply_to_id": _opt_line(mention.in_reply_to_id, 1_000),
        "thread_id": _opt_line(mention.thread_id, 1_000),
        "hashtags": _lines(mention.hashtags, 200),
        "mentioned_handles": _lines(mention.mentioned_handles, 200),
        "links": _lines(mention.links, 2_000),
    }
    if _unchanged(author, clean_author):
        if _unchanged(mention, clean):
            return mention
    else:
        clean["author"] = author.model_copy(update=clean_author)
    return mention.model_copy(update=clean)


def _lines(values: tuple[str, ...], limit: int) -> tuple[str, ...]:
    """At most 100 single-line values; the same tuple when none needed cleaning."""
    clean = tuple(clean_line(v, limit) for v in values[:100])
    return values if _same_items(values, clean) else clean


def _same_items(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _unchanged(model: BaseModel, clean: dict[str, Any]) -> bool:
    """The cleaners return their argument itself when it was already clean."""
    return all(getattr(model, name) is value for name, value in clean.items())


def _escaped(value: str) -> str:
    """An id made only of characters we remove still needs to stay unique: spell it out."""
    return value.encode("unicode_escape").decode("ascii")
