"""A third-party source, installed for real (pip, into a directory on the path), is found
through the `triage.sources` entry point, listed, configured and ingested like a built-in."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).parent / "plugin" / "triage-echo-source"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(  # a real build and install, as a user's `pip install` would do
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(PLUGIN),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def triage(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.getcwd()])}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_an_installed_plugin_is_listed_with_its_package(site: Path) -> None:
    out = triage(site, "sources", "list").stdout
    (line,) = [row for row in out.splitlines() if row.startswith("echo ")]
    assert line.split()[:2] == ["echo", "triage-echo-source"]
    assert "text" in line and "count" in line


def test_an_installed_plugin_is_configured_and_ingested(site: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[sources]]\nname = "echoes"\ntype = "echo"\ncount = 4\n')
    db = tmp_path / "t.db"
    run = triage(site, "--config", str(config), "--db", str(db), "ingest", "--once")
    assert run.returncode == 0, run.stderr
    with sqlite3.connect(db) as conn:
        texts = [r[0] for r in conn.execute("SELECT text FROM mentions ORDER BY native_id")]
    assert texts == [f"hello from a plugin #{n}" for n in range(4)]


def test_a_typo_in_a_plugin_key_is_a_located_error(site: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[sources]]\nname = "echoes"\ntype = "echo"\ncuont = 4\n')
    run = triage(site, "--config", str(config), "--db", str(tmp_path / "t.db"), "ingest")
    assert run.returncode == 2
    assert "config.toml:4: sources.0.cuont: Extra inputs are not permitted" in run.stderr
