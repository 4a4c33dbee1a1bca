"""A yes/no question before something that cannot be taken back (a live send, a deletion)."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.render import safe

# Seconds a question is shown before a key answers it: a key typed on from what came before
# (`n` for the next mention, right after ctrl+s sent a reply) said "no" to a question nobody
# had read, and the reply was gone. Browsers hold their permission prompts' buttons likewise.
READ_FIRST = 0.5


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
        self._asked = time.monotonic()

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

    def on_mount(self) -> None:
        self._asked = time.monotonic()

    def action_answer(self, yes: bool) -> None:
        if time.monotonic() - self._asked < READ_FIRST:
            self.app.bell()  # too soon to be an answer to this
            return
        self.dismiss(yes)
