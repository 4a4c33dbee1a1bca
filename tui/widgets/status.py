"""The bar above the queue: view tabs with counts, source health, a demo or drill notice."""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len
from textual.content import Content
from textual.widget import Widget

from sources.contract import FINE
from tui.render import safe

MIN_SAID = 24  # cells of a decision's acknowledgement the layout makes room for

HEALTH_STYLE = {
    "ok": "$success",
    "idle": "$success",
    "starting": "$text-muted",
    "backing off": "$warning",
    "rate limited": "$warning",
    "standby": "$text-muted",
}


def _as_is(health: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    return health


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
        said: str | None = None,
    ) -> None:
        # Sources in trouble first, so a narrow screen cuts the healthy ones, never those.
        health = sorted(health, key=lambda h: h[1].split(",")[0] in FINE)
        marks = (breaches, new_above, selected)
        compact, fold = self._layout(views, current, counts, health, notice, marks, said)
        content = Content.assemble(
            *self._tabs(views, current, counts, compact=compact),
            *self._rest(fold(health), notice, *marks, said=said),
        )
        if content.plain != self._content.plain or content.spans != self._content.spans:
            self._content = content
            self.refresh()

    def _layout(
        self,
        views: list[str],
        current: int,
        counts: list[int | None],
        health: list[tuple[str, str, int]],
        notice: str | None,
        marks: tuple[int, int, int],
        said: str | None,
    ) -> tuple[bool, Callable[[list[tuple[str, str, int]]], list[tuple[str, str, int]]]]:
        """Whether the tabs are compact and how the sources fold to fit the width: full tabs
        if they fit, then compact, then fewer words about sources. Of an acknowledgement,
        only its first MIN_SAID cells must fit."""
        width = self.size.width + (max(0, cell_len(said) - MIN_SAID) if said else 0)
        for compact, fold in ((False, _as_is), (True, _as_is), (True, _fold_fine)):
            tabs = self._tabs(views, current, counts, compact=compact)
            rest = self._rest(fold(health), notice, *marks, said=said)
            if self.size.width <= 0 or Content.assemble(*tabs, *rest).cell_length <= width:
                return compact, fold
        return True, _fold_all

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
        *,
        said: str | None = None,
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
        if said:
            parts += [(f"✓ {safe(said)}", "$success"), "  "]
        if notice:
            parts.append((notice, "bold $warning"))
        return parts
