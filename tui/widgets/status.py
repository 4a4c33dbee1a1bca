"""The bar above the queue: view tabs with counts, source health, a demo or drill notice."""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

from sources.contract import FINE
from tui.render import safe

HEALTH_STYLE = {
    "ok": "$success",
    "idle": "$success",
    "starting": "$text-muted",
    "backing off": "$warning",
    "rate limited": "$warning",
    "standby": "$text-muted",
}


def _fold_fine(health: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """Troubled sources by name and state (no retry clock), healthy ones as a count."""
    troubled = [(n, s.split(",")[0], m) for n, s, m in health if s.split(",")[0] not in FINE]
    fine = len(health) - len(troubled)
    return troubled + ([(f"{fine} source{'' if fine == 1 else 's'}", "ok", 0)] if fine else [])


def _fold_all(health: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """Just which sources are in trouble; `h` tells the rest."""
    troubled = [n for n, s, _ in health if s.split(",")[0] not in FINE]
    return [(", ".join(troubled), "in trouble (h)", 0)] if troubled else _fold_fine(health)


def health_style(state: str) -> str:
    """'rate limited, retry in 4m' is styled as 'rate limited'; unknown states as errors."""
    return HEALTH_STYLE.get(state.split(",")[0], "bold $error")


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
        counts: list[int | None],
        health: list[tuple[str, str, int]],
        notice: str | None,
        *,
        breaches: int = 0,
        new_above: int = 0,
        selected: int = 0,
    ) -> None:
        # Sources in trouble first, so a narrow screen cuts the healthy ones, never those.
        health = sorted(health, key=lambda h: h[1].split(",")[0] in FINE)
        rest = self._rest(health, notice, breaches, new_above, selected)
        content = Content.assemble(*self._tabs(views, current, counts, compact=False), *rest)
        width = self.size.width
        if content.cell_length > width > 0:  # narrow: other tabs as "2:9"
            content = Content.assemble(*self._tabs(views, current, counts, compact=True), *rest)
        for fold in (_fold_fine, _fold_all):  # narrower still: fewer words about sources
            if content.cell_length <= width or width <= 0:
                break
            rest = self._rest(fold(health), notice, breaches, new_above, selected)
            content = Content.assemble(*self._tabs(views, current, counts, compact=True), *rest)
        if content.plain != self._content.plain or content.spans != self._content.spans:
            self._content = content
            self.refresh()

    def render(self) -> Content:
        return self._content

    @staticmethod
    def _tabs(
        views: list[str], current: int, counts: list[int | None], *, compact: bool
    ) -> list[str | tuple[str, str]]:
        parts: list[str | tuple[str, str]] = []
        for index, (name, counted) in enumerate(zip(views, counts, strict=True)):
            count = "…" if counted is None else counted  # not counted yet: never a false 0
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
        notice: str | None,
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
            parts.append((f"● {safe(name)} {state}", health_style(state)))
            if malformed:
                parts.append((f" ({malformed} malformed skipped)", "$warning"))
            parts.append("  ")
        if notice:
            parts.append((notice, "bold $warning"))
        return parts
