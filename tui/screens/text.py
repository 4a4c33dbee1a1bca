"""Write a reply or a note: a small editor, prefilled with the suggested template."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from tui.screens.dialog import bound_to


class TextScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("ctrl+s", "send", "Log it", id="send_text", priority=True),
        Binding("escape", "cancel", "Cancel", id="cancel_text"),
    ]
    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    TextScreen > Vertical {
        width: 80%; max-width: 100; height: auto; border: round $accent; background: $panel;
        padding: 0 1;
    }
    TextScreen TextArea { height: 10; }
    """

    def __init__(self, title: str, initial: str = "", note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.initial = initial
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Content.assemble(
                    (self.title_text, "bold"), ("   ctrl+s logs it, esc cancels", "dim")
                )
            )
            if self.note:
                yield Static(Content(self.note), classes="note")
            yield TextArea(self.initial, soft_wrap=True, show_line_numbers=False)

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    def action_send(self) -> None:
        text = self.query_one(TextArea).text.strip()
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def may_close(self, key: str) -> bool:
        """Whether `key` can answer this (log it, or cancel)."""
        return bound_to(self, key, {"send", "cancel"})
