"""Bad files and strings (Proof issue): fuzzed config TOML, playbook TOML and query-language
strings always end in a located, one-line error (or are accepted), never in a traceback.

Generated from fragments of real files, mutated, so the fuzzer reaches past the TOML parser
into validation, where the interesting failures live.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playbooks import load_paths
from tui.query import Context, QueryError, compile_query
from tui.settings import ConfigError, load

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
FIXTURES = [HealthCheck.function_scoped_fixture]  # tmp_path is reused; each file is rewritten
LOCATED = re.compile(r"^\S+\.toml(:\d+)?: ")

VALUES = st.one_of(
    st.sampled_from(
        [
            '"x"',
            '""',
            "1",
            "-1",
            "0.5",
            "true",
            "[]",
            '["a", 1]',
            "{}",
            '{ env = "NOPE_NOT_SET" }',
            '"http://"',
            '"~/x"',
            '"15m"',
            '"urgent"',
            '"\\u202e"',
            '"[b]x[/b]"',
            "1e999",
            '"2026-13-45"',
        ]
    ),
    st.text(max_size=12).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"'),
)
CONFIG_KEYS = [
    "actor",
    "db",
    "name",
    "type",
    "path",
    "speed",
    "base_url",
    "hashtags",
    "token",
    "query",
    "url",
    "poll_interval",
    "deadline",
    "webhook",
    "command",
    "secret",
    "dry_run",
    "max_attempts",
    "bogus",
    "app_password",
    "handle",
    "follow",
]
TABLES = ["", "[[sources]]", "[playbooks]", "[[views]]", "[keys]", "[teams.sre]", "[outbox]"]
PLAYBOOK_KEYS = [
    "id",
    "description",
    "when.any",
    "when.regex",
    "when.min_followers",
    "when.window",
    "then.action",
    "then.team",
    "then.reply",
    "then.sla",
    "then.priority",
    "then.tags",
    "then.notify",
    "weight",
    "fallback",
    "nope",
]
QUERY_BITS = st.sampled_from(
    [
        "status:new",
        "-tag:x",
        "age:<1h",
        "due:<15m",
        '"a phrase"',
        "priority:urgent,high",
        "sort:due",
        "assignee:me",
        "sla:breached",
        "bogus:1",
        "age:<",
        ":",
        '"',
        "-",
        "source:",
        "word",
        "ä",
        "(",
        "decided:today",
        "claimed:me",
        "age:<99999999999d",
    ]
)


def lines(tables: list[str], keys: list[str]) -> st.SearchStrategy[str]:
    line = st.one_of(
        st.sampled_from(tables),
        st.builds(lambda k, v: f"{k} = {v}", st.sampled_from(keys), VALUES),
        st.text(max_size=20),
    )
    return st.lists(line, max_size=14).map("\n".join)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=lines(TABLES, CONFIG_KEYS))
def test_a_fuzzed_config_is_accepted_or_a_located_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load(path)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            assert LOCATED.match(line) or line.startswith(str(path)), line


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=lines(["", "[[rules]]", "[defaults]"], PLAYBOOK_KEYS))
def test_a_fuzzed_playbook_is_loaded_or_a_located_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    result = load_paths([path])  # never raises
    for error in result.errors:
        assert LOCATED.match(str(error)), str(error)
        assert "\n" not in str(error)


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.lists(QUERY_BITS, max_size=6).map(" ".join), st.text(max_size=40)))
def test_a_fuzzed_query_compiles_or_is_a_positioned_error(text: str) -> None:
    error = _query_error(text)
    if error is not None:
        assert "\n" not in str(error)
        assert 0 <= error.position <= len(text)


def test_half_a_character_in_a_query_is_a_positioned_error() -> None:
    """A lone surrogate (a broken paste) would fail in SQLite's UTF-8, far from the input."""
    error = _query_error("down \ud800")
    assert error is not None and error.position == 5 and "not a character" in error.message


def _query_error(text: str) -> QueryError | None:
    try:
        compile_query(text, Context(me="pat", now=NOW, today=NOW))
    except QueryError as exc:
        return exc
    return None


def test_the_cli_prints_config_errors_as_lines_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[sources]]\nname = "x"\ntype = "mastodon"\nhashtags = 5\ntoken = { env = 1 }\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--config", str(path), "ingest"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.splitlines() == [
        f"triage: {path}:4: sources.0.hashtags: Input should be a valid list",
        f'triage: {path}:5: sources.0.token: a secret is a string or {{ env = "VARIABLE_NAME" }}',
    ]
