"""The bar above the queue: view tabs with counts, source health, a demo or drill notice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from rich.cells import cell_len
from textual import events
from textual.content import Content
from textual.message import Message
from textual.style import Style
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


Health = list[tuple[str, str, int]]  # (source, state, malformed items skipped)
Fold = Callable[[Health], Health]


@dataclass(frozen=True)
class BarState:
    """Everything the bar shows."""

    views: list[str]
    current: int
    counts: list[int | None]  # None: not counted yet
    health: Health
    notice: str | None = None  # demo or drill
    breaches: int = 0
    new_above: int = 0
    selected: int = 0
    said: str | None = None  # the last decision's acknowledgement


def _fine(state: str) -> bool:
    return state.split(",")[0] in FINE


def _as_is(health: Health) -> Health:
    return health


def _fold_fine(health: Health) -> Health:
    """Troubled sources by name and state (no retry clock), healthy ones as a count (one by
    its name: "● demo ok" is shorter than "● 1 source ok")."""
    bare = [(n, s.split(",")[0], m) for n, s, m in health]
    troubled, fine = [h for h in bare if not _fine(h[1])], [h for h in bare if _fine(h[1])]
    return troubled + (fine if len(fine) < 2 else [(f"{len(fine)} sources", "ok", 0)])


def _fold_all(health: Health) -> Health:
    """Just which sources are in trouble; `h` tells the rest."""
    troubled = [n for n, s, _ in health if not _fine(s)]
    return [(", ".join(troubled), "in trouble (h)", 0)] if troubled else _fold_fine(health)


_LADDER = ((False, _as_is), (True, _as_is), (True, _fold_fine))  # (compact tabs, health fold)


def _shorter(said: str | None) -> list[str | None]:
    """An acknowledgement, then the same without its outcome ("#4 dismiss spam — accepted")."""
    if said is None or " — " not in said:
        return [said]
    return [said, said.rpartition(" — ")[0]]


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

    def show(self, state: BarState) -> None:
        # Sources in trouble first, so a narrow screen cuts the healthy ones, never those.
        state = replace(state, health=sorted(state.health, key=lambda h: _fine(h[1])))
        content = self._layout(state)
        if content.plain != self._content.plain or content.spans != self._content.spans:
            self._content = content
            self.refresh()

    def _layout(self, state: BarState) -> Content:
        """Full tabs if they fit, then compact ones, then fewer words about sources; at each,
        the whole acknowledgement, then without its outcome. Failing all, only its first
        MIN_SAID cells must fit. An acknowledgement may push the demo notice out, to its label."""
        width = self.size.width
        if width <= 0:
            return self._assemble(state, False, _as_is)
        for compact, fold in _LADDER:
            for said in _shorter(state.said):
                shown = replace(state, said=said)
                # News may push the notice out: then only the rest must fit.
                measured = shown if said is None else replace(shown, notice=None)
                if self._assemble(measured, compact, fold).cell_length <= width:
                    return self._fitted(shown, compact, fold, width)
        room = width + (max(0, cell_len(state.said) - MIN_SAID) if state.said else 0)
        for compact, fold in _LADDER:
            if self._assemble(state, compact, fold).cell_length <= room:
                return self._fitted(state, compact, fold, width)
        return self._fitted(state, True, _fold_all, width)

    def _fitted(self, state: BarState, compact: bool, fold: Fold, width: int) -> Content:
        """As assembled, but a notice that would be cut keeps only its label ("DEMO")."""
        content = self._assemble(state, compact, fold)
        if state.notice and content.cell_length > width:
            content = self._assemble(
                replace(state, notice=state.notice.partition(":")[0]), compact, fold
            )
        return content

    def _assemble(self, state: BarState, compact: bool, fold: Fold) -> Content:
        return Content.assemble(
            *self._tabs(state.views, state.current, state.counts, compact=compact),
            *self._rest(replace(state, health=fold(state.health))),
        )

    class TabClicked(Message):
        def __init__(self, view: int) -> None:
            super().__init__()
            self.view = view

    def on_click(self, event: events.Click) -> None:
        # The tab's own mark, not an "@click" action: that would restyle the tabs as links.
        view = event.style.meta.get("view")
        if isinstance(view, int):
            self.post_message(self.TabClicked(view))

    def render(self) -> Content:
        return self._content

    @staticmethod
    def _tabs(
        views: list[str], current: int, counts: list[int | None], *, compact: bool
    ) -> list[Content | str]:
        """One clickable tab a view (the mouse works, never needed)."""
        parts: list[Content | str] = []
        for index, (name, counted) in enumerate(zip(views, counts, strict=True)):
            count = "…" if counted is None else counted  # not counted yet: never a false 0
            if index == current:
                tab = Content.styled(f" {index + 1} {safe(name)} {count} ", "bold reverse $accent")
            elif compact:
                tab = Content.styled(f"{index + 1}:{count}", "$text-muted")
            else:
                tab = Content.styled(f" {index + 1} {safe(name)} {count} ", "$text-muted")
            parts += [tab.stylize(Style.from_meta({"view": index})), " "]
        return parts

    @staticmethod
    def _rest(state: BarState) -> list[str | tuple[str, str]]:
        parts: list[str | tuple[str, str]] = []
        if state.new_above:
            parts += [(f" ↑ {state.new_above} new ", "bold reverse $success"), " "]
        if state.selected:
            parts += [(f" {state.selected} selected ", "bold reverse $secondary"), " "]
        if state.breaches:
            parts += [(f" {state.breaches} past SLA ", "bold reverse $error"), " "]
        parts.append(" ")
        for name, health, malformed in state.health:
            parts.append((f"● {safe(name)} {health}", health_style(health)))
            if malformed:
                parts.append((f" ({malformed} malformed skipped)", "$warning"))
            parts.append("  ")
        if state.said:  # after any trouble, before the notice: it is the newer news
            parts += [(f"✓ {safe(state.said)}", "$success"), "  "]
        if state.notice:
            parts.append((state.notice, "bold $warning"))
        return parts
