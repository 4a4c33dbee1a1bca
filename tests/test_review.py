"""Review over a scripted shift: two responders work a seeded queue through the desk (accepts,
edits, overrides, undos); every figure of the report is checked against an independent count
over the raw rows; the replay steps through exactly those decisions in order; notes are the
only thing a review can write; a drill replays an export into a scratch database."""

from __future__ import annotations

import json
import math
import random
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from playbooks import Engine
from tests.conftest import FROZEN, demo_mentions, ingest
from tests.desk import modal, settle
from tui.app import DeskApp
from tui.ingest import IngestRunner
from tui.replay import NoteWriter, Replay, Step
from tui.review import Filters
from tui.review_app import ReviewApp
from tui.settings import Drill, Loaded, load
from tui.store import Store, StoreError


def loaded_as(tmp_path: Path, actor: str) -> Loaded:
    config = tmp_path / f"{actor}.toml"
    config.write_text(
        f'actor = "{actor}"\ndb = "{tmp_path / "shift.db"}"\n'
        f'[[sources]]\nname = "pipe"\ntype = "jsonl"\npath = "{tmp_path / "none.jsonl"}"\n'
    )
    return load(config)


async def work(loaded: Loaded, engine: Engine, script: list[str]) -> None:
    """A responder's desk, driven by keys: 'a' accept, 'r' edit a reply, 'x' dismiss (an
    override unless dismissal was suggested), 'e' escalate to another team, 'u' undo."""
    app = DeskApp(loaded, engine, clock=lambda: FROZEN, ingest=False)
    async with app.run_test(size=(140, 36)) as pilot:
        await settle(pilot)
        for key in script:
            if key == "r":
                await modal(pilot, "r")
                await pilot.press("end", *" (edited)", "ctrl+s")
            elif key == "x":
                await modal(pilot, "x")
                await pilot.press(*"off-topic", "enter")
            elif key == "e":
                await modal(pilot, "e")
                await pilot.press(*"legal", "enter")
            else:
                await pilot.press(key)
            await settle(pilot)


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shift(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Path:
    """One shift for the whole module: two desks take a while to drive."""
    tmp_path = tmp_path_factory.mktemp("shift")
    ana, ben = loaded_as(tmp_path, "ana"), loaded_as(tmp_path, "ben")
    async with await Store.open(ana.settings.db, clock=lambda: FROZEN) as store:
        await ingest(store, engine, demo_mentions(40))
    await work(ana, engine, ["a", "a", "r", "x", "a", "u", "a", "j", "e"])
    await work(ben, engine, ["a", "x", "a", "u", "r", "a"])
    return ana.settings.db


def rows(db: Path, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, args).fetchall()


def first_decisions(decisions: list[sqlite3.Row]) -> dict[int, sqlite3.Row]:
    """Each mention's first real decision (not a note, claim, release or undo)."""
    first: dict[int, sqlite3.Row] = {}
    for r in decisions:
        if r["action"] not in ("note", "claim", "release", "undo"):
            first.setdefault(r["mention_id"], r)
    return first


def first_waits(
    first: dict[int, sqlite3.Row], mentions: dict[int, sqlite3.Row], actor: str | None = None
) -> list[float]:
    return [
        (when(r["decided_at"]) - when(mentions[m]["received_at"])).total_seconds()
        for m, r in first.items()
        if actor is None or r["actor"] == actor
    ]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(q * len(ordered))) - 1], 1)


async def test_the_report_matches_an_independent_count(shift: Path) -> None:
    decisions = rows(shift, "SELECT * FROM decisions ORDER BY id")
    mentions = {r["id"]: r for r in rows(shift, "SELECT * FROM mentions")}
    suggestions = {r["id"]: r for r in rows(shift, "SELECT * FROM suggestions")}
    undone = {r["reverses_id"] for r in decisions if r["reverses_id"]}
    kinds = Counter(r["action"] for r in decisions)
    assert kinds["undo"] == 2 and {"accepted", "edited", "overridden"} <= {
        r["outcome"] for r in decisions
    }  # the shift really has all of them

    async with await Store.open(shift, readonly=True, clock=lambda: FROZEN) as store:
        report = (await store.report(Filters())).as_dict()["sections"]

    # volume per source
    volume = {(r["source"], r["network"]): r["mentions"] for r in report["volume per source"]}
    assert volume == Counter((m["source_name"], m["source"]) for m in mentions.values())
    # responders: decisions (incl. undos), handled, undos
    logged = [r for r in decisions if r["action"] not in ("note", "claim", "release")]
    for row in report["responders"]:
        mine = [r for r in logged if r["actor"] == row["actor"]]
        assert (row["decisions"], row["undos"]) == (
            len(mine),
            sum(r["action"] == "undo" for r in mine),
        )
    assert {r["actor"] for r in report["responders"]} == {"ana", "ben"}
    # per rule: accepted / edited / overridden / undone and the acceptance rate
    for row in report["rules"]:
        answered = [
            r
            for r in decisions
            if r["suggestion_id"]
            and r["action"] != "undo"
            and "/".join(
                (
                    suggestions[r["suggestion_id"]]["playbook_id"],
                    suggestions[r["suggestion_id"]]["rule_id"],
                )
            )
            == row["rule"]
        ]
        outcomes = Counter(r["outcome"] for r in answered)
        assert (row["accepted"], row["edited"], row["overridden"]) == (
            outcomes["accepted"],
            outcomes["edited"],
            outcomes["overridden"],
        ), row
        assert row["undone"] == sum(r["id"] in undone for r in answered)
        fired = sum(
            "/".join((s["playbook_id"], s["rule_id"])) == row["rule"] for s in suggestions.values()
        )
        assert row["fired"] == fired
    # escalations and dismiss reasons
    assert {r["team"]: r["decisions"] for r in report["escalations per team"]} == Counter(
        json.loads(r["params"])["team"] for r in decisions if r["action"] == "escalate"
    )
    assert {r["reason"]: r["decisions"] for r in report["dismiss reasons"]} == Counter(
        json.loads(r["params"])["reason"] for r in decisions if r["action"] == "dismiss"
    )
    # time to first decision per view: nearest-rank median and p90
    first = first_decisions(decisions)
    waits = first_waits(first, mentions)
    (view,) = report["time to first decision per view"]
    assert (view["mentions"], view["median s"], view["p90 s"]) == (
        len(waits),
        nearest_rank(waits, 0.5),
        nearest_rank(waits, 0.9),
    )
    # SLA: met when the first decision came by the due time
    due = {m: r for m, r in mentions.items() if r["sla_due_at"]}
    met = sum(m in first and first[m]["decided_at"] <= r["sla_due_at"] for m, r in due.items())
    assert sum(r["met"] for r in report["SLA (first decision by the due time)"]) == met


async def test_detection_latency_is_the_exact_nearest_rank_whatever_its_spread(
    tmp_path: Path, engine: Engine
) -> None:
    """Its index orders coarse buckets of latency, not latency itself: each figure must still
    be the exact k-th value, whether the ranks fall in one crowded bucket or across many,
    with clocks that disagree (negative latency) and with a time range."""
    rng = random.Random(5)
    spreads = [
        *(rng.uniform(1.0, 1.99) for _ in range(150)),  # a streaming source: one bucket
        *(rng.uniform(-5, 5) for _ in range(60)),  # skewed clocks, around zero
        *(rng.lognormvariate(4, 3) for _ in range(150)),  # polling: seconds to weeks
        0.0,
        0.05,
    ]
    mentions = []
    for i, latency in enumerate(spreads):
        received = FROZEN - timedelta(minutes=i)
        mention = demo_mentions(1)[0].model_copy(
            update={
                "native_id": f"l{i}",
                "source": ("mastodon", "rss")[i % 2],
                "created_at": received - timedelta(seconds=latency),
                "received_at": received,
            }
        )
        mentions.append(mention)
    db = tmp_path / "latency.db"
    async with await Store.open(db, clock=lambda: FROZEN) as store:
        await ingest(store, engine, mentions)
    stored = rows(db, "SELECT source_name, source, latency_s, received_at FROM mentions")
    since = FROZEN - timedelta(hours=3)
    for filters in (Filters(), Filters(since=since, until=FROZEN), Filters(source="rss")):
        async with await Store.open(db, readonly=True, clock=lambda: FROZEN) as store:
            report = (await store.report(filters)).as_dict()["sections"]
        groups: dict[tuple[str, str], list[float]] = {}
        for r in stored:
            arrived = when(r["received_at"])
            if filters.since is not None and not since <= arrived < FROZEN:  # until: excluded
                continue
            if filters.source is not None and filters.source not in (r["source"], r["source_name"]):
                continue
            groups.setdefault((r["source_name"], r["source"]), []).append(r["latency_s"])
        shown = report["detection latency (published to received) per source"]
        assert groups and [(r["source"], r["network"]) for r in shown] == sorted(groups)
        for row in shown:
            latencies = groups[(row["source"], row["network"])]
            assert (row["mentions"], row["median s"], row["p90 s"]) == (
                len(latencies),
                nearest_rank(latencies, 0.5),
                nearest_rank(latencies, 0.9),
            )


async def test_a_report_filtered_by_actor_counts_only_that_actors_rows(shift: Path) -> None:
    """The report's other query plans (decision-only filters): checked the same way."""
    decisions = rows(shift, "SELECT * FROM decisions ORDER BY id")
    mentions = {r["id"]: r for r in rows(shift, "SELECT * FROM mentions")}
    undone = {r["reverses_id"] for r in decisions if r["reverses_id"]}
    async with await Store.open(shift, readonly=True, clock=lambda: FROZEN) as store:
        report = (await store.report(Filters(actor="ana"))).as_dict()["sections"]
    mine = [r for r in decisions if r["actor"] == "ana"]
    logged = [r for r in mine if r["action"] not in ("note", "claim", "release")]
    (ana,) = report["responders"]
    assert (ana["actor"], ana["decisions"]) == ("ana", len(logged))
    judged = [r for r in logged if r["suggestion_id"] and r["action"] != "undo"]
    for outcome in ("accepted", "edited", "overridden"):
        assert sum(row[outcome] for row in report["rules"]) == sum(
            r["outcome"] == outcome for r in judged
        )
    assert sum(row["undone"] for row in report["rules"]) == sum(r["id"] in undone for r in judged)
    waits = first_waits(first_decisions(decisions), mentions, actor="ana")
    views = report["time to first decision per view"]
    assert sum(v["mentions"] for v in views) == len(waits) > 0
    if len(views) == 1:
        assert (views[0]["median s"], views[0]["p90 s"]) == (
            nearest_rank(waits, 0.5),
            nearest_rank(waits, 0.9),
        )


async def test_export_with_the_same_filters_lists_the_rows_behind_a_figure(shift: Path) -> None:
    config = shift.parent / "ana.toml"
    out = cli(
        [
            "--config",
            str(config),
            "export",
            "decisions",
            "--actor",
            "ben",
            "--outcome",
            "accepted",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    exported = [json.loads(line) for line in out.stdout.splitlines()]
    assert exported and {(r["actor"], r["outcome"]) for r in exported} == {("ben", "accepted")}
    report = cli(
        [
            "--config",
            str(config),
            "report",
            "--format",
            "json",
            "--actor",
            "ben",
            "--outcome",
            "accepted",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (ben,) = json.loads(report.stdout)["sections"]["responders"]
    assert ben["decisions"] == len(exported)


async def test_replay_steps_through_exactly_the_decisions_in_order(shift: Path) -> None:
    expected = [
        r["id"]
        for r in rows(
            shift, "SELECT id FROM decisions WHERE action NOT IN ('claim', 'release') ORDER BY id"
        )
    ]
    async with await Store.open(shift, readonly=True) as store:
        replay = Replay(store, Filters())
        step = await replay.first()
        seen = []
        while step is not None:
            seen.append(step.decision.id)
            step = await replay.move(step.decision.id, "next")
        assert seen == expected
        assert await replay.count() == len(expected)
        first = await replay.first()
        assert first is not None
        override = await replay.move(first.decision.id, "override")
        assert override is not None and override.decision.outcome == "overridden"
        undo = await replay.move(first.decision.id, "undo")
        assert undo is not None and undo.decision.action == "undo"
        reversed_id = undo.decision.reverses_id
        assert reversed_id is not None
        before = await replay.move(reversed_id - 1, "next")  # the decision the undo reversed
        assert before is not None and before.undone_by == undo.decision.id
        ana = Replay(store, Filters(actor="ana"))
        assert {s.decision.actor async for s in _all(ana)} == {"ana"}


async def _all(replay: Replay) -> AsyncIterator[Step]:
    step = await replay.first()
    while step is not None:
        yield step
        step = await replay.move(step.decision.id, "next")


async def test_the_review_screen_is_read_only_but_for_notes(shift: Path, tmp_path: Path) -> None:
    before = rows(shift, "SELECT count(*) FROM decisions")[0][0]
    loaded = loaded_as(tmp_path, "rita")
    async with await Store.open(shift, readonly=True) as store:
        app = ReviewApp(loaded, store, Filters(), clock=lambda: FROZEN)
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause(0.3)
            assert app.step is not None
            first = app.step.decision.id
            await pilot.press("j")
            await pilot.pause(0.1)
            assert app.step.decision.id > first
            await pilot.press("o")
            await pilot.pause(0.1)
            assert app.step.decision.outcome == "overridden"
            await modal(pilot, "N")
            await pilot.press(*"override looks right: off-topic", "ctrl+s")
            await pilot.pause(0.3)
            assert [n.text for n in app.step.notes] == ["override looks right: off-topic"]
            await pilot.press("4", "space")  # play at max speed to the end
            for _ in range(200):
                if not app.playing:
                    break
                await pilot.pause(0.05)
            last = rows(
                shift, "SELECT max(id) FROM decisions WHERE action NOT IN ('claim', 'release')"
            )[0][0]
            assert app.step.decision.id == last
        with pytest.raises(StoreError, match="opened read-only"):
            await store.decide(1, actor="rita", action="dismiss")  # no writer at all
    notes = rows(shift, "SELECT reviewer, text FROM review_notes")
    assert [tuple(n) for n in notes] == [("rita", "override looks right: off-topic")]
    assert rows(shift, "SELECT count(*) FROM decisions")[0][0] == before
    writer = await NoteWriter.open(shift, "rita")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
            await writer.db.execute("DELETE FROM decisions")
        with pytest.raises(sqlite3.DatabaseError):
            await writer.db.execute("UPDATE review_notes SET text = 'changed'")
    finally:
        await writer.close()


async def test_a_drill_replays_an_export_into_a_scratch_database(
    tmp_path: Path, engine: Engine
) -> None:
    incident = tmp_path / "incident.jsonl"
    incident.write_text("".join(m.model_dump_json() + "\n" for m in demo_mentions(12)))
    loaded = load(None, db=tmp_path / "drill.db", drill=Drill(incident, None))
    assert loaded.drill == incident and loaded.settings.outbox.dry_run
    async with await Store.open(loaded.settings.db) as store:
        await IngestRunner(store, loaded.sources, lambda: engine).run(once=True)
        stored = rows(store.path, "SELECT published_at, received_at FROM mentions")
        assert len(stored) == 12
        now = datetime.now().astimezone()
        assert all(abs((when(r[1]) - now).total_seconds()) < 60 for r in stored)  # "now"
        await store.decide(1, actor="pat", action="dismiss", params={"reason": "drill"})
        report = (await store.report(Filters())).as_dict()["sections"]
        assert report["dismiss reasons"] == [{"reason": "drill", "decisions": 1, "undone": 0}]
    missing = cli(
        ["--drill", "nope.jsonl"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "nope.jsonl: no such drill file" in missing.stderr


def cli(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """The real command line, in a process (a plain function: the tests' loop is idle)."""
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], **kwargs)
