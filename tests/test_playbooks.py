"""Playbooks: the rule language, the bundled playbooks, located errors, the matcher."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playbooks import Engine, load_paths
from playbooks.check import warnings
from playbooks.engine import Suggestion, render_template
from playbooks.loader import load_file
from playbooks.matcher import KeywordMatcher, reference_find
from sources.model import Author, Engagement, Mention

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday


def mention(text: str, **fields: Any) -> Mention:
    base: dict[str, Any] = {
        "source": "mastodon",
        "source_name": "m",
        "native_id": "1",
        "created_at": NOW,
        "received_at": NOW,
        "text": text,
        "author": Author(handle="pat@fedi.example", display_name="Pat", followers=120),
        "url": "https://fedi.example/@pat/1",
    }
    return Mention(**(base | fields))


def engine_for(tmp_path: Path, toml: str) -> Engine:
    path = tmp_path / "p.toml"
    path.write_text(toml)
    result = load_paths([path])
    assert not result.errors, result.errors
    return Engine(result.playbooks)


def rules(suggestions: list[Suggestion]) -> list[str]:
    return [s.rule_id for s in suggestions]


# -- the bundled playbooks, on real-looking mentions ---------------------------------------

BUNDLED_CASES = {
    "outage": mention("Is Acme down? Getting 502 errors on the web app since 10 minutes"),
    "outage-not-download": mention("The download page is slow today"),
    "data-loss": mention("after the outage my files are gone?? @acmesupport"),
    "security": mention("I think I found a security issue in your share links, who do I tell?"),
    "spam": mention("🔥 passive income from home!!! link in bio #acme"),
    "phishing": mention("Your Acme account is suspended! Verify now at acme-check.example"),
    "journalist": mention("Journalist here, writing a story about the outage. Comms contact?"),
    "coverage": mention(
        "Acme raises $80M", kind="article", source="rss", title="Acme raises $80M Series C"
    ),
    "large-account": mention(
        "Trying Acme for the first time", author=Author(handle="star", followers=2_000_000)
    ),
    "billing": mention("Acme charged twice this month and no refund yet"),
    "churn": mention("Cancelling Acme today, any alternatives?"),
    "question": mention("How do I restore a deleted folder?"),
    "complaint": mention("The mobile app crashes every time I upload a video"),
    "feature": mention("Feature request: please add a dark mode to the web app"),
    "praise": mention("Honestly love the new release, thank you!"),
    "praise-loud": mention(
        "I love Acme, best tool ever", engagement=Engagement(likes=400, reposts=12)
    ),
    "praise-fr": mention("Merci à l'équipe, bravo !", language="fr"),
    "nothing": mention("The weather is nice today"),
}


@pytest.mark.parametrize("case", sorted(BUNDLED_CASES))
def test_bundled_playbooks_suggest_and_explain(engine: Engine, case: str, snapshot: Any) -> None:
    suggestions = engine.suggest(BUNDLED_CASES[case])
    assert suggestions, "every mention gets a suggestion"
    shown = [{k: v for k, v in s._asdict().items() if k != "playbook_version"} for s in suggestions]
    assert shown == snapshot


def test_every_demo_mention_gets_a_suggestion_with_a_why(engine: Engine) -> None:
    from tests.conftest import demo_mentions

    for m in demo_mentions(400):
        suggestions = engine.suggest(m)
        assert suggestions, m.text
        assert all(s.why and len(s.playbook_version) == 12 for s in suggestions)


def test_bundled_playbooks_have_no_warnings(engine: Engine) -> None:
    assert [w for p in engine.playbooks for w in warnings(p)] == []


# -- the rule language --------------------------------------------------------------------


def test_keywords_match_whole_words_any_case_and_unicode(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
id = "p"
[[rules]]
id = "r"
when.any = ["is down", "café", "障害"]
then.action = "tag"
then.tags = ["x"]
""",
    )
    assert engine.suggest(mention("Acme IS  DOWN again"))
    assert engine.suggest(mention("Le CAFÉ est fermé"))
    assert engine.suggest(mention("ログインできない障害です"))  # no spaces in Japanese
    assert not engine.suggest(mention("this is downright odd"))
    assert not engine.suggest(mention("cafés"))


def test_all_none_regex_and_facts(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
id = "p"
[[rules]]
id = "r"
when.all = ["acme", "sync"]
when.none = ["love"]
when.regex = [{ pattern = "error \\\\d{3}", prefilter = ["error"] }]
when.sources = ["mastodon"]
when.languages = ["en"]
when.min_followers = 100
when.is_reply = false
then.action = "tag"
then.tags = ["x"]
""",
    )
    good = mention("acme sync fails with error 503", language="en")
    [s] = engine.suggest(good)
    assert s.why == (
        'mentions all of "acme", "sync"; matches /error \\d{3}/ ("error 503"); '
        "source is mastodon; language is en; author has 120 followers; not a reply"
    )
    assert not engine.suggest(good.model_copy(update={"text": "i love acme sync, error 503"}))
    assert not engine.suggest(good.model_copy(update={"text": "acme sync error"}))
    assert not engine.suggest(good.model_copy(update={"source": "bluesky"}))
    assert not engine.suggest(good.model_copy(update={"in_reply_to_id": "0"}))
    assert not engine.suggest(good.model_copy(update={"author": Author(handle="x", followers=5)}))


def test_nested_any_of_all_of_not(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
id = "p"
[[rules]]
id = "r"
when.any_of = [{ any = ["refund"] }, { min_engagement = { likes = 100 } }]
when.not = { authors = ["@acmesupport"] }
then.action = "tag"
then.tags = ["x"]
""",
    )
    [s] = engine.suggest(mention("I want a refund"))
    assert s.why.startswith('(mentions "refund"); not (')
    assert engine.suggest(mention("meh", engagement=Engagement(likes=150)))
    assert not engine.suggest(mention("meh", engagement=Engagement(likes=5)))
    assert not engine.suggest(mention("refund", author=Author(handle="AcmeSupport")))


def test_business_hours_window(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
id = "p"
[[rules]]
id = "office"
when.window = { hours = "09:00-17:00", weekdays = ["mon", "tue", "wed", "thu", "fri"], timezone = "Europe/Berlin" }
then.action = "tag"
then.tags = ["x"]
""",
    )
    thursday_11_berlin = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    [s] = engine.suggest(mention("hi", received_at=thursday_11_berlin))
    assert s.why == "arrived Thu 11:00 Europe/Berlin"
    assert not engine.suggest(mention("hi", received_at=datetime(2026, 11, 26, 17, 0, tzinfo=UTC)))
    assert not engine.suggest(mention("hi", received_at=datetime(2026, 11, 28, 10, 0, tzinfo=UTC)))


def test_order_is_by_score_then_file_and_rule_order(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
id = "p"
[defaults]
priority = "normal"
[[rules]]
id = "first-normal"
when.any = ["acme"]
then.action = "tag"
then.tags = ["a"]
[[rules]]
id = "second-normal"
when.any = ["acme"]
then.action = "tag"
then.tags = ["b"]
[[rules]]
id = "heavier-normal"
weight = 5
when.any = ["acme"]
then.action = "tag"
then.tags = ["c"]
[[rules]]
id = "urgent"
when.any = ["acme"]
then.action = "escalate"
then.team = "t"
then.priority = "urgent"
""",
    )
    suggestions = engine.suggest(mention("acme"))
    assert rules(suggestions) == ["urgent", "heavier-normal", "first-normal", "second-normal"]
    assert [s.score for s in suggestions] == [300, 105, 100, 100]


def test_defaults_apply_where_a_rule_is_silent(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
id = "p"
[defaults]
priority = "high"
sla = "2h"
tags = ["press"]
[[rules]]
id = "r"
then.action = "tag"
then.tags = ["vip"]
""",
    )
    [s] = engine.suggest(mention("anything"))
    assert (s.priority, s.sla.total_seconds() if s.sla else None) == ("high", 7200)
    assert s.params["tags"] == ["vip", "press"]


def test_template_substitutes_named_fields_only() -> None:
    out = render_template("Hi $author_name ($author_handle) ${url} $$5", mention("x"))
    assert out == "Hi Pat (pat@fedi.example) https://fedi.example/@pat/1 $5"


# -- errors and warnings ------------------------------------------------------------------

EXPECTED_ERRORS = """\
bad-regex.toml:5: rules.0.when.regex: invalid regex '(unclosed': missing ), unterminated subpattern at position 0
bad-template.toml:6: rules.0.then.reply: invalid template: a '$' must start a $field name (write $$ for '$')
duplicate-rule.toml:9: rules.1.id: duplicate rule id 'same'
many-problems.toml:5: rules.0.then: action 'escalate' needs then.team
many-problems.toml:9: rules.1.when.window.timezone: unknown time zone 'Mars/Olympus'
many-problems.toml:10: rules.1.when.window.hours: expected hours like '09:00-17:30', got '9-5'
many-problems.toml:11: rules.1.then.action: Input should be 'reply', 'escalate', 'tag', 'dismiss', 'route', 'assign' or 'snooze'
syntax.toml:2: TOML syntax: Expected ']]' at the end of an array declaration
unknown-key.toml:5: rules.0.when.anyy: Extra inputs are not permitted
wrong-type.toml:5: rules.0.when.min_followers: Input should be a valid integer, unable to parse string as an integer
wrong-type.toml:8: rules.0.weight: Input should be less than or equal to 99
"""


def test_broken_playbooks_get_exact_located_errors_all_at_once() -> None:
    directory = FIXTURES / "broken-playbooks"
    result = load_paths([directory])
    assert result.playbooks == []
    got = "".join(str(e).removeprefix(f"{directory}/") + "\n" for e in result.errors)
    assert got == EXPECTED_ERRORS


def test_regex_without_prefilter_is_a_located_warning(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(
        'id = "w"\n[[rules]]\nid = "r"\nwhen.regex = ["err(or)? \\\\d+"]\n'
        'then.action = "tag"\nthen.tags = ["x"]\n'
    )
    [warning] = warnings(load_file(path))
    assert str(warning).startswith(f"{path}:4: rules.0.when.regex.0: warning: regex ")
    assert "has no prefilter" in str(warning)


# -- the matcher against the obvious implementation ------------------------------------------

WORDS = st.text(
    alphabet=st.sampled_from([*"abcxyzéßİı_-.!' 0123456789日本語カナ", "\u0301", "\u00a0"]),
    min_size=1,
    max_size=8,
).filter(lambda t: t.strip() != "")


@settings(max_examples=400, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=12), st.text(max_size=80), st.data())
def test_matcher_agrees_with_the_reference(
    terms: list[str], noise: str, data: st.DataObject
) -> None:
    # Texts built from the terms themselves, so matches actually happen.
    pieces = data.draw(
        st.lists(st.sampled_from([*terms, noise, " ", "X", "_", "é", "!"]), max_size=10)
    )
    text = "".join(pieces)
    assert KeywordMatcher(terms).find(text).words == reference_find(terms, text)


def test_matcher_handles_no_terms_and_overlaps() -> None:
    assert KeywordMatcher([]).find("anything").words == frozenset()
    found = KeywordMatcher(["is down", "down", "own"]).find("Acme is down")
    assert found.words == {"is down", "down"}
    assert "own" in found.substrings
