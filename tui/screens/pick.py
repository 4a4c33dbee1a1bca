"""Pick one value from a list, or type one: dismiss reasons, teams, tags, snoozes, people.

One screen serves every action that needs a value: type to narrow the list or to enter a value
that is not in it, arrows to move, enter to choose, a digit to choose directly, esc to cancel.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.render import safe
from tui.screens.dialog import bound_to


class PickScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel_pick"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]
    DEFAULT_CSS = """
    PickScreen { align: center middle; }
    PickScreen > Vertical {
        width: 52; height: auto; max-height: 80%; border: round $accent; background: $panel;
        padding: 0 1;
    }
    PickScreen OptionList { height: auto; max-height: 16; border: none; }
    PickScreen Input { border: tall $boost; }
    """

    def __init__(
        self,
        title: str,
        choices: list[str],
        *,
        preselect: str | None = None,
        custom: bool = True,
        hint: str = "",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(dict.fromkeys(choices))
        self._visible = self.choices  # what typing has narrowed it to (filled on mount)
        self.preselect = preselect
        self.custom = custom
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.assemble((self.title_text, "bold"), ("  " + self.hint, "dim")))
            placeholder = "type to filter or enter a new value" if self.custom else "type to filter"
            yield Input(placeholder=placeholder)
            yield OptionList()

    def on_mount(self) -> None:
        self._fill("")
        options = self.query_one(OptionList)
        if self.preselect in self.choices:
            options.highlighted = self._visible.index(self.preselect)
        self.query_one(Input).focus()

    def _fill(self, typed: str) -> None:
        needle = typed.strip().lower()
        self._visible = [c for c in self.choices if needle in c.lower()]
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(
            Option(Content(f"{i}  {safe(c)}" if i <= 9 else f"   {safe(c)}"), id=c)
            for i, c in enumerate(self._visible, start=1)
        )
        if self._visible:
            options.highlighted = 0

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        value = event.value
        if value.isdigit() and 1 <= int(value) <= min(9, len(self._visible)):
            self.dismiss(self._visible[int(value) - 1])
            return
        self._fill(value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        typed = event.value.strip()
        if options.highlighted is not None and self._visible:
            self.dismiss(self._visible[options.highlighted])
        elif typed and self.custom:
            self.dismiss(typed)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if self._visible:
            current = options.highlighted or 0
            options.highlighted = (current + step) % len(self._visible)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def may_close(self, key: str) -> bool:
        """Whether `key` can answer this (a listed digit picks, enter picks, cancel cancels).
        Typing only narrows the list, so a digit past its end now never picks."""
        if key.isdigit():
            return 1 <= int(key) <= min(9, len(self._visible))
        return key == "enter" or bound_to(self, key, {"cancel"})
