"""Hostile text for the Proof issue's tests: strings built from what attackers put in posts,
and the checks that none of it reaches a terminal."""

from __future__ import annotations

import random
import re

from rich.style import Style

from tests.conftest import FROZEN
from tui.render import detail_content, queue_segments, sla_state
from tui.store import Store

PIECES = [
    "[@click=app.quit]boom[/]",
    "[b]",
    "[/]",
    "[/oops]",
    "[link=https://evil.example]x[/link]",
    "[red on red]",
    "\\[escaped]",
    "$author_name",
    "{0}",
    "%s",
    "\x1b]52;c;aGVsbG8=\x07",
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "\x1bP1$qm\x1b\\",
    "\x1b[2J\x1b[H",
    "\x1b[31mred",
    "\x9b31m",
    "\x9d0;title\x9c",
    "\x90dcs\x9c",
    "\x07",
    "\x08\x08\x08",
    "\r",
    "\x00",
    "\x7f",
    "\x85",
    "\u202e",
    "\u202d",
    "\u2066",
    "\u2069",
    "\u200b",
    "\u2060",
    "\ufeff",
    "👩\u200d👩\u200d👧\u200d👦",
    "🏳️\u200d🌈",
    "e\u0301\u0301\u0301",
    "\ud800",
    "\udfff",
    "ア",
    "مرحبا",
    "\n",
    "\t",
    "acme",
    " is down",
    "502",
]
TERMINAL_HOSTILE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b\ufeff]")
INTRODUCERS = re.compile("\x1b[\\]PX^_]|[\x90\x9b\x9d\x9e\x9f]|\x07")  # OSC DCS SOS PM APC, C1, BEL


STYLE_NAMES = (
    "action",
    "urgent",
    "high",
    "normal",
    "low",
    "meta",
    "soon",
    "overdue",
    "author",
    "text",
    "deleted",
)


def hostile(count: int, seed: int = 13) -> list[str]:
    rng = random.Random(seed)
    out = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12))) for _ in range(count)]
    out[0] = "👍" * 20_000  # a huge emoji run
    out[1] = ("[b]" + "x" * 1023 + "\x1b]52;c;Zm9v\x07") * 1024  # 1 MB
    return out


def assert_clean(text: str, where: str) -> None:
    found = TERMINAL_HOSTILE.search(text.replace("\n", "").replace("\t", ""))
    assert found is None, f"{where}: {found.group()!r} in {text[:120]!r}"


async def assert_renders_clean(store: Store, ids: list[int], detail_every: int = 1) -> None:
    """Every queue line and every `detail_every`-th detail pane of these mentions."""
    styles = {k: Style() for k in STYLE_NAMES}
    rows = await store.queue_rows(ids)
    for row in rows.values() if isinstance(rows, dict) else rows:
        clock = sla_state(row.sla_due_at, FROZEN)
        line = "".join(s.text for s in queue_segments(row, 120, clock, styles))
        assert_clean(line, "queue")
    for mention_id in ids[::detail_every]:
        detail = await store.detail(mention_id)
        assert detail is not None
        assert_clean(detail_content(detail, FROZEN).plain, "detail")
