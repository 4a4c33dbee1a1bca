"""The bar above the queue: view tabs with counts, source health, demo notice."""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

from tui.render import safe

HEALTH_STYLE = {
    "ok": "$success",
    "idle": "$success",
    "starting": "$text-muted",
    "backing off": "$warning",
    "rate limited": "$warning",
    "standby": "$text-muted",
}


class StatusBar(Widget):
    """One line, redrawn in place: it changes every second, and a layout pass for it (what
    `Static.update` asks for) would repaint the whole desk each time."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $boost; padding: 0 1; }
    """

    def __init__(self, **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._content = Content("")

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
        rest = self._rest(health, demo, breaches, new_above, selected)
        content = Content.assemble(*self._tabs(views, current, counts, compact=False), *rest)
        if content.cell_length > self.size.width > 0:  # narrow: other tabs as "2:9"
            content = Content.assemble(*self._tabs(views, current, counts, compact=True), *rest)
        if content.plain != self._content.plain or content.spans != self._content.spans:
            self._content = content
            self.refresh()

    def render(self) -> Content:
        return self._content

    @staticmethod
    def _tabs(
        views: list[str], current: int, counts: list[int], *, compact: bool
    ) -> list[str | tuple[str, str]]:
        parts: list[str | tuple[str, str]] = []
        for index, (name, count) in enumerate(zip(views, counts, strict=True)):
            if index == current:
                parts += [(f" {index + 1} {safe(name)} {count} ", "bold reverse $accent"), " "]
            elif compact:
                parts += [(f"{index + 1}:{count}", "$text-muted"), " "]
            else:
                parts += [(f" {index + 1} {safe(name)} {count} ", "$text-muted"), " "]
        return parts

    @staticmethod
    def _rest(
        health: list[tuple[str, str, int]],
        demo: bool,
        breaches: int,
        new_above: int,
        selected: int,
    ) -> list[str | tuple[str, str]]:
        parts: list[str | tuple[str, str]] = []
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
        return parts
