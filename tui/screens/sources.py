"""`h`: every source's health in full — state, when it retries, last success, counts, and
the last errors in plain words (all of it untrusted text from servers, shown as text)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import groupby

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.render import safe
from tui.source_health import SourceLine, ago
from tui.widgets.status import health_style


class SourcesScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,h,q", "dismiss", "Close", id="close_sources")]
    DEFAULT_CSS = """
    SourcesScreen { align: center middle; }
    SourcesScreen > VerticalScroll {
        width: 90%; max-width: 110; height: auto; max-height: 85%; border: round $accent;
        background: $panel; padding: 1 2;
    }
    """

    def __init__(
        self, lines: Callable[[], list[SourceLine]], clock: Callable[[], datetime]
    ) -> None:
        super().__init__()
        self.lines = lines
        self.clock = clock
        self.body = Static()

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield self.body

    def on_mount(self) -> None:
        self._show()
        self.set_interval(1.0, self._show)  # retry clocks count down while it is open

    def _show(self) -> None:
        self.now = self.clock()
        lines = self.lines()
        parts: list[str | tuple[str, str]] = [("Sources\n", "bold $accent")]
        for line in lines:
            parts += self._one(line)
        if not lines:
            parts.append("\nNo sources configured.\n")
        parts.append(("\n`triage sources check` tries each one from the shell.", "dim"))
        self.body.update(Content.assemble(*parts))

    def _one(self, line: SourceLine) -> list[str | tuple[str, str]]:
        parts: list[str | tuple[str, str]] = [
            "\n",
            (f"● {safe(line.name)}", f"bold {health_style(line.state)}"),
            (f"  {safe(line.type)}  ", "dim"),
            (line.short(self.now), health_style(line.state)),
        ]
        if line.elsewhere:
            parts.append(("  (fetched by another desk)", "dim"))
        parts.append(
            f"\n  last success {ago(line.last_success, self.now)} · {line.received} received"
            f" · {line.malformed} malformed skipped\n"
        )
        errors = line.errors or ((line.last_error,) if line.last_error else ())
        for error, times in _runs(errors):
            again = f" (×{times})" if times > 1 else ""
            parts += ["  ", (safe(error), "$text-warning"), (again, "dim"), "\n"]
        return parts

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


def _runs(errors: Sequence[str]) -> list[tuple[str, int]]:
    """The same error over and over is one line with a count."""
    return [(error, len(list(group))) for error, group in groupby(errors)]
