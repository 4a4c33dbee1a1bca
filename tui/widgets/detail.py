"""The detail pane: everything about the highlighted mention, scrollable."""

from __future__ import annotations

from datetime import datetime

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

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Content("Nothing selected."), id="detail-body")

    def show(self, detail: Detail | None, now: datetime) -> None:
        body = self.query_one("#detail-body", Static)
        if detail is None:
            body.update(Content("The queue is empty. New mentions appear here as they arrive."))
        else:
            body.update(render.detail_content(detail, now))
        self.scroll_home(animate=False)
