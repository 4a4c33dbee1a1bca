"""`triage outbox list|retry|cancel|send`: the deliveries, from the shell. Headless."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from sources.http import shared_client
from sources.sanitize import clean_line
from tui import deliver
from tui.dispatch import from_settings
from tui.outbox import FAILING
from tui.settings import Loaded
from tui.source_cmds import table
from tui.store import Store


async def list_entries(store: Store, states: Sequence[str], out: TextIO) -> int:
    where, args = (
        ("1", ()) if not states else (f"state IN ({','.join('?' * len(states))})", tuple(states))
    )
    found = await store.outbox_entries(where, args)
    now = datetime.now(UTC)
    rows = [("ID", "STATE", "KIND", "TARGET", "MENTION", "TRIES", "DETAIL")]
    for e in found:
        detail = e.remote_url or e.remote_id if e.state == "sent" else e.describe(now)
        rows.append(
            (
                str(e.id),
                e.state,
                e.kind,
                e.target,
                str(e.mention_id),
                str(e.attempts),
                clean_line(detail or "", 160),
            )
        )
    if len(rows) == 1:
        print("nothing in the outbox" + (f" ({', '.join(states)})" if states else ""), file=out)
        return 0
    table(rows, out)
    return 0


async def retry(store: Store, ids: Sequence[int], out: TextIO) -> int:
    count = await store.outbox_retry(*_where(ids))
    print(f"{count} failed deliveries queued again", file=out)
    return 0


async def cancel(store: Store, ids: Sequence[int], out: TextIO) -> int:
    count = await store.outbox_cancel(*_where(ids))
    print(f"{count} deliveries cancelled", file=out)
    return 0


async def send(loaded: Loaded, store: Store, out: TextIO) -> int:
    """Deliver what is due now, once (for cron, or after fixing a target)."""
    store.routes = deliver.routes(loaded, str(store.path))
    async with shared_client(loaded.sources) as client:
        dispatcher = from_settings(loaded, store, client)
        taken = await dispatcher.once()
    failing = await store.outbox_entries(FAILING)
    print(
        f"{dispatcher.delivered} delivered, {taken - dispatcher.delivered} not (yet), "
        f"{len(failing)} failing",
        file=out,
    )
    return 1 if taken - dispatcher.delivered else 0


def _where(ids: Sequence[int]) -> tuple[str, tuple[int, ...]]:
    if not ids:
        return "1", ()
    return f"id IN ({','.join('?' * len(ids))})", tuple(ids)
