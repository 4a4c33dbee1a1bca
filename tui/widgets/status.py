"""The bar above the queue: view tabs with counts, source health, demo notice."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from tui.render import safe
from tui.views import View

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
        views: list[View],
        current: int,
        counts: list[int],
        health: list[tuple[str, str, int]],
        demo: bool,
    ) -> None:
        parts: list[str | tuple[str, str]] = []
        for index, (view, count) in enumerate(zip(views, counts, strict=True)):
            style = "bold reverse $accent" if index == current else "$text-muted"
            parts += [(f" {index + 1} {safe(view.name)} {count} ", style), " "]
        parts.append("  ")
        for name, state, malformed in health:
            parts.append((f"● {safe(name)} {state}", HEALTH_STYLE.get(state, "bold $error")))
            if malformed:
                parts.append((f" ({malformed} malformed skipped)", "$warning"))
            parts.append("  ")
        if demo:
            parts.append(("DEMO: demo source + demo database", "bold $warning"))
        self.update(Content.assemble(*parts))
