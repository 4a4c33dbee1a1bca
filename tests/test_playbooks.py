"""Minimal playbook engine: bundled playbook covers the demo; broken files get located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from playbooks import Engine, load_paths
from playbooks.engine import render_template
from playbooks.loader import load_file
from playbooks.tomlfile import TomlFileError
from tests.conftest import demo_mentions


def test_every_demo_mention_gets_a_suggestion_with_a_why(engine: Engine) -> None:
    for mention in demo_mentions(400):
        suggestions = engine.suggest(mention)
        assert suggestions, mention.text
        assert all(s.why and s.playbook_version for s in suggestions)


def test_outage_report_is_escalated_urgently_and_explains_itself(engine: Engine) -> None:
    [mention] = demo_mentions(1)
    mention = mention.model_copy(update={"text": "Is Acme down? Getting 502 errors on the web app"})
    top = engine.suggest(mention)[0]
    assert (top.rule_id, top.action, top.params["team"], top.priority) == (
        "outage-report",
        "escalate",
        "sre-oncall",
        "urgent",
    )
    assert top.why == 'mentions "down", "502"'


def test_keywords_match_whole_words_case_insensitively(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('id = "p"\n[[rules]]\nid = "r"\nwhen.any = ["is down"]\nthen.action = "tag"\n')
    engine = Engine(load_paths([path]).playbooks)
    [m1, m2] = demo_mentions(2)
    assert engine.suggest(m1.model_copy(update={"text": "Acme IS DOWN again"}))
    assert not engine.suggest(m2.model_copy(update={"text": "this down-is downright odd"}))


def test_fallback_fires_only_when_nothing_else_did(engine: Engine) -> None:
    [mention] = demo_mentions(1)
    quiet = mention.model_copy(update={"text": "the weather is nice", "title": None})
    assert [s.rule_id for s in engine.suggest(quiet)] == ["needs-review"]


def test_template_substitutes_named_fields_only() -> None:
    [mention] = demo_mentions(1)
    out = render_template("Hi $author_name ($author_handle) ${url} $$5", mention)
    assert out == f"Hi {mention.author.display_name} ({mention.author.handle}) {mention.url} $5"


BROKEN = {
    "syntax.toml": ('id = "x"\n[[rules]\n', "syntax.toml:2: TOML syntax: "),
    "unknown_key.toml": (
        'id = "x"\n[[rules]]\nid = "r"\nthen.action = "tag"\nthen.colour = "red"\n',
        "unknown_key.toml:5: rules.0.then.colour: Extra inputs are not permitted",
    ),
    "bad_template.toml": (
        'id = "x"\n[[rules]]\nid = "r"\nthen.action = "reply"\nthen.reply = "Hi $author.name"\n',
        "bad_template.toml:5: rules.0.then.reply: Value error, unknown template field $author",
    ),
    "duplicate.toml": (
        'id = "x"\n[[rules]]\nid = "r"\nthen.action = "tag"\n'
        '[[rules]]\nid = "r"\nthen.action = "tag"\n',
        "duplicate.toml:6: rules.1.id: duplicate rule id 'r'",
    ),
    "wrong_type.toml": (
        'id = "x"\n[[rules]]\nid = "r"\n\nthen.action = "tag"\nthen.sla = "soon"\n',
        "wrong_type.toml:6: rules.0.then.sla: Value error, expected a duration",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_playbook_gets_file_line_field_message(tmp_path: Path, name: str) -> None:
    text, expected = BROKEN[name]
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TomlFileError) as raised:
        load_file(path)
    first = str(raised.value.errors[0])
    assert first.startswith(f"{tmp_path}/{expected}"), first


def test_all_problems_in_a_file_are_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "many.toml"
    path.write_text(
        'id = "x"\n[[rules]]\nid = "a"\nthen.action = "escalate"\n'
        '[[rules]]\nid = "b"\nthen.action = "nap"\n'
    )
    result = load_paths([tmp_path])
    assert [e.field for e in result.errors] == ["rules.0.then", "rules.1.then.action"]
    assert [e.line for e in result.errors] == [4, 7]
    assert result.playbooks == []
