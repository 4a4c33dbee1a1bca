"""The footer of keys, rebuilt only when what it shows changes.

Textual's Footer rebuilds all of its keys (a widget each) on every bindings signal: a focus
change, a keymap set, the app gaining focus. The desk starting sent eight, each after the
last had been drawn: ~40 ms of its first screen on a slow machine, for one footer's worth.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.widgets import Footer


class Keys(Footer):
    _shown: Hashable = None

    async def recompose(self) -> None:
        shown = self._showing()
        if shown != self._shown:
            self._shown = shown
            await super().recompose()

    def _showing(self) -> Hashable:
        """What `Footer.compose` builds from: every active binding, as displayed."""
        if not self._bindings_ready:
            return None
        app = self.app
        return (
            self.compact,
            self.show_command_palette,
            tuple(
                (key, app.get_key_display(b), b.description, b.action, b.show, enabled, tooltip)
                for key, (_, b, enabled, tooltip) in self.screen.active_bindings.items()
            ),
        )
