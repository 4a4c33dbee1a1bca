"""Load playbook files and directories; every problem comes back located, none is raised."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib.resources import as_file, files
from pathlib import Path

from pydantic import ValidationError

from playbooks.model import Playbook
from playbooks.tomlfile import LocatedError, TomlFileError, locate, read, validation_errors


@dataclass(frozen=True)
class LoadedPlaybook:
    playbook: Playbook
    path: Path
    version: str  # content hash of the file: what the decision log records


@dataclass
class LoadResult:
    playbooks: list[LoadedPlaybook] = field(default_factory=list)
    errors: list[LocatedError] = field(default_factory=list)


def bundled_dir() -> Path:
    with as_file(files("playbooks").joinpath("bundled")) as path:
        return Path(path)


def load_file(path: Path) -> LoadedPlaybook:
    """Load one playbook; raise TomlFileError listing every problem in the file."""
    data, text = read(path)
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        raise TomlFileError(validation_errors(path, text, exc)) from None
    duplicates = [
        LocatedError(
            path,
            locate(text, ("rules", i, "id")),
            f"rules.{i}.id",
            f"duplicate rule id {playbook.rules[i].id!r}",
        )
        for i in playbook.duplicate_rule_ids()
    ]
    if duplicates:
        raise TomlFileError(duplicates)
    version = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return LoadedPlaybook(playbook, path, version)


def load_paths(paths: list[Path]) -> LoadResult:
    """Load files and directories of `*.toml` playbooks, in name order; collect all errors."""
    result = LoadResult()
    seen_ids: dict[str, Path] = {}
    for path in _expand(paths, result):
        try:
            loaded = load_file(path)
        except TomlFileError as exc:
            result.errors.extend(exc.errors)
            continue
        pid = loaded.playbook.id
        if pid in seen_ids:
            message = f"duplicate playbook id {pid!r} (also in {seen_ids[pid]})"
            result.errors.append(LocatedError(path, None, "id", message))
            continue
        seen_ids[pid] = path
        result.playbooks.append(loaded)
    return result


def _expand(paths: list[Path], result: LoadResult) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(path.glob("*.toml")))
        elif path.is_file():
            out.append(path)
        else:
            result.errors.append(LocatedError(path, None, "", "no such file or directory"))
    return out
