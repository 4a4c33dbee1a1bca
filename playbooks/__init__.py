"""Playbooks: house rules that turn a mention into ordered, explained suggestions.

Layering (DESIGN §2): imports `sources` only; never `tui`, Textual or Rich.
"""

from playbooks.engine import Engine, Suggestion
from playbooks.loader import LoadedPlaybook, LoadResult, bundled_dir, load_paths

__all__ = ["Engine", "LoadResult", "LoadedPlaybook", "Suggestion", "bundled_dir", "load_paths"]
