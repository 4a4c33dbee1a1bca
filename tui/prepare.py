"""Sanitise, apply the playbooks and build the rows: what ingest does to a mention before
the store writes it. Headless and free of I/O, so it runs in a thread or in another process
(`tui.line_worker`), and both run this same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from playbooks.engine import Engine, Suggestion
from sources.jsonl import JsonlConfig, parse_line
from sources.model import Mention
from sources.sanitize import sanitize_mention
from tui.jsontext import dumps
from tui.mention_rows import COLUMNS, to_values
from tui.timefmt import opt_iso

_RECEIVED = COLUMNS.index("received_at")


class Stored(NamedTuple):
    """A prepared mention as the store writes it: plain values, cheap to send between
    processes. A tuple: a pickled Mention costs ~20 us there and back, a frozen dataclass of
    these values ~10 us (half of it unpickling in the ingesting process), this ~6 us."""

    key: tuple[str, str]  # (source_name, native_id)
    values: tuple[Any, ...]  # the mention's columns, INSERT order after the id
    suggestion_rows: list[tuple[Any, ...]]  # each suggestion's columns after mention_id


def prepare(mention: Mention, engine: Engine, now: datetime) -> Stored:
    """A mention as delivered, made safe to show, suggested for and turned into rows."""
    mention = sanitize_mention(mention)
    received = mention.received_at or now
    if mention.received_at is None:
        mention = mention.model_copy(update={"received_at": received})
    return _stored(mention, engine.suggest(mention), received)


def _stored(mention: Mention, suggestions: list[Suggestion], received: datetime) -> Stored:
    dues = [opt_iso(received + s.sla) if s.sla else None for s in suggestions]
    top = suggestions[0] if suggestions else None
    values = (
        *to_values(mention, received),
        top.priority if top else "normal",
        dues[0] if top else None,
        dumps(top.params.get("tags", []) if top else []),
    )
    created = values[_RECEIVED]  # formatted once: a time costs ~1.4 us
    rows = [
        (
            rank,
            s.playbook_id,
            s.playbook_version,
            s.rule_id,
            s.action,
            dumps(s.params),
            s.priority,
            dues[rank],
            s.why,
            s.score,
            created,
        )
        for rank, s in enumerate(suggestions)
    ]
    return Stored((mention.source_name, mention.native_id), values, rows)


@dataclass(frozen=True)
class PreparedLines:
    stored: list[Stored]
    malformed: list[str]  # located messages, in line order


def prepare_lines(
    config: JsonlConfig, lines: list[tuple[bytes, int]], engine: Engine, now: datetime
) -> PreparedLines:
    """JSONL lines parsed and prepared: the whole per-mention cost of a fast feed."""
    stored, malformed = [], []
    for line, lineno in lines:
        parsed = parse_line(config, line, lineno, lambda: now)
        if isinstance(parsed, str):
            malformed.append(parsed)
        else:
            stored.append(prepare(parsed, engine, now))
    return PreparedLines(stored, malformed)
