"""A yes/no question before something that cannot be taken back (a live send, a deletion)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.render import safe


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm_yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm_no"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 64; height: auto; border: round $warning; background: $panel; padding: 1 2;
    }
    """

    def __init__(self, title: str, question: str) -> None:
        super().__init__()
        self.title_text = title
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Content.assemble(
                    (safe(self.title_text), "bold $warning"),
                    "\n\n",
                    safe(self.question),
                    "\n\n",
                    ("y", "bold"),
                    " yes   ",
                    ("n", "bold"),
                    " / ",
                    ("esc", "bold"),
                    " no",
                )
            )

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
