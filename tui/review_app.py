"""`triage replay`: a read-only review of a shift, step by step or played back.

Read-only by construction: the database is opened read-only and none of the desk's actions
exist here; the only write is a reviewer's note, through a connection SQLite restricts to
inserting notes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tui import playbook_cmds
from tui.records import describe
from tui.render import detail_content, safe
from tui.replay import Jump, NoteWriter, Replay, Step, Timeline
from tui.review import Filters
from tui.screens.help import HelpScreen, InfoScreen
from tui.screens.pick import PickScreen
from tui.screens.plots import PlotsScreen
from tui.screens.text import TextScreen
from tui.settings import Loaded
from tui.store import Store
from tui.widgets.keys import Keys

SPEEDS = {"1": 1.0, "2": 10.0, "3": 60.0, "4": 0.0}  # 0: as fast as it draws
LONGEST_PAUSE = 5.0  # a quiet hour at 1x is skipped, not waited out
SPARK = " ▁▂▃▄▅▆▇█"


class ReviewApp(App[int]):
    TITLE = "triage replay"
    CSS = """
    #bar, #timeline { height: 1; background: $boost; padding: 0 1; }
    #main { height: 1fr; }
    #step { width: 1fr; padding: 0 1; border-right: tall $boost; }
    #mention { width: 1fr; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,right", "move('next')", "Next", id="next_step"),
        Binding("k,left", "move('previous')", "Back", id="previous_step"),
        Binding("g", "edge(True)", "First", id="first_step", show=False),
        Binding("G", "edge(False)", "Last", id="last_step", show=False),
        Binding("space", "play", "Play/pause", id="play"),
        *(
            Binding(
                k, f"speed({v})", f"{'max' if not v else f'{v:g}x'}", id=f"speed_{k}", show=False
            )
            for k, v in SPEEDS.items()
        ),
        Binding("o", "move('override')", "Next override", id="next_override"),
        Binding("b", "move('breach')", "Next breach", id="next_breach"),
        Binding("u", "move('undo')", "Next undo", id="next_undo"),
        Binding("N", "note", "Note", id="review_note"),
        Binding("p", "plots", "Plots", id="plots"),
        Binding("t", "backtest", "Backtest", id="backtest"),
        Binding("question_mark", "help", "Keys", id="review_help"),
        Binding("q", "quit", "Quit", id="review_quit"),
    ]

    def __init__(
        self,
        loaded: Loaded,
        store: Store,
        filters: Filters,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.loaded = loaded
        self.store = store
        self.filters = filters
        self.replay = Replay(store, filters)
        self.clock = clock
        self.step: Step | None = None
        self.count = 0
        self.position = 0
        self.speed = 10.0
        self.playing = False
        self.timeline: Timeline | None = None
        self.notes: NoteWriter | None = None

    def compose(self) -> ComposeResult:
        self.bar = Static(id="bar")
        self.line = Static(id="timeline")
        self.step_view = Static()
        self.mention_view = Static()
        yield self.bar
        yield self.line
        with Horizontal(id="main"):
            with VerticalScroll(id="step"):
                yield self.step_view
            with VerticalScroll(id="mention"):
                yield self.mention_view
        yield Keys()

    async def on_mount(self) -> None:
        await self._show(await self.replay.first())
        self.run_worker(self._measure(), group="measure")

    async def on_unmount(self) -> None:
        if self.notes is not None:
            await self.notes.close()

    async def _measure(self) -> None:
        """Count, position and timeline: after the first step is on screen."""
        self.count = await self.replay.count()
        self.timeline = await self.replay.timeline(max(10, self.size.width - 14))
        if self.step is not None:
            self.position = await self.replay.position(self.step.decision.id)
        self._draw_bar()

    # -- showing a step ------------------------------------------------------------------

    async def _show(self, step: Step | None) -> None:
        if step is None:
            if self.step is None:
                self.step_view.update(Content("No decisions match: " + self.filters.describe()))
            self._draw_bar()
            return
        forward = self.step is None or step.decision.id > self.step.decision.id
        self.step = step
        if self.count:
            self.position = await self.replay.position(step.decision.id)
        elif forward:
            self.position += 1
        self.step_view.update(step_content(step))
        self.mention_view.update(detail_content(step.detail, step.decision.decided_at))
        self._draw_bar()

    def _draw_bar(self) -> None:
        state = f"▶ {self._speed_name()}" if self.playing else f"paused ({self._speed_name()})"
        of = f" / {self.count}" if self.count else ""
        self.bar.update(
            Content.assemble(
                ("Replay", "bold $accent"),
                f" · {safe(self.filters.describe())} · ",
                (f"step {self.position}{of}", "bold"),
                f" · {state}",
            )
        )
        self.line.update(self._timeline_content())

    def _timeline_content(self) -> Content:
        t = self.timeline
        if t is None or self.step is None:
            return Content("")
        top = max(t.counts) or 1
        cells = [SPARK[round(c / top * (len(SPARK) - 1))] for c in t.counts]
        span = (t.end - t.start).total_seconds() or 1.0
        at = (self.step.decision.decided_at - t.start).total_seconds() / span
        index = min(len(cells) - 1, max(0, round(at * (len(cells) - 1))))
        return Content.assemble(
            f"{t.start:%H:%M} ",
            "".join(cells[:index]),
            ("▲", "bold $warning"),
            "".join(cells[index + 1 :]),
            f" {t.end:%H:%M}",
        )

    def _speed_name(self) -> str:
        return "max" if not self.speed else f"{self.speed:g}x"

    # -- moving ---------------------------------------------------------------------------

    async def action_move(self, jump: Jump) -> None:
        if self.step is None:
            return
        found = await self.replay.move(self.step.decision.id, jump)
        if found is None:
            self.notify(
                f"No {'more' if jump in ('next', 'previous') else jump} in the selection.",
                markup=False,
                timeout=3,
            )
            return
        await self._show(found)

    async def action_edge(self, first: bool) -> None:
        self.step = None
        await self._show(await (self.replay.first() if first else self.replay.last()))

    def action_play(self) -> None:
        self.playing = not self.playing
        self._draw_bar()
        if self.playing:
            self._play()

    def action_speed(self, speed: float) -> None:
        self.speed = speed
        self._draw_bar()

    @work(group="play", exclusive=True)
    async def _play(self) -> None:
        while self.playing and self.step is not None:
            upcoming = await self.replay.move(self.step.decision.id, "next")
            if upcoming is None:
                self.playing = False
                self._draw_bar()
                return
            gap = (upcoming.decision.decided_at - self.step.decision.decided_at).total_seconds()
            wait = min(LONGEST_PAUSE, gap / self.speed) if self.speed else 0.05
            await asyncio.sleep(max(wait, 0.05))
            if self.playing:
                await self._show(upcoming)

    # -- notes, plots, backtest -----------------------------------------------------------

    @work(group="note", exclusive=True)
    async def action_note(self) -> None:
        if self.step is None:
            return
        step = self.step
        text = await self.push_screen_wait(
            TextScreen(
                f"Review note on decision #{step.decision.id}",
                note=f"kept in the log as yours ({self.loaded.settings.actor})",
            )
        )
        if not text:
            return
        if self.notes is None:
            self.notes = await NoteWriter.open(self.store.path, self.loaded.settings.actor)
        await self.notes.add(step.decision.id, text, self.clock())
        if self.step is not None and self.step.decision.id == step.decision.id:
            self.step = None
            await self._show(await self.replay.move(step.decision.id - 1, "next"))
        self.notify("Note kept.", markup=False, timeout=3)

    @work(group="plots", exclusive=True)
    async def action_plots(self) -> None:
        report = await self.store.report(self.filters)
        waits = await self.store.first_decision_waits(self.filters)
        await self.push_screen_wait(PlotsScreen(report, waits))

    @work(group="backtest", exclusive=True)
    async def action_backtest(self) -> None:
        choices = [str(p) for p in playbook_cmds.playbook_paths(self.loaded.settings)]
        path = await self.push_screen_wait(
            PickScreen(
                "Backtest which playbooks? (a file or directory)",
                choices,
                hint="type a path; enter runs it over this selection",
            )
        )
        if not path:
            return
        out = StringIO()
        try:
            await playbook_cmds.backtest([user_path(path)], self.store, "text", out, self.filters)
        except Exception as exc:  # a broken playbook is a message, not a crash
            out.write(f"cannot backtest {path}: {exc}")
        await self.push_screen_wait(InfoScreen(f"Backtest: {safe(path)}", safe(out.getvalue())))

    def action_help(self) -> None:
        rows = [
            (b.key, f"{b.description}  ({b.id})") for b in self.BINDINGS if isinstance(b, Binding)
        ]
        self.push_screen(HelpScreen(rows))


def step_content(step: Step) -> Content:
    """The decision as the reviewer needs it: who, what, how long, against which suggestion."""
    d = step.decision
    parts: list[str | tuple[str, str]] = [
        (f"#{d.id}  {d.decided_at:%Y-%m-%d %H:%M:%S} UTC\n", "bold"),
        (safe(d.actor), "bold $accent"),
        f" in {safe(d.view or '(no view)')}: ",
        (safe(describe(d.action, d.params)), "bold"),
        f"  {d.status_before} → {d.status_after}\n",
    ]
    if d.outcome:
        parts.append((f"{d.outcome}\n", "$success" if d.outcome == "accepted" else "$warning"))
    if step.took is not None:
        parts.append(f"took {step.took:.0f} s from first shown\n")
    if step.breached:
        parts.append(("decided after the SLA was due\n", "bold $error"))
    if step.undone_by:
        parts.append((f"undone later (#{step.undone_by})\n", "$warning"))
    if reply := d.params.get("reply"):
        parts += [("reply: ", "dim"), (safe(str(reply)), "italic"), "\n"]
    if s := step.answered:
        parts += [
            ("\nSuggestion offered\n", "bold $accent"),
            f"{safe(s.label())}  [{s.priority}]\n",
            f"why: {safe(s.why)}\n",
            (f"rule {safe(s.playbook_id)}/{safe(s.rule_id)} @ {s.playbook_version}\n", "dim"),
        ]
    else:
        parts.append(("\nno suggestion answered\n", "dim"))
    if step.notes:
        parts.append(("\nReview notes\n", "bold $accent"))
        for note in step.notes:
            parts += [
                (f"{note.noted_at:%m-%d %H:%M} {safe(note.reviewer)}: ", "dim"),
                safe(note.text),
                "\n",
            ]
    return Content.assemble(*parts)


def user_path(text: str) -> Path:
    """'~/playbooks' as the reviewer means it."""
    return Path(text).expanduser()
