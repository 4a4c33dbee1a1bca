"""The bar above the queue: view tabs with counts, source health, demo notice."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from tui.render import safe

HEALTH_STYLE = {
    "ok": "$success",
    "idle": "$success",
    "starting": "$text-muted",
    "backing off": "$warning",
    "rate limited": "$warning",
}


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $boost; padding: 0 1; }
    """

    def show(
        self,
        views: list[str],
        current: int,
        counts: list[int],
        health: list[tuple[str, str, int]],
        demo: bool,
        *,
        breaches: int = 0,
        new_above: int = 0,
        selected: int = 0,
    ) -> None:
        parts: list[str | tuple[str, str]] = []
        for index, (name, count) in enumerate(zip(views, counts, strict=True)):
            style = "bold reverse $accent" if index == current else "$text-muted"
            parts += [(f" {index + 1} {safe(name)} {count} ", style), " "]
        if new_above:
            parts += [(f" ↑ {new_above} new ", "bold reverse $success"), " "]
        if selected:
            parts += [(f" {selected} selected ", "bold reverse $secondary"), " "]
        if breaches:
            parts += [(f" {breaches} past SLA ", "bold reverse $error"), " "]
        parts.append(" ")
        for name, state, malformed in health:
            parts.append((f"● {safe(name)} {state}", HEALTH_STYLE.get(state, "bold $error")))
            if malformed:
                parts.append((f" ({malformed} malformed skipped)", "$warning"))
            parts.append("  ")
        if demo:
            parts.append(("DEMO: demo source + demo database", "bold $warning"))
        self.update(Content.assemble(*parts))
