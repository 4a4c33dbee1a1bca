"""The detail pane: everything about the highlighted mention, scrollable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tui import render
from tui.records import Detail


class DetailPane(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    DetailPane { padding: 0 1; background: $panel; }
    DetailPane > #detail-body { width: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[int | None, Content] = (None, Content("Nothing selected."))

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(self._shown[1], id="detail-body")

    def show(self, detail: Detail | None, now: datetime) -> None:
        """Shown again after every write to the database (another desk's, or ingest's), so
        an unchanged pane is left alone: no layout of the screen, and a reader scrolled down
        a long post keeps their place. A different mention starts at its top."""
        shown: tuple[int | None, Content]
        if detail is None:
            shown = (None, Content("The queue is empty. New mentions appear here as they arrive."))
        else:
            shown = (detail.id, render.detail_content(detail, now))
        (was_id, was), (mention_id, content) = self._shown, shown
        if mention_id == was_id and content.plain == was.plain and content.spans == was.spans:
            return
        for body in self.query("#detail-body").results(Static):  # none while the desk
            body.update(content)  # closes: its children go first
        self._shown = shown
        if mention_id != was_id:
            self.scroll_home(animate=False)
