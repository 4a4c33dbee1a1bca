"""The queue: a Line-API list over `QueueModel` (DESIGN §6), one line per mention.

It draws only the visible lines and never builds a widget per row, so cost per keypress does
not grow with the queue. Rows it has not got yet draw as a placeholder and are requested
with `NeedRows`; the app fetches them and calls `refresh`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui import render
from tui.queue_model import QueueModel
from tui.view_delta import Delta

AHEAD = 20  # rows read beyond the last line on screen, so a few keys down need no read
UNSIZED = 40  # lines assumed before the first layout
LINES_KEPT = 256  # drawn lines kept: a few screens' worth, even on a tall terminal


class QueueList(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", id="down", show=False),
        Binding("k,up", "cursor_up", "Up", id="up", show=False),
        Binding("pagedown", "page_down", "Page down", id="page_down", show=False),
        Binding("pageup", "page_up", "Page up", id="page_up", show=False),
        Binding("home,g", "first", "First", id="first", show=False),
        Binding("end,G", "last", "Last", id="last", show=False),
    ]
    COMPONENT_CLASSES = {
        "queue--cursor",
        "queue--urgent",
        "queue--high",
        "queue--normal",
        "queue--low",
        "queue--meta",
        "queue--soon",
        "queue--overdue",
        "queue--author",
        "queue--text",
        "queue--action",
        "queue--deleted",
        "queue--placeholder",
    }
    DEFAULT_CSS = """
    QueueList { background: $surface; overflow-x: hidden; }
    QueueList > .queue--cursor {
        background: $block-cursor-blurred-background; color: $block-cursor-blurred-foreground;
    }
    QueueList:focus > .queue--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
    }
    QueueList > .queue--urgent { color: $error; text-style: bold; }
    QueueList > .queue--high { color: $warning; text-style: bold; }
    QueueList > .queue--normal { color: $text-muted; }
    QueueList > .queue--low { color: $text-disabled; }
    QueueList > .queue--meta { color: $text-muted; }
    QueueList > .queue--overdue { color: $error; text-style: bold reverse; }
    QueueList > .queue--soon { color: $warning; text-style: bold; }
    QueueList > .queue--author { color: $text-secondary; }
    QueueList > .queue--text { color: $text; }
    QueueList > .queue--action { color: $success; }
    QueueList > .queue--deleted { color: $text-disabled; text-style: strike; }
    QueueList > .queue--placeholder { color: $text-disabled; }
    """

    # No repaint of its own: watch_cursor redraws the two lines that change (a scroll, all).
    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Highlighted(Message):
        """The cursor is on a different mention (or on none: `mention_id` None)."""

        def __init__(self, mention_id: int | None) -> None:
            super().__init__()
            self.mention_id = mention_id

    class NeedRows(Message):
        """Lines in view have no row data yet."""

        def __init__(self, ids: list[int]) -> None:
            super().__init__()
            self.ids = ids

    def __init__(
        self,
        model: QueueModel,
        clock: Callable[[], datetime],
        selected: set[int],
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.model = model
        self.clock = clock
        self.selected = selected  # the app's bulk selection, drawn with a marker
        self.new_above = 0  # arrivals above the visible lines since the responder looked
        self._highlighted: int | None = None
        self._requested: set[int] = set()
        self._style_cache: dict[bool, dict[str, Style]] = {}
        self._clocks: dict[int, tuple[str, str]] = {}  # each row's SLA clock as last drawn
        # Lines as drawn, by what they show: arrivals move every line down, and drawing them
        # again was a third of a frame (12 -> 8 ms of CPU at 120x40), several a second.
        self._lines: LRUCache[tuple[object, ...], list[Segment]] = LRUCache(LINES_KEPT)

    # -- model changes -----------------------------------------------------------------

    def reload(self, ids: list[int], members: set[int] | None = None) -> None:
        """A new ordering from the store (`members`: its set, if built off the loop); keeps
        the cursor on its mention."""
        before, shown = self.model.members, self._shown()
        top_id = self._scrolled_top()
        cursor = self.model.replace(ids, self.cursor, members)
        if before and top_id is not None and (top := self.model.index_of(top_id)) is not None:
            # Count arrivals that landed above what the responder is looking at; the cursor
            # stays on its mention, and the status bar says "N new" instead of jumping.
            self.new_above += top - sum(map(before.__contains__, ids[:top]))
        self._changed(cursor, shown)

    def _scrolled_top(self) -> int | None:
        """The mention on the first visible line, when the list is scrolled: at the very top,
        arrivals above it are on screen, and scrolling up (which clears "N new") cannot be
        done."""
        top = int(self.scroll_y)
        return self.model.id_at(top) if top else None

    def apply(self, change: Delta) -> None:
        """What changed since the view was read (tui.view_delta); the cursor stays on its
        mention, and arrivals above the top line count as "N new", as in `reload`."""
        shown, top = self._shown(), int(self.scroll_y)
        if self._scrolled_top() is not None and top not in change.gone:
            self.new_above += sum(index <= top for index, _ in change.joined)
        self._changed(self.model.apply(change, self.cursor), shown)

    def drop(self, gone: set[int]) -> None:
        """Mentions that left the view (decided, here or on another desk)."""
        shown = self._shown()
        self._changed(self.model.remove(gone, self.cursor), shown)

    def _shown(self) -> list[int]:
        top = int(self.scroll_y)
        return self.model.ids[top : top + self.size.height]

    def _changed(self, cursor: int, shown: list[int]) -> None:
        self._clocks = {k: v for k, v in self._clocks.items() if k in self.model}
        self._requested = {i for i in self._requested if i in self.model}
        self._resize_virtual(len(self.model))
        self.cursor = cursor  # redraws the cursor's lines
        if self._shown() != shown:  # arrivals below the screen need no frame of their own
            self.refresh()

    def _resize_virtual(self, rows: int) -> None:
        """Setting `virtual_size` lays out the whole screen (10-20 ms with the detail pane),
        and arrivals change it several times a second. Unless the scrollbar appears or goes,
        only the scrollbar and the scroll limits need to know, as Textual itself does it when
        a size changes without a layout (`Widget._size_updated`)."""
        size = Size(0, rows)
        height = self.scrollable_content_region.height
        if not self.is_mounted or (rows > height) != (self.virtual_size.height > height):
            self.virtual_size = size
            return
        self.set_reactive(QueueList.virtual_size, size)
        self._scroll_update(size)

    def tick(self) -> None:
        """Once a second: redraw only the lines whose SLA clock now reads differently."""
        now = self.clock()
        top = int(self.scroll_y)
        for y in range(self.size.height):
            row = self.model.row_at(top + y)
            if row is None:
                continue
            shown = render.sla_state(row.sla_due_at, now)
            if self._clocks.get(row.id) != shown:
                self._clocks[row.id] = shown
                self.refresh(Region(0, y, self.size.width, 1))

    def rows_arrived(self) -> None:
        self._requested.clear()
        self.refresh()

    # -- cursor --------------------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.model) - 1))

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if int(new) == 0:
            self.new_above = 0

    def watch_cursor(self, old: int, new: int) -> None:
        if old != new:
            self.refresh(Region(0, old - int(self.scroll_y), self.size.width, 1))
        self.scroll_to_region(Region(0, new, 1, 1), animate=False, force=True, immediate=True)
        self.refresh(Region(0, new - int(self.scroll_y), self.size.width, 1))
        mention_id = self.model.id_at(new)
        if mention_id != self._highlighted:
            self._highlighted = mention_id
            self.post_message(self.Highlighted(mention_id))

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_page_down(self) -> None:
        self.cursor += max(self.size.height - 1, 1)

    def action_page_up(self) -> None:
        self.cursor -= max(self.size.height - 1, 1)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self.model) - 1

    def on_click(self, event: events.Click) -> None:
        """A click selects the line under it; nothing in a mention is ever clickable."""
        self.focus()
        self.cursor = int(self.scroll_y) + event.y

    def on_resize(self) -> None:
        self.virtual_size = Size(0, len(self.model))

    # -- drawing ----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.scrollable_content_region.width
        if index >= len(self.model):
            return Strip.blank(width, self.rich_style)
        row = self.model.row_at(index)
        if row is None:
            # Drawing runs in the screen's context; a message posted from here would carry
            # the screen as sender and stop bubbling there. Ask from our own context instead.
            self.call_later(self._request_visible)
            return Strip([Segment(render.fit("…", width), self._styles(False)["placeholder"])])
        on_cursor, selected = index == self.cursor, row.id in self.selected
        clock = self._clocks[row.id] = render.sla_state(row.sla_due_at, self.clock())
        key = (row, width, on_cursor, selected, clock)
        segments = self._lines.get(key)
        if segments is None:
            styles = self._styles(on_cursor)
            drawn = render.queue_segments(row, width, clock, styles, selected)
            strip = Strip(drawn).crop_extend(0, width, styles["line"])
            segments = list(strip.apply_style(styles["line"]))
            self._lines.set(key, segments)
        # A new Strip each time: a kept one would keep the Strips Textual derives from it in
        # its caches, thousands of objects more for every full collection to walk.
        return Strip(segments, width)

    def first_screenful(self, ids: list[int]) -> list[int]:
        """Of a new list, the ids drawn first (and a few beyond): the rows to read with it."""
        return ids[: (self.size.height or UNSIZED) + AHEAD]

    def _request_visible(self) -> None:
        top = int(self.scroll_y)
        wanted = [
            i
            for i in self.model.missing(top, top + self.size.height + AHEAD)
            if i not in self._requested
        ]
        if wanted:
            self._requested.update(wanted)
            self.post_message(self.NeedRows(wanted))

    def _style(self, name: str) -> Style:
        return self.rich_style + self.get_component_rich_style(f"queue--{name}")

    def _styles(self, on_cursor: bool) -> dict[str, Style]:
        """Rich styles per part of a line; on the cursor line, one readable style for the
        whole line, as DataTable does. Worked out once per style change, not per line:
        resolving CSS is most of the cost of drawing a line otherwise."""
        cached = self._style_cache.get(on_cursor)
        if cached is not None:
            return cached
        names = (
            "soon",
            "urgent",
            "high",
            "normal",
            "low",
            "meta",
            "overdue",
            "author",
            "text",
            "action",
            "deleted",
            "placeholder",
        )
        styles = {name: self._style(name) for name in names}
        if on_cursor:
            cursor = self.rich_style + self.get_component_rich_style("queue--cursor")
            styles = dict.fromkeys(styles, cursor)
            styles["line"] = cursor
        else:
            styles["line"] = self.rich_style
        self._style_cache[on_cursor] = styles
        return styles

    def notify_style_update(self) -> None:
        self._style_cache.clear()  # a theme or focus change: resolve the styles again
        self._lines.clear()
        super().notify_style_update()
