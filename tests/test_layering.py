"""DESIGN §2: sources <- playbooks <- tui, and Textual only in the app, screens and widgets."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# tui modules allowed to import Textual/Rich: the app and what draws.
UI_MODULES = {"tui/app.py", "tui/review_app.py", "tui/render.py"}  # the two apps
UI_PACKAGES = ("tui/widgets/", "tui/screens/")
FORBIDDEN = {
    "sources": {"playbooks", "tui", "textual", "rich", "sqlite3", "aiosqlite"},
    "playbooks": {"tui", "textual", "rich", "sqlite3", "aiosqlite"},
    "tui-headless": {"textual", "rich"},
}


def _layer(path: Path) -> str | None:
    rel = path.relative_to(ROOT).as_posix()
    if rel.startswith("sources/"):
        return "sources"
    if rel.startswith("playbooks/"):
        return "playbooks"
    if rel.startswith("tui/") and rel not in UI_MODULES and not rel.startswith(UI_PACKAGES):
        return "tui-headless"
    return None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _layered_modules() -> list[Path]:
    every = (p for pkg in ("sources", "playbooks", "tui") for p in (ROOT / pkg).rglob("*.py"))
    return sorted(p for p in every if _layer(p) is not None)


@pytest.mark.parametrize("path", _layered_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_module_respects_its_layer(path: Path) -> None:
    layer = _layer(path)
    assert layer is not None
    bad = _imports(path) & FORBIDDEN[layer]
    assert not bad, f"{path.relative_to(ROOT)} ({layer}) imports {sorted(bad)}"


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    """Guard against a layering test that can never fail."""
    module = tmp_path / "bad.py"
    module.write_text("import textual\nfrom tui.store import Store\n")
    assert _imports(module) == {"textual", "tui"}


def test_headless_commands_do_not_load_textual() -> None:
    code = (
        "import sys, tui.cli, tui.store, tui.ingest, tui.export, tui.settings; "
        "print('textual' in sys.modules, 'rich' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
