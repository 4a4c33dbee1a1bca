"""Read TOML files and point at the line behind an error.

`tomllib` reports syntax errors with a line; pydantic reports validation errors with a field
path but no line. `locate` maps a field path back to the line that sets it, so every error
reads `file:line: field.path: message`. Used for playbooks and for the settings file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")
_SYNTAX_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class LocatedError:
    path: Path
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class TomlFileError(Exception):
    def __init__(self, errors: list[LocatedError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def read(path: Path) -> tuple[dict[str, Any], str]:
    """Parse `path`; raise TomlFileError with a located message if unreadable or invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise TomlFileError([LocatedError(path, None, "", f"cannot read: {reason}")]) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _SYNTAX_LINE.search(message)
        line = int(found.group(1)) if found else None
        message = _SYNTAX_LINE.sub("", message).strip()
        raise TomlFileError([LocatedError(path, line, "", f"TOML syntax: {message}")]) from None


def validation_errors(path: Path, text: str, exc: ValidationError) -> list[LocatedError]:
    """Every problem pydantic found, each with the line that caused it."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc)
        message = err["msg"].removeprefix("Value error, ")
        out.append(LocatedError(path, locate(text, loc), field, message))
    return sorted(out, key=lambda e: e.line or 0)


def locate(text: str, loc: tuple[str | int, ...]) -> int | None:
    """The line (1-based) that best explains `loc`, or None.

    Prefers the line setting the longest prefix of `loc` (`[[rules]]` #2 for rules.1.id when
    `id` is absent); when `loc` names a table set through dotted keys (`then.action = ...` for
    rules.0.then), the first line inside it.
    """
    best_line, best_len = None, 0
    for line_no, path in _key_paths(text):
        n = min(len(path), len(loc))
        if path[:n] == loc[:n] and n > best_len:
            best_line, best_len = line_no, n
    return best_line


def _key_paths(text: str) -> list[tuple[int, tuple[str | int, ...]]]:
    table: tuple[str | int, ...] = ()
    counts: dict[tuple[str | int, ...], int] = {}
    out: list[tuple[int, tuple[str | int, ...]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            keys = _split_key(header.group(2))
            if header.group(1) == "[[":
                index = counts.get(keys, 0)
                counts[keys] = index + 1
                table = (*keys, index)
            else:
                table = keys
            out.append((number, table))
            continue
        key = _KEY.match(line)
        if key:
            out.append((number, (*table, *_split_key(key.group(1)))))
    return out


def _split_key(key: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in key.split("."))
