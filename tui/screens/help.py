"""`?`: the active key map, so remapped keys are shown as they really are."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="close_help")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 64; height: auto; max-height: 80%; border: round $accent; background: $panel;
        padding: 1 2;
    }
    """

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        parts: list[str | tuple[str, str]] = [("Keys\n\n", "bold $accent")]
        for keys, description in self.rows:
            parts += [(f"{keys:>14}", "bold"), f"  {description}\n"]
        parts.append(("\nRemap any of these under [keys] in the config, by binding id.", "dim"))
        with VerticalScroll():
            yield Static(Content.assemble(*parts))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class InfoScreen(ModalScreen[None]):
    """A titled page of plain text (a backtest's output, say), scrollable, esc to close."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="close_info")]
    DEFAULT_CSS = """
    InfoScreen { align: center middle; }
    InfoScreen > VerticalScroll {
        width: 90%; height: auto; max-height: 85%; border: round $accent; background: $panel;
        padding: 1 2;
    }
    """

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Content.assemble((self.title_text + "\n\n", "bold $accent"), self.body))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
