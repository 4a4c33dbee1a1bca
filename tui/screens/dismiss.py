"""`x`: pick why a mention is dismissed; the reason is logged with the decision."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

REASONS = ("spam", "off-topic", "duplicate", "not actionable", "handled elsewhere")


class DismissScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_dismiss")]
    DEFAULT_CSS = """
    DismissScreen { align: center middle; }
    DismissScreen > Vertical {
        width: 40; height: auto; border: round $accent; background: $panel; padding: 0 1;
    }
    DismissScreen OptionList { height: auto; border: none; }
    """

    def __init__(self, suggested: str | None = None) -> None:
        super().__init__()
        self.suggested = suggested

    def compose(self) -> ComposeResult:
        reasons = list(REASONS)
        if self.suggested and self.suggested not in reasons:
            reasons.insert(0, self.suggested)
        with Vertical():
            yield Static(Content("Dismiss because…  (enter picks, esc cancels)"))
            options = [Option(Content(f"{i}  {r}"), id=r) for i, r in enumerate(reasons, start=1)]
            yield OptionList(*options)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.suggested:
            options.highlighted = options.get_option_index(self.suggested)
        else:
            options.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def on_key(self, event: object) -> None:
        key = getattr(event, "character", None)
        options = self.query_one(OptionList)
        if key and key.isdigit() and 1 <= int(key) <= options.option_count:
            self.dismiss(options.get_option_at_index(int(key) - 1).id)

    def action_cancel(self) -> None:
        self.dismiss(None)
