"""The desk: the Textual application that responders work in (DESIGN §6)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer

from playbooks.engine import Engine
from tui import views as view_query
from tui.ingest import IngestRunner
from tui.playbook_cmds import Watcher, load_engine, playbook_paths
from tui.queue_model import QueueModel
from tui.records import SuggestionRecord, describe
from tui.screens.dismiss import DismissScreen
from tui.screens.help import HelpScreen
from tui.settings import ConfigError, Loaded
from tui.store import DecisionRefused, IngestResult, Store
from tui.widgets.detail import DetailPane
from tui.widgets.queue import QueueList
from tui.widgets.status import StatusBar

Clock = Callable[[], datetime]
NARROW = 110  # below this many columns the detail pane moves under the queue
PLAYBOOK_POLL = 1.0  # seconds between checks for edited playbook files


def _now() -> datetime:
    return datetime.now(UTC)


class DeskApp(App[int]):
    CSS_PATH = "desk.tcss"
    TITLE = "triage"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "Accept", id="accept"),
        Binding("x", "dismiss_mention", "Dismiss", id="dismiss"),
        Binding("u", "undo", "Undo", id="undo"),
        Binding("left_square_bracket", "cycle_view(-1)", "Prev view", id="prev_view", show=False),
        Binding("right_square_bracket", "cycle_view(1)", "Next view", id="next_view", show=False),
        *(
            Binding(str(n), f"switch_view({n - 1})", f"View {n}", id=f"view_{n}", show=False)
            for n in range(1, 10)
        ),
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
    ) -> None:
        super().__init__()
        self.loaded = loaded
        self.settings = loaded.settings
        self.engine = engine
        self._given_store = store  # None: open settings.db on mount, close on exit
        self.store: Store  # set in on_mount
        self.clock = clock
        self.ingest_enabled = ingest
        self.views = [view_query.parse(v.name, v.query) for v in self.settings.views]
        self.current_view = 0
        self.model = QueueModel()
        self._dirty = False
        self._shown: dict[int, datetime] = {}  # mention id -> first time this actor saw it
        self.ingest_error: str | None = None
        self.playbook_error: str | None = None  # the last reload failed; the old engine runs
        self._playbooks = Watcher(playbook_paths(self.settings))

    # -- layout and lifecycle -----------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            yield QueueList(self.model, self.clock, id="queue")
            yield DetailPane(id="detail")
        yield Footer()

    async def on_mount(self) -> None:
        self.store = self._given_store or await Store.open(self.settings.db, clock=self.clock)
        self._apply_keymap()
        self.on_resize()
        self.query_one(QueueList).focus()
        await self.reload()
        self.set_interval(0.1, self._reload_if_dirty)  # coalesce arrivals: <= 10 reloads/s
        self.set_interval(1.0, self._tick)  # SLA clocks and health age by the second
        self.set_interval(PLAYBOOK_POLL, self._reload_playbooks_if_changed)
        if self.ingest_enabled:
            self.run_worker(self._ingest(), name="ingest", group="ingest", exit_on_error=False)
        if self.loaded.demo:
            self.notify(
                "No config found: running the demo source against the demo database.",
                title="Demo mode",
                markup=False,
            )

    def on_resize(self) -> None:
        self.screen.set_class(self.size.width < NARROW, "-narrow")

    async def on_unmount(self) -> None:
        if self._given_store is None and hasattr(self, "store"):
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

    async def _ingest(self) -> None:
        runner = IngestRunner(
            self.store,
            self.loaded.sources,
            lambda: self.engine,
            on_batch=self._arrived,
            clock=self.clock,
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

    def _arrived(self, result: IngestResult) -> None:
        self.model.forget(result.changed_ids)
        self._dirty = True

    async def _reload_if_dirty(self) -> None:
        if self._dirty:
            self._dirty = False
            await self.reload()

    async def _reload_playbooks_if_changed(self) -> None:
        """Hot reload: a good edit takes effect on the next batch; a bad one keeps the last
        good playbooks running and says what is wrong, until it is fixed."""
        if not self._playbooks.changed():
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
        self.query_one(QueueList).refresh()
        await self._update_status()

    # -- data --------------------------------------------------------------------------

    @property
    def view(self) -> view_query.View:
        return self.views[self.current_view]

    async def reload(self) -> None:
        """Re-read the current view's ordering; the cursor stays on its mention."""
        ids = await self.store.queue_ids(self.view.statuses)
        self.query_one(QueueList).reload(ids)
        await self._update_status()

    async def _update_status(self) -> None:
        by_status = await self.store.counts()
        counts = [
            sum(n for s, n in by_status.items() if not v.statuses or s in v.statuses)
            for v in self.views
        ]
        health = [(s.name, s.health.state.value, s.health.malformed) for s in self.loaded.sources]
        if self.ingest_error:
            health.append(("ingest", "stopped", 0))
        if self.playbook_error:
            health.append(("playbooks", "error", 0))
        self.query_one(StatusBar).show(
            self.views, self.current_view, counts, health, self.loaded.demo
        )

    async def on_queue_list_need_rows(self, message: QueueList.NeedRows) -> None:
        self.model.update(await self.store.queue_rows(message.ids))
        self.query_one(QueueList).rows_arrived()

    async def on_queue_list_highlighted(self, message: QueueList.Highlighted) -> None:
        if message.mention_id is not None:
            self._shown.setdefault(message.mention_id, self.clock())
        await self._show_detail(message.mention_id)

    async def _show_detail(self, mention_id: int | None) -> None:
        detail = None if mention_id is None else await self.store.detail(mention_id)
        self.query_one(DetailPane).show(detail, self.clock())

    def _current(self) -> int | None:
        return self.model.id_at(self.query_one(QueueList).cursor)

    # -- decisions ---------------------------------------------------------------------

    async def action_accept(self) -> None:
        mention_id = self._current()
        if mention_id is None:
            self.notify("Nothing to accept: the view is empty.", severity="warning")
            return
        top = await self._top_suggestion(mention_id)
        if top is None:
            self.notify("No suggestion to accept for this mention.", severity="warning")
            return
        await self._decide(mention_id, top.action, top.params, top)

    @work(group="decide")
    async def action_dismiss_mention(self) -> None:
        mention_id = self._current()
        if mention_id is None:
            self.notify("Nothing to dismiss: the view is empty.", severity="warning")
            return
        top = await self._top_suggestion(mention_id)
        suggested = top.params.get("reason") if top and top.action == "dismiss" else None
        reason = await self.push_screen_wait(DismissScreen(suggested))
        if reason is not None:
            await self._decide(mention_id, "dismiss", {"reason": reason}, top)

    async def _top_suggestion(self, mention_id: int) -> SuggestionRecord | None:
        detail = await self.store.detail(mention_id)
        return detail.suggestions[0] if detail and detail.suggestions else None

    async def _decide(
        self, mention_id: int, action: str, params: dict[str, Any], top: SuggestionRecord | None
    ) -> None:
        try:
            record = await self.store.decide(
                mention_id,
                actor=self.settings.actor,
                action=action,
                params=params,
                suggestion_id=top.id if top else None,
                view=self.view.name,
                shown_at=self._shown.get(mention_id),
            )
        except DecisionRefused as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        # Committed: only now does the screen say so.
        self.notify(
            f"{describe(action, params)} — {record.outcome}, logged as #{record.id}", markup=False
        )
        await self.reload()

    async def action_undo(self) -> None:
        try:
            record = await self.store.undo_last(self.settings.actor, view=self.view.name)
        except DecisionRefused as exc:
            self.notify(str(exc).capitalize() + ".", severity="warning", markup=False)
            return
        self.notify(f"Undid {record.params.get('reverses')} (logged as #{record.id})", markup=False)
        await self.reload()
        queue = self.query_one(QueueList)
        index = self.model.index_of(record.mention_id)
        if index is not None:
            queue.cursor = index
        await self._show_detail(self._current())

    # -- views and help --------------------------------------------------------------

    async def action_switch_view(self, index: int) -> None:
        if 0 <= index < len(self.views) and index != self.current_view:
            self.current_view = index
            queue = self.query_one(QueueList)
            queue.cursor = 0
            await self.reload()
            queue.cursor = 0

    async def action_cycle_view(self, step: int) -> None:
        await self.action_switch_view((self.current_view + step) % len(self.views))

    def action_help(self) -> None:
        """Our bindings in declared order, each with the keys that trigger it right now."""
        keys: dict[str, list[str]] = {}
        for key, active in self.active_bindings.items():
            if active.binding.id:
                display = self.get_key_display(Binding(key, active.binding.action))
                keys.setdefault(active.binding.id, []).append(display)
        unused_views = {f"view_{n}" for n in range(len(self.views) + 1, 10)}
        rows = [
            (", ".join(keys[b.id]), f"{b.description}  ({b.id})")
            for b in declared_bindings()
            if b.id in keys and b.id not in unused_views
        ]
        self.push_screen(HelpScreen(rows))


def declared_bindings() -> list[Binding]:
    """Every binding the desk declares, in order: queue movement first, then actions."""
    classes = (QueueList, DeskApp, HelpScreen, DismissScreen)
    return [b for c in classes for b in c.BINDINGS if isinstance(b, Binding) and b.id]


def binding_ids() -> set[str]:
    """Every remappable binding id of the desk."""
    return {b.id for b in declared_bindings() if b.id}
