"""The desk: the Textual application that responders work in (DESIGN §6).

The app wires widgets to the store. Queue order, filtering, claims and the decision log live
in headless modules (`tui.store`, `tui.ledger`, `tui.query`); this module turns keys into
intents and shows what the store answered, never claiming success before the commit.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.dom import DOMNode
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input

from playbooks.engine import Engine
from sources.http import new_client, warm_up
from tui import collector, deliver, dispatch, search, view_delta
from tui import intents as intents_for
from tui.dispatch import Dispatcher
from tui.holders import session_id
from tui.ingest import IngestRunner
from tui.ledger import Intent, Who
from tui.outbox import FAILING
from tui.playbook_cmds import Watcher, load_engine, playbook_paths
from tui.query import Query, QueryError, compile_query
from tui.queue_model import QueueModel
from tui.records import Detail, Entry, describe
from tui.render import safe
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.pick import PickScreen
from tui.screens.sources import SourcesScreen
from tui.screens.text import TextScreen
from tui.settings import ConfigError, Loaded
from tui.source_health import ALARMING, SourceLine
from tui.source_health import lines as source_lines
from tui.store import DecisionRefused, IngestResult, Mark, Store
from tui.timefmt import iso
from tui.views import View, context
from tui.widgets.detail import DetailPane
from tui.widgets.keys import Keys
from tui.widgets.queue import QueueList
from tui.widgets.status import BarState, StatusBar

Clock = Callable[[], datetime]
NARROW = 110  # below this many columns the detail pane moves under the queue
PLAYBOOK_POLL = 1.0  # seconds between checks for edited playbook files
OTHERS_POLL = 0.5  # seconds between checks for other desks' commits (PRAGMA data_version)
HEARTBEAT = 30.0  # seconds between claim renewals (the lease is 90 s)
FIRST_WINDOW = 200  # ids shown at once on a new view or filter, before the rest arrive
COUNT_EVERY = 2.0  # seconds between recounts of the view tabs
WHOLE_READ_EVERY = 60.0  # seconds a view goes at most on changes applied, without a whole read
CATCH_UP_MOST = 2000  # changed mentions worth applying one by one; more: read the view whole
FILTER_DEBOUNCE = 0.15  # seconds of quiet typing before the filter is applied
# Seconds a key typed ahead of a dialog that may close it (a digit, enter) is given to do so
# before the next is fed. A digit that picks closed it in 66-190 ms with both cores busy
# elsewhere; 30 ms was too short on a loaded CI machine, and the next key went into the
# closing dialog.
TYPED_AHEAD_PATIENCE = 1.0
ROUTINE = 4.0  # seconds the status bar says a decision was logged
FOREVER = frozenset({"ingest", "outbox", "search"})  # worker groups that live as long as the desk
DETAIL_DELAY = 0.06  # the detail pane follows the cursor this much later
REASONS = ["spam", "off-topic", "duplicate", "not actionable", "handled elsewhere"]
SNOOZES = ["30m", "1h", "4h", "1d", "3d"]


def _now() -> datetime:
    return datetime.now(UTC)


def asks_first(
    decide: Callable[[DeskApp], Coroutine[Any, Any, None]],
) -> Callable[[DeskApp], None]:
    """An action that asks in a dialog, then logs: run as the one "decide" worker, with the
    keys typed from now until it is logged held for its dialog and then for what follows."""

    @functools.wraps(decide)
    def action(app: DeskApp) -> None:
        app._held = [] if app._held is None else app._held
        app.run_worker(app._holding_keys(decide(app)), group="decide", exclusive=True)

    return action


class DeskApp(App[int]):
    CSS_PATH = "desk.tcss"
    TITLE = "triage"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "Accept", id="accept"),
        Binding("r", "reply", "Reply", id="reply"),
        Binding("e", "escalate", "Escalate", id="escalate"),
        Binding("t", "tag", "Tag", id="tag"),
        Binding("x", "dismiss_mention", "Dismiss", id="dismiss"),
        Binding("s", "snooze", "Snooze", id="snooze"),
        Binding("A", "assign", "Assign", id="assign", show=False),
        Binding("N", "note", "Note", id="note", show=False),
        Binding("c", "claim", "Claim", id="claim", show=False),
        Binding("n", "pull_next", "Next", id="pull_next"),
        Binding("u", "undo", "Undo", id="undo"),
        Binding("space", "select", "Select", id="select", show=False),
        Binding("asterisk", "select_all", "Select all", id="select_all", show=False),
        Binding("escape", "clear", "Clear", id="clear", show=False),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("o", "open_link", "Open link", id="open", show=False),
        Binding("J,shift+down", "scroll_detail(1)", "Detail down", id="detail_down", show=False),
        Binding("K,shift+up", "scroll_detail(-1)", "Detail up", id="detail_up", show=False),
        Binding("left_square_bracket", "cycle_view(-1)", "Prev view", id="prev_view", show=False),
        Binding("right_square_bracket", "cycle_view(1)", "Next view", id="next_view", show=False),
        *(
            Binding(str(n), f"switch_view({n - 1})", f"View {n}", id=f"view_{n}", show=False)
            for n in range(1, 10)
        ),
        Binding("v", "pick_view", "Views", id="views", show=False),
        Binding("h", "sources", "Sources", id="sources", show=False),
        Binding("question_mark", "help", "Keys", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        loaded: Loaded,
        engine: Engine,
        store: Store | None = None,
        *,
        clock: Clock = _now,
        ingest: bool = True,
        deliver: bool | None = None,
    ) -> None:
        super().__init__()
        self.loaded = loaded
        self.settings = loaded.settings
        self.engine = engine
        self._given_store = store  # None: open settings.db on mount, close on exit
        self.store: Store  # set in on_mount
        self.clock = clock
        self.ingest_enabled = ingest
        self.deliver_enabled = ingest if deliver is None else deliver
        self.dispatcher: Dispatcher | None = None
        self._live_confirmed = not loaded.settings.outbox.confirm_first
        self._failing = 0  # deliveries that failed or are retrying
        # host:pid:random, so a desk sharing the database can tell at once that this one died
        # and take over the sources it fetched (tui/holders.py).
        self.who = Who(self.settings.actor, session_id())
        self.views = [View(v.name, v.query) for v in self.settings.views]
        self.current_view = 0
        self.filter_text = ""
        self.filter_error: str | None = None
        self.model = QueueModel()
        self.selected: set[int] = set()
        self._dirty = False
        self._data_version = 0
        self._shown: dict[int, datetime] = {}  # mention id -> first time this actor saw it
        self.ingest_error: str | None = None
        self.playbook_error: str | None = None  # the last reload failed; the old engine runs
        self._playbooks = Watcher(playbook_paths(self.settings))
        self._counts: list[int | None] = [None] * len(self.views)  # None: not counted yet
        self._recount_due = self._counting = False
        self._said: tuple[str, float] | None = None  # the last "logged" line, and when
        self._held: list[events.Key] | None = None  # keys typed while a decision asks and logs
        self._breaches = 0
        self._stored_health: dict[str, dict[str, Any]] = {}  # as other desks last wrote it
        self._alarmed: dict[str, str] = {}  # sources we told the responder about, by state
        self._last_reload = self._last_count = 0.0
        self._filter_timer: Timer | None = None
        self._frozen_after_load = False
        self._reload_cost = 0.0  # seconds the last full reload took
        self._count_cost = 0.0  # and the last recount
        self._reloads = 0  # reloads started: only the latest one's ids are shown
        self._shown_version = -1  # the database's data_version the shown list was read at
        self._mark: Mark | None = None  # where the log stood when the shown list was read
        self._edited: set[int] = set()  # mentions our ingest changed since then
        self._caught_up = self._catch_up_cost = 0.0  # when and how long the last catch-up

    # -- layout and lifecycle -----------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Held directly rather than queried: timers touch them every second, and a timer
        # that fires while the desk is closing must not fail on a DOM already taken down.
        self.status_bar = StatusBar(id="status")
        self.filter_input = Input(
            placeholder='filter: words, "phrases", tag:x -source:y age:<1h', id="filter"
        )
        self.queue = QueueList(self.model, self.clock, self.selected, id="queue")
        self.detail = DetailPane(id="detail")
        yield self.status_bar
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.filter_input
                yield self.queue
            yield self.detail
        yield Keys()

    async def on_mount(self) -> None:
        self.store = self._given_store or await Store.open(self.settings.db, clock=self.clock)
        self._apply_keymap()
        self._fit(self.size.width)
        self.filter_input.display = False
        self.queue.focus()
        # Rules and SQLite work run in threads beside the event loop; hand the GIL back to the
        # loop every 1 ms rather than 5 ms, so a key never waits long behind a batch of ingest.
        sys.setswitchinterval(0.001)
        self._data_version = await self.store.data_version()
        await self.reload(fresh=True)
        # What exists now (modules, widgets, caches) lives as long as the desk: keep it out of
        # the collector's full passes (tui.collector says why).
        collector.settle()
        self.set_interval(0.1, self._reload_if_dirty)  # coalesce arrivals: <= 10 reloads/s
        self.set_interval(1.0, self._tick)  # SLA clocks, counts and health by the second
        self.set_interval(OTHERS_POLL, self._watch_others)
        self.set_interval(HEARTBEAT, self._heartbeat)
        self.set_interval(PLAYBOOK_POLL, self._reload_playbooks_if_changed)
        self.store.routes = deliver.routes(self.loaded, str(self.settings.db))
        if self.ingest_enabled:
            self.run_worker(self._ingest(), name="ingest", group="ingest", exit_on_error=False)
        if self.deliver_enabled:
            self.run_worker(self._deliver(), name="outbox", group="outbox", exit_on_error=False)
        self.run_worker(self._index(), name="search index", group="search", exit_on_error=False)
        if self.loaded.demo:
            why = " (no config found)" if self.loaded.config_path is None else ""
            self.notify(
                f"Running the demo source against the demo database{why}.",
                title="Demo mode",
                markup=False,
            )

    def on_resize(self, event: events.Resize) -> None:
        # The event's size: this handler runs before App's own, so `self.size` is the old one.
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        self.screen.set_class(width < NARROW, "-narrow")

    async def on_unmount(self) -> None:
        collector.release()
        if not hasattr(self, "store"):
            return
        await self.store.release_session(self.who)  # claims go back at once, not at lease end
        if self._given_store is None:
            await self.store.close()

    def _apply_keymap(self) -> None:
        known = binding_ids()
        unknown = sorted(set(self.settings.keys) - known)
        if unknown:
            self.notify(
                f"[keys] in config: unknown binding id {unknown[0]!r}; "
                f"known: {', '.join(sorted(known))}",
                severity="error",
                markup=False,
                timeout=15,
            )
        self.set_keymap({k: v for k, v in self.settings.keys.items() if k in known})

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every desk action that `screen` answers to, with the keys that trigger it there
        (so no dialog's "Cancel", which would do nothing from the desk)."""
        yield from super().get_system_commands(screen)
        active = _active_by_id(screen)
        for binding in declared_bindings():
            if binding.id in active and not binding.id.startswith("view_"):
                node, keys = active[binding.id]

                def run(action: str = binding.action, node: DOMNode = node) -> None:
                    self.run_worker(self.run_action(action, node))

                yield SystemCommand(binding.description, f"key: {', '.join(keys)}", run)

    # -- background work -------------------------------------------------------------

    async def _ingest(self) -> None:
        runner = IngestRunner(
            self.store,
            self.loaded.sources,
            lambda: self.engine,
            on_batch=self._arrived,
            clock=self.clock,
            session=self.who.session,
            # The line worker nearly doubles a fast feed's rate but raised the desk's longest
            # turn from 13 to 15-22 ms (bench/ingest); `triage ingest` beside it has it.
            offload=False,
        )
        try:
            await runner.run()
        except Exception as exc:  # the store failed (disk full, locked for too long...)
            self.ingest_error = f"{type(exc).__name__}: {exc}"
            self.notify(
                f"Ingest stopped: {self.ingest_error}. Decisions still work; restart to resume.",
                title="Ingest stopped",
                severity="error",
                timeout=30,
                markup=False,
            )
            await self._update_status()

    async def _index(self) -> None:
        """Keep the filter's word index up with arrivals (tui.search)."""
        try:
            await search.keep_up(self.store.search_backlog, self.store.index_search)
        except Exception as exc:  # the store failed: filters still work, by reading rows
            self.notify(
                f"Search index stopped: {type(exc).__name__}: {exc}. Filters still work, slower.",
                title="Search index",
                severity="warning",
                timeout=20,
                markup=False,
            )

    def _arrived(self, result: IngestResult) -> None:
        self.model.forget(result.changed_ids)
        self._edited.update(result.changed_ids)
        self._dirty = True

    async def _reload_if_dirty(self) -> None:
        """Arrivals and other desks' work, coalesced: at most ten times a second. What
        changed is applied to the list where it can be (`_catch_up`); otherwise the view is
        read whole. Either, when it takes a while (a flood of arrivals, a huge view), runs no
        more than a fifth of the time."""
        started = time.monotonic()
        if not self._dirty or started - self._caught_up < 5 * self._catch_up_cost:
            return
        self._dirty = False
        caught = await self._catch_up()
        self._caught_up = time.monotonic()
        self._catch_up_cost = self._caught_up - started
        if caught:
            return
        self._dirty = True
        if self._caught_up - self._last_reload >= max(0.1, 5 * self._reload_cost):
            self._dirty = False
            await self.reload()

    async def _up_to_date(self) -> None:
        """The list as the database has it now, before going to a mention in it."""
        if not await self._catch_up():
            await self.reload()

    async def _catch_up(self) -> bool:
        """Apply what changed since the list was read: the mentions that arrived, had a
        decision logged or were edited by our ingest (tui.view_delta). False when the view
        must be read whole: a query that depends on the clock or on claims, a sort key that
        changes, a snooze that woke, too many changes, or a minute since the last whole read
        (edits that another process's ingest made leave no trace to catch up from)."""
        for _ in range(3):  # the list changed while we read (a decision here): read again
            caught = await self._catch_up_once()
            if caught is not None:
                return caught
        return False

    async def _catch_up_once(self) -> bool | None:
        query, narrow = self._queries()
        since = self._mark
        steady = query.steady and query.sort.fixed and (narrow is None or narrow.steady)
        if since is None or not steady or time.monotonic() - self._last_reload > WHOLE_READ_EVERY:
            return False
        version, mark, edited = await self._where_now()
        changed = await self.store.changed_since(since, mark) | edited
        if self._woke(since, mark) or len(changed) > CATCH_UP_MOST:
            return False
        model_version = self.model.version
        try:
            change = await view_delta.delta(
                self.model.ids,
                await self.store.sort_keys(query.sort, list(changed)),
                await self.store.still_in(query, narrow, list(changed)),
                functools.partial(self.store.sort_keys, query.sort),
                query.sort.descending,
            )
        except (view_delta.Stale, IndexError):  # (IndexError: a decision here shortened it)
            return None if self.model.version != model_version else False
        if since is not self._mark:
            return False  # the view was read whole meanwhile, or is being read anew
        if self.model.version != model_version:
            return None
        self._read_at(version, mark, edited)
        if change and self.queue.is_attached:
            self.queue.apply(change)
            self._after_change()
        elif changed:  # nothing here moved, but other views' counts may have
            self._want_recount()
        return True

    def _woke(self, since: Mark, mark: Mark) -> bool:
        """A snooze may have woken since `since` (changing status without a decision): the
        earliest snooze then was due, and is gone now. A new snooze changes the earliest too,
        but it is due later, and it is a decision."""
        due = since.snoozed is not None and since.snoozed <= iso(self.clock())
        return due and mark.snoozed != since.snoozed

    async def _watch_others(self) -> None:
        """Other desks' claims and decisions show up within a second."""
        version = await self.store.data_version()
        if version != self._data_version:
            self._data_version = version
            # What another desk decided leaves this view now, not at the next full reload,
            # so nobody acts on a mention that only looks undecided here.
            await self._drop_decided(self.model.loaded())
            await self._show_detail(self._current())
        if version != self._shown_version:
            # Whatever raced with the last reload, a write it did not see gets one more:
            # after a burst of arrivals the view always ends up with all of them.
            self._dirty = True

    async def _heartbeat(self) -> None:
        await self.store.heartbeat(self.who)
        if await self.store.wake_snoozed():
            self._dirty = True

    async def _reload_playbooks_if_changed(self) -> None:
        """Hot reload: a good edit takes effect on the next batch; a bad one keeps the last
        good playbooks running and says what is wrong, until it is fixed."""
        if not await asyncio.to_thread(self._playbooks.changed):  # (globs and stats files)
            return
        try:
            engine = await asyncio.to_thread(load_engine, self._playbooks.paths)
        except ConfigError as exc:
            problems = str(exc).splitlines()
            self.playbook_error = problems[0]
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            self.notify(
                f"{problems[0]}{more}\nThe previous playbooks stay active.",
                title="Playbook error",
                severity="error",
                timeout=20,
                markup=False,
            )
        else:
            self.engine = engine
            self.playbook_error = None
            self.notify(f"Playbooks reloaded: {len(engine.playbooks)} active.", markup=False)
        await self._update_status()

    async def _tick(self) -> None:
        self.queue.tick()
        if self._said and time.monotonic() - self._said[1] > ROUTINE:
            self._said = None
        await self._update_status()

    # -- data ------------------------------------------------------------------------

    @property
    def view(self) -> View:
        return self.views[self.current_view]

    def _context_query(self, text: str) -> Query:
        return compile_query(text, context(self.settings.actor, self.clock()))

    def _queries(self) -> tuple[Query, Query | None]:
        query = self._context_query(self.view.query)
        narrow = None
        if self.filter_text and self.filter_error is None:
            narrow = self._context_query(self.filter_text)
        return query, narrow

    async def reload(self, *, fresh: bool = False) -> None:
        """Re-read the current view (and filter); the cursor stays on its mention.

        `fresh` (a new view or filter): show the first screenful at once, then the rest.
        """
        query, narrow = self._queries()
        self._reloads += 1
        this, started = self._reloads, time.monotonic()
        if fresh:
            self._mark = None  # a different list: nothing to catch up until it is read whole
        version, mark, edited = await self._where_now()  # first: a later write is newer
        if fresh:
            first = await self.store.queue_ids(query, narrow, limit=FIRST_WINDOW)
            # The rows it will draw first, read now: asked for when it drew them, they cost a
            # frame of placeholders and a round trip (~40% of the first screen at 100k).
            rows = await self.store.queue_rows(self.queue.first_screenful(first))
            if not self.queue.is_attached or this != self._reloads:
                return
            self.queue.new_above = 0  # a different list: nothing is "new" in it yet
            self.queue.reload(first)
            self.model.update(rows)
            if len(first) < FIRST_WINDOW:  # that is the whole view
                self._read_at(version, mark, edited)
                self._after_reload(0.0)
            else:  # the rest in the background once this screenful is drawn: loading it
                # takes the GIL in turns with the first frame, and the desk answers keys meanwhile
                self.call_after_refresh(self._reload_rest)
            return
        ids = await self.store.queue_ids(query, narrow)
        members = await asyncio.to_thread(set, ids)  # ~50 ms at a million: not on the loop
        # The desk closed meanwhile, or a later reload started (an arrival's, after the view's
        # first load): that one reads newer ids, and showing these after it would hide them.
        if not self.queue.is_attached or this != self._reloads:
            return
        self._read_at(version, mark, edited)
        self.queue.reload(ids, members)
        self._after_reload(time.monotonic() - started)

    async def _where_now(self) -> tuple[int, Mark, set[int]]:
        """Where the database stands (its data_version and the log's mark) and which
        mentions our ingest has edited: read before the list, so what is written after
        the read is newer than the list and is caught up with later."""
        return await self.store.data_version(), await self.store.mark(), set(self._edited)

    def _read_at(self, version: int, mark: Mark, edited: set[int]) -> None:
        """The list shown is the view as of `mark`, with `edited` in it."""
        self._shown_version, self._mark = version, mark
        self._edited -= edited

    def _reload_rest(self) -> None:
        self.run_worker(self.reload(), group="reload", exclusive=True)

    def _after_reload(self, cost: float) -> None:
        if not self._frozen_after_load:  # the first whole view is loaded: freeze it too
            self._frozen_after_load = True
            collector.settle()
        self._reload_cost, self._last_reload = cost, time.monotonic()
        self._after_change()

    def _after_change(self) -> None:
        self.selected &= {i for i in self.selected if i in self.model}
        if self.filter_text and self.filter_error is None:  # how many the filter found
            self.filter_input.border_subtitle = f"{len(self.model):,} found"
        self._want_recount()

    async def _deliver(self) -> None:
        """Send replies and escalations as they are decided (and any left from before)."""
        await warm_up()
        async with new_client() as client:
            self.dispatcher = dispatch.from_settings(self.loaded, self.store, client)
            self.dispatcher.on_change = self._delivery_changed
            await self.dispatcher.run()

    def _delivery_changed(self, entry: Entry) -> None:
        """An attempt finished: the failing count, and the detail if it is this mention's."""
        self._want_recount()
        if entry.mention_id == self._current():
            self.run_worker(self._show_detail(entry.mention_id), group="detail", exclusive=True)

    def _want_recount(self) -> None:
        """Count again soon. Asked while a count runs, it joins the next one: cancelling the
        running count instead let a steady stream of arrivals keep the tabs at their old
        numbers (or none) for as long as it lasted."""
        self._recount_due = True
        if not self._counting:
            self._counting = True
            self.run_worker(self._recount(), group="counts")

    async def _recount(self) -> None:
        """View counts and SLA breaches, in the background: at most every COUNT_EVERY s, and
        for a database so large that counting takes a while, no more than a fifth of the time."""
        try:
            while self._recount_due:
                pause = max(COUNT_EVERY, 5 * self._count_cost)
                await asyncio.sleep(max(0.0, self._last_count + pause - time.monotonic()))
                self._recount_due, self._last_count = False, time.monotonic()
                await self._count()
                self._count_cost = time.monotonic() - self._last_count
        finally:  # no await between the last look at `_recount_due` and this
            self._counting = False

    async def _count(self) -> None:
        self._counts = [await self.store.count(self._context_query(v.query)) for v in self.views]
        self._breaches = await self.store.count(self._context_query("sla:breached"))
        self._stored_health = {row["name"]: row for row in await self.store.source_states()}
        self._failing = await self.store.outbox_count(FAILING)
        await self._update_status()

    async def _drop_decided(self, ids: list[int]) -> None:
        """Mentions a decision moved out of the view leave at once, even when a full reload
        of a huge view is still some way off; the rest of `ids` are read again and redrawn
        if their lines changed (a claim, a status). This runs after every write to the
        database, this desk's own ingest included, which changes none of them."""
        query, narrow = self._queries()
        kept = await self.store.still_in(query, narrow, ids)
        rows = await self.store.queue_rows(list(kept))
        if not self.queue.is_attached:  # the desk closed meanwhile
            return
        if gone := set(ids) - kept:
            self._count_out(sum(i in self.model for i in gone))
            self.queue.drop(gone)
        if any(self.model.row(i) != row for i, row in rows.items()):
            self.model.update(rows)
            self.queue.rows_arrived()
        self._dirty = True

    def _count_out(self, left: int) -> None:
        """Mentions left this view: its tab says so now, not at the next recount (up to
        COUNT_EVERY away), which corrects it if a colleague's work changed it meanwhile."""
        counted = self._counts[self.current_view]
        if left and counted is not None:
            self._counts[self.current_view] = max(0, counted - left)

    async def _update_status(self) -> None:
        now = self.clock()
        sources = self.source_lines()
        self._alarm(sources)
        health = [(line.name, line.short(now), line.malformed) for line in sources]
        if self.ingest_error:
            health.append(("ingest", "stopped", 0))
        if self.playbook_error:
            health.append(("playbooks", "error", 0))
        if self._failing:
            plural = "y" if self._failing == 1 else "ies"
            health.append((f"{self._failing} deliver{plural}", "failing", 0))
        if not self.status_bar.is_attached:
            return
        self.status_bar.show(
            BarState(
                [v.name for v in self.views],
                self.current_view,
                self._counts,
                health,
                self._notice(),
                breaches=self._breaches,
                new_above=self.queue.new_above,
                selected=len(self.selected),
                said=self._said[0] if self._said else None,
            )
        )

    def _notice(self) -> str | None:
        if self.loaded.drill is not None:
            return f"DRILL: {self.loaded.drill.name} into a scratch database, nothing is sent"
        return "DEMO: demo source + demo database" if self.loaded.demo else None

    def source_lines(self) -> list[SourceLine]:
        return source_lines(self.loaded.sources, self._stored_health)

    def _alarm(self, sources: list[SourceLine]) -> None:
        """Tell the responder once when a source stops for a reason that needs a human."""
        for line in sources:
            was = self._alarmed.get(line.name)
            if line.state in ALARMING and was != line.state and not line.elsewhere:
                self.notify(
                    f"{line.name}: {line.last_error or line.state}",
                    title=f"Source {line.state}",
                    severity="error",
                    markup=False,
                    timeout=15,
                )
            self._alarmed[line.name] = line.state

    async def on_queue_list_need_rows(self, message: QueueList.NeedRows) -> None:
        self.model.update(await self.store.queue_rows(message.ids))
        if self.queue.is_attached:
            self.queue.rows_arrived()

    def on_queue_list_highlighted(self, message: QueueList.Highlighted) -> None:
        if message.mention_id is not None:
            self._shown.setdefault(message.mention_id, self.clock())
        # In a worker, a little later: the cursor's frame goes out at once (laying out the
        # detail costs more than drawing the queue), and holding `j` cancels the details of
        # mentions already scrolled past instead of rendering each.
        self.run_worker(self._show_detail_soon(message.mention_id), group="detail", exclusive=True)

    async def _show_detail_soon(self, mention_id: int | None) -> None:
        await asyncio.sleep(DETAIL_DELAY)
        await self._show_detail(mention_id)

    async def _show_detail(self, mention_id: int | None) -> None:
        detail = None if mention_id is None else await self.store.detail(mention_id)
        if self.detail.is_attached:  # the desk may have closed meanwhile
            self.detail.show(detail, self.clock())

    def _current(self) -> int | None:
        return self.model.id_at(self.queue.cursor)

    def _acting(self) -> Who:
        """This desk, in the view the responder is looking at (logged with each decision)."""
        return Who(self.who.actor, self.who.session, self.view.name)

    def _seen_status(self, detail: Detail) -> str:
        """The status the responder saw on screen: if the mention moved on since (another
        desk decided it), the store refuses instead of logging a second decision."""
        row = self.model.row(detail.id)
        return row.status if row is not None else detail.status

    def _targets(self) -> list[int]:
        """The selection if there is one (bulk), else the mention under the cursor."""
        if self.selected:
            return [i for i in self.model.ids if i in self.selected]
        current = self._current()
        return [] if current is None else [current]

    # -- decisions ---------------------------------------------------------------------

    async def action_accept(self) -> None:
        intents = []
        for mention_id in self._targets():
            detail = await self.store.detail(mention_id)
            intent = (
                None if detail is None else intents_for.accept(detail, self._seen_status(detail))
            )
            if intent is not None:
                intents.append(intent)
        if not intents:
            self.notify("No suggestion to accept here.", severity="warning")
            return
        await self._commit(intents)

    @asks_first
    async def action_reply(self) -> None:
        detail = await self._one_detail()
        if detail is None:
            return
        template = next((s.params["reply"] for s in detail.suggestions if "reply" in s.params), "")
        who = detail.mention.author.display_name or detail.mention.author.handle
        by_hand = detail.mention.source_name not in self.store.routes.replies
        if by_hand:  # said before the responder writes, not after
            self.notify(
                f"{detail.mention.source_name} cannot post replies from triage: your text will "
                "be copied and the post opened, to reply there by hand.",
                title="Reply by hand",
                markup=False,
                timeout=8,
            )
        text = await self._dialog(TextScreen(f"Reply to {who}", template))
        if text is None:
            return
        seen = self._seen_status(detail)
        intent = intents_for.answer(detail, "reply", "reply", text, seen)
        if by_hand:
            intent = replace(intent, params={**intent.params, "delivery": "by hand"})
            self.copy_to_clipboard(text)
            if detail.mention.url:
                self.open_url(detail.mention.url)
        await self._commit([intent])

    @asks_first
    async def action_note(self) -> None:
        detail = await self._one_detail()
        if detail is None:
            return
        text = await self._dialog(TextScreen("Note for the log"))
        if text is not None:
            await self._commit([Intent(detail.id, "note", {"text": text})])

    @asks_first
    async def action_escalate(self) -> None:
        await self._pick_and_log("escalate", "team", "Escalate to", self._known("team"))

    @asks_first
    async def action_tag(self) -> None:
        await self._pick_and_log("tag", "tags", "Tag with", self._known("tags"))

    @asks_first
    async def action_dismiss_mention(self) -> None:
        await self._pick_and_log("dismiss", "reason", "Dismiss because", REASONS)

    @asks_first
    async def action_snooze(self) -> None:
        await self._pick_and_log("snooze", "snooze", "Snooze for", SNOOZES, custom=False)

    @asks_first
    async def action_assign(self) -> None:
        people = [self.settings.actor, *await self.store.actors()]
        await self._pick_and_log("assign", "assignee", "Assign to", people)

    async def _pick_and_log(
        self, action: str, key: str, title: str, choices: list[str], custom: bool = True
    ) -> None:
        targets = self._targets()
        if not targets:
            self.notify("Nothing here to act on.", severity="warning")
            return
        details = [d for d in [await self.store.detail(i) for i in targets] if d is not None]
        suggested = intents_for.suggested_value(details[0].top, action, key) if details else None
        count = f" ({len(details)} mentions)" if len(details) > 1 else ""
        value = await self._dialog(
            PickScreen(
                f"{title}{count}",
                [*([suggested] if suggested else []), *choices],
                preselect=suggested,
                custom=custom,
                hint="enter picks, esc cancels",
            )
        )
        if value is not None:
            chosen: object = (
                [t.strip() for t in value.split(",") if t.strip()] if key == "tags" else value
            )
            intents = [
                intents_for.answer(d, action, key, chosen, self._seen_status(d)) for d in details
            ]
            await self._commit(intents)

    async def _dialog(self, screen: PickScreen | TextScreen) -> str | None:
        """Ask in a dialog. The keys typed since the key that asked (a fast `x1`) are its
        keys: held till now, they go to it once its input has focus, while it is still open
        (`1` picks and closes it: the `x` after it is the next decision's)."""
        answer = self.push_screen(screen, wait_for_dismiss=True)
        ready = asyncio.Event()

        def focused(widget: Widget | None) -> None:
            if widget is not None:
                ready.set()

        self.watch(screen, "focused", focused, init=False)
        answer.add_done_callback(lambda _: ready.set())  # answered before it ever had focus
        await ready.wait()
        while self._held and not answer.done():
            key = self._held.pop(0)
            self._replay(key)
            if screen.may_close(key.key):  # then the next key waits to see if it did
                await asyncio.wait({answer}, timeout=TYPED_AHEAD_PATIENCE)
        return await answer

    async def _holding_keys(self, decision: Coroutine[Any, Any, None]) -> None:
        try:
            await decision
        finally:  # logged, refused or given up: the keys typed after it act on the next
            self._let_keys_go()

    def _let_keys_go(self) -> None:
        held, self._held = self._held or [], None
        for key in held:
            self._replay(key)

    def _replay(self, key: events.Key) -> None:
        """A held key, typed anew (the held event was already on its way once)."""
        self.post_message(events.Key(key.key, key.character))

    async def on_event(self, event: events.Event) -> None:
        """While a decision asks and logs, keys typed outside its dialog wait: the next `x`
        must act on the next mention, not cancel this one half logged."""
        # Forwarded ones too: those typed together reach the queue, unbound there, before
        # the key that asks has run its action; they come back here for the desk's bindings.
        if self._held is not None and isinstance(event, events.Key) and not self.screen.is_modal:
            self._held.append(event)
            return
        await super().on_event(event)

    async def _one_detail(self) -> Detail | None:
        current = self._current()
        detail = None if current is None else await self.store.detail(current)
        if detail is None:
            self.notify("Nothing here to act on.", severity="warning")
        return detail

    async def _commit(self, intents: list[Intent]) -> None:
        """Commit, then say so: the screen never reports a decision the log does not hold.
        The first decision of a session that would send something for real asks first."""
        if not self._live_confirmed and (targets := await self._live_targets(intents)):

            def answered(yes: bool | None) -> None:
                if yes:
                    self._live_confirmed = True
                    self.run_worker(self._commit(intents), group="decide")

            question = f"This decision sends for real, to {', '.join(targets)}. Send it?"
            self.push_screen(ConfirmScreen("First live send", question), answered)
            return  # logged only once they say yes
        results = await self.store.decide_many(intents, self._acting(), self._shown)
        if self.dispatcher is not None:
            self.dispatcher.wake()  # anything this queued goes out now, not at the next poll
        logged = [r for r in results if not isinstance(r, DecisionRefused)]
        refused = [r for r in results if isinstance(r, DecisionRefused)]
        self.selected.clear()
        await self._drop_decided([intent.mention_id for intent in intents])  # first: the next
        if len(logged) == 1:  # mention is what the responder waits for, then the word
            record = logged[0]
            how = f" — {record.outcome}" if record.outcome else ""
            await self.acknowledge(f"#{record.id} {describe(record.action, record.params)}{how}")
        elif logged:
            await self.acknowledge(f"{logged[0].action}: {len(logged)} mentions logged")
        for problem in refused[:3]:
            self.notify(f"Not logged: {problem}", severity="warning", markup=False)

    async def acknowledge(self, said: str) -> None:
        """Say a decision is in the log ("#12 ...", its number there), in the status bar in
        place of the one before: a toast for each piled up over the queue and its suggestions
        at a responder's pace."""
        self._said = (said, time.monotonic())
        await self._update_status()

    async def _live_targets(self, intents: list[Intent]) -> list[str]:
        names = await self.store.source_names(i.mention_id for i in intents)
        routes = self.store.routes
        found = {
            target
            for i in intents
            for target in routes.live(i.action, i.params, names.get(i.mention_id, ""))
        }
        return sorted(found)

    async def action_undo(self) -> None:
        try:
            record = await self.store.undo_last(
                self.who.actor, view=self.view.name, session=self.who.session
            )
        except DecisionRefused as exc:
            self.notify(str(exc).capitalize() + ".", severity="warning", markup=False)
            return
        await self.acknowledge(f"#{record.id} undid {record.params.get('reverses')}")
        stays = record.params.get("stays_out") or []
        if told := [s for s in stays if s["kind"] != "reply"]:
            teams = ", ".join(sorted({s["target"] for s in told}))
            self.notify(
                f"{teams} already heard about it: tell them it is undone.",
                severity="warning",
                markup=False,
                timeout=10,
            )
        if replies := [
            s for s in stays if s["kind"] == "reply" and s["target"] in self.store.routes.replies
        ]:
            self._offer_retract(replies, record.id)
        await self._up_to_date()
        self._jump_to(record.mention_id)
        await self._show_detail(self._current())

    def _offer_retract(self, stays: list[dict[str, Any]], undo_id: int) -> None:
        """The undone reply is already out: say so, and offer to delete it there."""
        where = ", ".join(f"{s['target']} ({s['url']})" for s in stays)

        async def delete() -> None:
            await self.store.outbox_retract([int(s["outbox"]) for s in stays], undo_id)
            if self.dispatcher is not None:
                self.dispatcher.wake()
            self.notify("Deleting the reply there.", markup=False)

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(delete(), group="decide")

        self.push_screen(
            ConfirmScreen("The reply is already out", f"It stays on {where}. Delete it there?"),
            answered,
        )

    async def action_claim(self) -> None:
        current = self._current()
        if current is None:
            return
        try:
            if await self.store.release(current, self._acting()) is not None:
                self.notify("Released: someone else can take it.", markup=False)
            else:
                await self.store.claim(current, self._acting())
                self.notify("Claimed: it is yours until you decide or release it.", markup=False)
        except DecisionRefused as exc:
            self.notify(str(exc).capitalize() + ".", severity="warning", markup=False)
        await self._drop_decided([current])
        await self._show_detail(current)

    async def action_pull_next(self) -> None:
        """Claim the most urgent unclaimed mention of this view (and filter) and go to it."""
        mention_id = await self.store.pull_next(self._acting(), *self._queries())
        if mention_id is None:
            self.notify("Nothing unclaimed left in this view.", markup=False)
            return
        await self._up_to_date()
        if self.model.index_of(mention_id) is None:  # a later reload was still reading
            await self.reload()
        self._jump_to(mention_id)

    def _jump_to(self, mention_id: int) -> None:
        index = self.model.index_of(mention_id)
        if index is not None:
            self.queue.cursor = index

    # -- selection, filter, link ------------------------------------------------------

    def action_select(self) -> None:
        current = self._current()
        if current is not None:
            self.selected ^= {current}
            self.queue.action_cursor_down()
            self.queue.refresh()

    def action_select_all(self) -> None:
        self.selected.update(self.model.ids)
        self.queue.refresh()

    async def action_clear(self) -> None:
        if self.selected:
            self.selected.clear()
            self.queue.refresh()
        elif self.filter_text or self.filter_input.display:
            self.filter_input.value = ""
            await self.set_filter("")
            self.filter_input.display = False
            self.queue.focus()

    def action_filter(self) -> None:
        field = self.filter_input
        field.display = True
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        """Typing pauses briefly before the view is re-read: one query per pause, not per key."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
        value = event.value
        self._filter_timer = self.set_timer(FILTER_DEBOUNCE, lambda: self.set_filter(value))

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.queue.focus()

    async def set_filter(self, text: str) -> None:
        """Narrow the view to `text` now (typing calls this after a pause); a mistake is
        shown under the field and the last good filter stays."""
        field = self.filter_input
        try:
            self._context_query(text)
        except QueryError as exc:
            self.filter_error = str(exc)
            field.border_subtitle = f"{exc.message} (column {exc.position + 1})"
            field.add_class("-error")
            return
        self.filter_text, self.filter_error = text, None
        field.border_subtitle = ""
        field.remove_class("-error")
        await self.reload(fresh=True)

    async def action_open_link(self) -> None:
        current = self._current()
        detail = None if current is None else await self.store.detail(current)
        if detail is None or not detail.mention.url:
            self.notify("This mention has no link.", severity="warning")
            return
        self.open_url(detail.mention.url)
        self.notify(f"Opening {detail.mention.url}", markup=False)

    def action_scroll_detail(self, direction: int) -> None:
        """Read a long post without the mouse: half the pane at a time."""
        step = max(1, self.detail.scrollable_content_region.height // 2)
        self.detail.scroll_relative(y=direction * step, animate=False)

    # -- views and help ----------------------------------------------------------------

    async def action_switch_view(self, index: int) -> None:
        if 0 <= index < len(self.views) and index != self.current_view:
            self.current_view = index
            self.selected.clear()
            queue = self.queue
            queue.cursor = 0
            await self.reload(fresh=True)
            queue.cursor = 0

    @asks_first
    async def action_pick_view(self) -> None:
        """Every view with its count; a digit or enter switches to it."""
        labels = {
            f"{view.name}  {'…' if count is None else count}": index
            for index, (view, count) in enumerate(zip(self.views, self._counts, strict=True))
        }
        current = next(label for label, index in labels.items() if index == self.current_view)
        picked = await self._dialog(
            PickScreen(
                "View",
                list(labels),
                preselect=current,
                custom=False,
                hint="enter picks, esc cancels",
            )
        )
        if picked is not None:
            await self.action_switch_view(labels[picked])

    @on(StatusBar.TabClicked)
    async def _tab_clicked(self, event: StatusBar.TabClicked) -> None:
        await self.action_switch_view(event.view)

    async def action_cycle_view(self, step: int) -> None:
        await self.action_switch_view((self.current_view + step) % len(self.views))

    def action_help(self) -> None:
        """Our bindings in declared order, each with the keys that trigger it right now."""
        active = _active_by_id(self.screen)
        unused_views = {f"view_{n}" for n in range(len(self.views) + 1, 10)}
        rows = [
            (", ".join(active[b.id][1]), f"{self._named(b)}  ({b.id})")
            for b in declared_bindings()
            if b.id in active and b.id not in unused_views
        ]
        self.push_screen(HelpScreen(rows))

    def _named(self, binding: Binding) -> str:
        """What a binding does, its view named: "View 2: Urgent"."""
        if binding.id and binding.id.startswith("view_"):
            return f"{binding.description}: {safe(self.views[int(binding.id[5:]) - 1].name)}"
        return binding.description

    async def action_sources(self) -> None:
        self._stored_health = {row["name"]: row for row in await self.store.source_states()}
        self.push_screen(SourcesScreen(self.source_lines, self.clock))

    def _known(self, key: str) -> list[str]:
        """Teams or tags the playbooks use, for the pickers."""
        out: list[str] = []
        for loaded in self.engine.playbooks:
            for rule in loaded.playbook.rules:
                value = getattr(rule.then, "team" if key == "team" else "tags")
                out.extend([value] if isinstance(value, str) else list(value or ()))
        return sorted(set(out))


def _active_by_id(screen: Screen[Any]) -> dict[str, tuple[DOMNode, list[str]]]:
    """Each binding id active on `screen` now: the node that answers it, and its keys as the
    keymap has them, written as the footer writes them (`[`, not left_square_bracket)."""
    found: dict[str, tuple[DOMNode, list[str]]] = {}
    for key, active in screen.active_bindings.items():
        if active.binding.id:
            display = screen.app.get_key_display(Binding(key, active.binding.action))
            found.setdefault(active.binding.id, (active.node, []))[1].append(display)
    return found


def declared_bindings() -> list[Binding]:
    """Every binding the desk declares, in order: queue movement first, then actions."""
    classes = (QueueList, DeskApp, HelpScreen, SourcesScreen, PickScreen, TextScreen, ConfirmScreen)
    return [b for c in classes for b in c.BINDINGS if isinstance(b, Binding) and b.id]


def binding_ids() -> set[str]:
    """Every remappable binding id of the desk."""
    return {b.id for b in declared_bindings() if b.id}
