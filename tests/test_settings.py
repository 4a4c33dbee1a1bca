"""Settings: file < env < flags; demo when unconfigured; located errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.settings import ConfigError, load


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


JSONL = '[[sources]]\nname = "pipe"\ntype = "jsonl"\npath = "in.jsonl"\n'


def test_no_config_runs_the_demo_on_a_demo_database(tmp_path: Path) -> None:
    loaded = load()
    assert loaded.demo and loaded.config_path is None
    assert [s.name for s in loaded.sources] == ["demo"]
    assert loaded.settings.db == tmp_path / "xdg-data" / "triage" / "demo.db"


def test_config_file_env_and_flags_in_that_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, f'actor = "from-file"\ndb = "file.db"\n{JSONL}')
    loaded = load(path)
    assert (loaded.settings.actor, loaded.settings.db, loaded.demo) == (
        "from-file",
        Path("file.db"),
        False,
    )
    monkeypatch.setenv("TRIAGE_ACTOR", "from-env")
    monkeypatch.setenv("TRIAGE_PLAYBOOKS__BUNDLED", "false")
    loaded = load(path)
    assert loaded.settings.actor == "from-env"
    assert loaded.settings.playbooks.bundled is False
    assert load(path, actor="from-flag").settings.actor == "from-flag"


def test_triage_config_env_var_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_CONFIG", str(_write(tmp_path, JSONL)))
    assert [s.name for s in load().sources] == ["pipe"]


def test_demo_flag_forces_the_demo_without_touching_the_real_database(tmp_path: Path) -> None:
    loaded = load(_write(tmp_path, f'db = "real.db"\n{JSONL}'), demo=True)
    assert [s.name for s in loaded.sources] == ["demo"]
    assert loaded.settings.db.name == "demo.db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("actor = \n", "config.toml:1: TOML syntax: "),
        ('colour = "red"\n', "config.toml:1: colour: Extra inputs are not permitted"),
        (
            '[[sources]]\nname = "x"\ntype = "carrier-pigeon"\n',
            "config.toml:3: sources.0.type: unknown source type 'carrier-pigeon' (known: ",
        ),
        (
            '[[sources]]\nname = "pipe"\ntype = "jsonl"\n',
            "config.toml:1: sources.0.path: Field required",
        ),
        (
            '[[sources]]\nname = "pipe"\ntype = "jsonl"\npath = "a"\nspeed = -1\n',
            "config.toml:5: sources.0.speed: Input should be greater than 0",
        ),
        (f"{JSONL}{JSONL}", "config.toml:6: sources.1.name: duplicate source name 'pipe'"),
        ('[[views]]\nquery = "status:new"\n', "config.toml:1: views.0.name: Field required"),
        (
            '[[views]]\nname = "Mine"\n[[views]]\nname = "Urgent"\n[[views]]\nname = "Mine"\n',
            "config.toml:6: views.2.name: duplicate view name 'Mine'",
        ),
    ],
)
def test_bad_config_names_file_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(_write(tmp_path, text))
    assert str(raised.value).startswith(f"{tmp_path}/{expected}"), str(raised.value)


def test_explicit_missing_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: no such config file"):
        load(tmp_path / "nope.toml")


def test_home_directory_paths_are_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = _write(
        tmp_path,
        'db = "~/t.db"\n[playbooks]\ndirs = ["~/pb"]\n'
        '[[sources]]\nname = "p"\ntype = "jsonl"\npath = "~/in.jsonl"\n',
    )
    loaded = load(config)
    assert loaded.settings.db == tmp_path / "t.db"
    assert loaded.settings.playbooks.dirs == [tmp_path / "pb"]
    assert loaded.sources[0].config.path == tmp_path / "in.jsonl"
