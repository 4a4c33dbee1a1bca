"""Untrusted text (DESIGN §3): escapes, controls, bidi and length neutralised at ingest."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from hypothesis import assume, example, given
from hypothesis import strategies as st

from sources.model import Author, Mention
from sources.sanitize import TEXT_LIMIT, clean_line, clean_text, sanitize_mention

HOSTILE = "[@click=app.quit]boom[/] \x1b]52;c;aGk=\x07 [/oops]"
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b\ufeff]")


def test_osc52_clipboard_write_is_removed_whole_and_markup_is_kept_literally() -> None:
    assert clean_text(HOSTILE) == "[@click=app.quit]boom[/]  [/oops]"


def test_csi_colour_and_osc8_link_sequences_are_removed() -> None:
    text = "\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
    assert clean_text(text) == "red click"


def test_c1_controls_and_single_byte_csi_are_removed() -> None:
    assert clean_text("a\x9b31mb\x85c\x90dcs\x9cd") == "ab\ncd"


def test_bidi_overrides_and_zero_width_spaces_are_removed_but_zwj_emoji_survive() -> None:
    family = "👨\u200d👩\u200d👧"
    assert clean_text("abc\u202edcba\u2066x\u2069\u200b" + family) == "abcdcbax" + family


def test_newlines_and_tabs_survive_in_body_but_not_in_single_line_fields() -> None:
    assert clean_text("one\r\ntwo\tthree\u2028four") == "one\ntwo\tthree\nfour"
    assert clean_line("  Pat\nExample\t(bot)\r ") == "Pat Example (bot)"


def test_absurd_length_is_capped_with_a_visible_ellipsis() -> None:
    out = clean_text("x" * (TEXT_LIMIT * 50))
    assert len(out) == TEXT_LIMIT
    assert out.endswith("…")


def test_lone_surrogates_are_dropped() -> None:
    assert clean_text("ok\ud800fine") == "okfine"


def test_sanitize_mention_cleans_every_display_field_and_keeps_raw() -> None:
    raw = {"content": HOSTILE}
    mention = Mention(
        source="mastodon",
        source_name="m",
        native_id="1",
        created_at=datetime.now(UTC),
        author=Author(handle="x\x1b[2Jy", display_name="\u202eevil"),
        text=HOSTILE,
        title="t\x07",
        links=("https://a.example/\x1b[1m",),
        raw=raw,
    )
    clean = sanitize_mention(mention)
    assert clean.author.handle == "xy"
    assert clean.author.display_name == "evil"
    assert clean.title == "t"
    assert clean.links == ("https://a.example/",)
    assert clean.raw == raw  # the record keeps what arrived


def test_a_clean_mention_is_kept_as_is_and_one_hostile_field_is_still_cleaned() -> None:
    mention = Mention(
        source="bluesky",
        source_name="b",
        native_id="2",
        created_at=datetime.now(UTC),
        author=Author(handle="ana.example", display_name="Ana"),
        text="Plain words,\nand a second line.",
        hashtags=("ok",),
    )
    assert sanitize_mention(mention) is mention
    tag = sanitize_mention(mention.model_copy(update={"hashtags": ("ok", "bad\x1b[31m")}))
    assert tag.hashtags == ("ok", "bad") and tag.author == mention.author
    name = Author(handle="ana.example", display_name="\u202eAna")
    author = sanitize_mention(mention.model_copy(update={"author": name}))
    assert author.author.display_name == "Ana" and author.author.handle == "ana.example"
    assert author.text == mention.text and author.hashtags == ("ok",)


@given(st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF)))
def test_no_control_character_survives_any_input(text: str) -> None:
    body, line = clean_text(text), clean_line(text)
    assert not FORBIDDEN.search(body)
    assert not FORBIDDEN.search(line)
    assert "\n" not in line and "\t" not in line
    assert all(unicodedata.category(c) != "Cs" for c in body)


@given(st.text())
def test_sanitising_twice_changes_nothing(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


def test_an_unterminated_string_sequence_does_not_swallow_the_text_after_it() -> None:
    assert clean_text("red\x9d0;title [@click=app.quit]boom[/] rest") == (
        "red0;title [@click=app.quit]boom[/] rest"
    )
    assert clean_text("a\x1b]52;c;aGk= tail") == "a52;c;aGk= tail"
    assert clean_text("a\x1b]52;c;aGk=\x07 tail") == "a tail"  # terminated: gone whole


# Every single-line field with its cap: (on the author?, name, cap).
LINE_FIELDS = [
    (True, "id", 500),
    (True, "handle", 500),
    (True, "display_name", 500),
    (True, "url", 2000),
    (False, "source", 100),
    (False, "source_name", 200),
    (False, "native_id", 1000),
    (False, "url", 2000),
    (False, "title", 500),
    (False, "language", 35),
    (False, "content_warning", 500),
    (False, "in_reply_to_id", 1000),
    (False, "thread_id", 1000),
    (False, "hashtags", 200),
    (False, "mentioned_handles", 200),
    (False, "links", 2000),
    (False, "text", TEXT_LIMIT),  # the one multi-line field: clean_text, not clean_line
]
EDGY = st.text(alphabet=st.sampled_from(" \u00a0\u3000\t\n|aé\u0301\x1b\u202e\u200b\x85"))


@given(st.sampled_from(LINE_FIELDS), st.one_of(EDGY, EDGY.map(lambda t: t + "y" * 2000)))
@example(field=(False, "title", 500), value="Cafe\u0301")  # not NFC, nothing else wrong
def test_one_dirty_field_in_a_clean_mention_is_cleaned_like_the_field_alone(
    field: tuple[bool, str, int], value: str
) -> None:
    """A clean mention is checked all at once; that check must never pass a mention one of
    whose fields would be changed: edge spaces, controls, bidi, non-NFC, over its cap."""
    on_author, name, cap = field
    assume(name != "native_id" or value)  # the model requires one
    clean = Mention(
        source="mastodon",
        source_name="m",
        native_id="1",
        created_at=datetime.now(UTC),
        author=Author(id="a", handle="ana", display_name="Ana", url="https://a.example/ana"),
        text="Plain words,\nand a second line.",
        title="A title",
        language="en",
        hashtags=("ok",),
        links=("https://a.example/",),
    )
    expected = clean_text(value) if name == "text" else clean_line(value, cap)
    listed = name in ("hashtags", "mentioned_handles", "links")
    update = {name: (value,) if listed else value}
    if on_author:
        mention = clean.model_copy(update={"author": clean.author.model_copy(update=update)})
        got = getattr(sanitize_mention(mention).author, name)
    else:
        mention = clean.model_copy(update=update)
        got = getattr(sanitize_mention(mention), name)
    if name in ("source", "source_name", "handle"):
        expected = expected or "unknown"
    elif name == "native_id":
        expected = expected or value.encode("unicode_escape").decode("ascii")
    assert got == ((expected,) if listed else expected)
