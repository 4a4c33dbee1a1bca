"""`triage playbooks check|schema|test`: headless, printing to stdout.

Also `load_engine`, shared by the desk, `triage ingest` and the hot reload: the configured
playbook paths (bundled first, then the user's directories) and the one way to load them.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from playbooks import Engine, bundled_dir, load_paths
from playbooks.backtest import Report, run
from playbooks.check import warnings
from playbooks.model import Playbook
from playbooks.tomlfile import LocatedError
from tui.review import Filters
from tui.settings import ConfigError, Settings
from tui.store import Store


def playbook_paths(settings: Settings) -> list[Path]:
    return ([bundled_dir()] if settings.playbooks.bundled else []) + list(settings.playbooks.dirs)


def load_engine(paths: list[Path]) -> Engine:
    """Load playbooks; any error is a ConfigError listing every located problem."""
    result = load_paths(paths)
    if result.errors:
        raise ConfigError(result.errors)
    if not result.playbooks:
        where = ", ".join(str(p) for p in paths) or "(no paths)"
        raise ConfigError([LocatedError(Path(where), None, "", "no playbooks found")])
    return Engine(result.playbooks)


@dataclass
class Watcher:
    """Notices when playbook files change (by name, size and mtime); cheap to poll."""

    paths: list[Path]

    def __post_init__(self) -> None:
        self._seen = self._stamp()

    def changed(self) -> bool:
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        return True

    def _stamp(self) -> frozenset[tuple[str, int, int]]:
        files: list[Path] = []
        for path in self.paths:
            files.extend(sorted(path.glob("*.toml")) if path.is_dir() else [path])
        out = set()
        for file in files:
            try:
                info = os.stat(file)
            except OSError:
                continue
            out.add((str(file), info.st_size, info.st_mtime_ns))
        return frozenset(out)


def check(paths: list[Path], out: TextIO) -> int:
    """Print every error and warning; exit status 1 if any error."""
    result = load_paths(paths)
    problems = [*result.errors, *(w for p in result.playbooks for w in warnings(p))]
    for problem in problems:
        print(problem, file=out)
    rules = sum(len(p.playbook.rules) for p in result.playbooks)
    print(
        f"{len(result.playbooks)} playbooks, {rules} rules, "
        f"{len(result.errors)} errors, {len(problems) - len(result.errors)} warnings",
        file=out,
    )
    return 1 if result.errors else 0


def schema(out: TextIO) -> int:
    document = Playbook.model_json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "triage playbook"
    print(json.dumps(document, indent=2), file=out)
    return 0


async def backtest(
    paths: list[Path], store: Store, fmt: str, out: TextIO, filters: Filters | None = None
) -> int:
    engine = load_engine(paths)
    items = [item async for item in store.backtest_items(filters)]
    report = run(engine, items)
    {"json": _json, "csv": _csv}.get(fmt, _text)(report, out)
    return 0


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _text(report: Report, out: TextIO) -> None:
    share = report.top_agreed / report.decided if report.decided else None
    print(
        f"{report.mentions} mentions, {report.decided} decided; the new top suggestion matches "
        f"{report.top_agreed} of those decisions ({_percent(share)})",
        file=out,
    )
    print(
        f"against the playbooks in force: {report.changed} changed, {report.new} new, "
        f"{report.lost} lost, {report.unchanged} unchanged\n",
        file=out,
    )
    header = f"{'rule':<36} {'fired':>7} {'top':>7} {'decided':>8} {'agreed':>7} {'agree%':>7}"
    print(header, file=out)
    for r in sorted(report.rules, key=lambda r: (-r.fired, r.playbook_id, r.rule_id)):
        name = f"{r.playbook_id}/{r.rule_id}"
        print(
            f"{name:<36} {r.fired:>7} {r.top:>7} {r.decided:>8} {r.agreed:>7} "
            f"{_percent(r.agreement):>7}",
            file=out,
        )
    if report.examples:
        print("\nchanged top suggestions (first few):", file=out)
        for change in report.examples:
            print(
                f"  {change.mention}: {change.before or '(none)'} -> {change.after or '(none)'}",
                file=out,
            )


def _json(report: Report, out: TextIO) -> None:
    print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False), file=out)


def _csv(report: Report, out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(["playbook", "rule", "fired", "top", "decided", "agreed", "agreement"])
    for r in report.rules:
        agreement = "" if r.agreement is None else f"{r.agreement:.4f}"
        writer.writerow([r.playbook_id, r.rule_id, r.fired, r.top, r.decided, r.agreed, agreement])
