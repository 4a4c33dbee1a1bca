"""`triage sources list|check`: which source types are installed, and whether each
configured source works right now. Headless, printing to stdout."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, TextIO

from sources import registry
from sources.contract import HealthState, Source
from sources.http import HttpSource, shared_client
from sources.model import Upsert
from sources.sanitize import clean_line

CHECK_LIMIT = 60.0  # seconds for one source's single round, whatever its own deadlines


def table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Left-aligned columns, the last one free-running."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip(), file=out)


def list_types(out: TextIO) -> int:
    rows = [("TYPE", "PACKAGE", "CONFIG KEYS (* required)")]
    for name, found in sorted(registry.available().items()):
        try:
            model = found.load().config_model
        except Exception as exc:  # a broken plugin is listed, not fatal
            rows.append((name, found.distribution or "?", f"cannot load: {exc}"))
            continue
        keys = [
            f"{key}{'*' if field.is_required() else ''}"
            for key, field in model.model_fields.items()
            if key not in {"type", "enabled"}
        ]
        rows.append((name, found.distribution or "?", " ".join(keys)))
    table(rows, out)
    return 0


async def check(sources: list[Source[Any]], out: TextIO) -> int:
    """One round of each source, concurrently; nothing is stored."""
    async with shared_client(sources):
        results = await asyncio.gather(*(_try(s) for s in sources))
    rows = [("SOURCE", "TYPE", "STATE", "FETCHED", "MALFORMED", "DETAIL")]
    for source, fetched in zip(sources, results, strict=True):
        health = source.health
        detail = clean_line(health.last_error or "", 200)
        rows.append(
            (
                source.name,
                source.config.type,
                health.state.value,
                str(fetched),
                str(health.malformed),
                detail,
            )
        )
    table(rows, out)
    return 0 if all(s.health.state in {HealthState.OK, HealthState.IDLE} for s in sources) else 1


async def _try(source: Source[Any]) -> int:
    fetched = 0

    async def run() -> None:
        nonlocal fetched
        async for event in source.events(None, once=True):
            fetched += isinstance(event, Upsert)

    try:
        async with asyncio.timeout(CHECK_LIMIT):
            await run()
    except TimeoutError:
        source.health.state = HealthState.ERROR
        source.health.last_error = f"no answer within {CHECK_LIMIT:g} s"
    except Exception as exc:  # a connector bug is a row in the table, not a traceback
        source.health.state = HealthState.ERROR
        source.health.last_error = f"{type(exc).__name__}: {exc}"
    else:
        if source.health.state is HealthState.STARTING and not isinstance(source, HttpSource):
            source.health.state = HealthState.OK
    return fetched
