"""Shared fixtures: a frozen clock, a real SQLite file per test, seeded demo data."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from playbooks import Engine, bundled_dir, load_paths
from sources.demo.source import sample
from sources.model import Mention, Upsert
from tests.fakenet import FakeNet
from tui.prepare import prepare
from tui.store import IngestBatch, Store

FROZEN = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
LONG_RESULTS = Path(__file__).parent / "results" / "long.txt"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        help="the reliability suite's long mode (a soak: hundreds of crash rounds, minutes "
        "of faults, 10^6 contested claims); its figures go to tests/results/long.txt",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--long"):  # a soak runs for many minutes by design
        for item in items:
            item.add_marker(pytest.mark.timeout(0))


@dataclass
class Soak:
    """How big the reliability tests run, and what they measured (written in long mode)."""

    long: bool
    figures: list[str] = field(default_factory=list)

    def size(self, quick: int, long: int) -> int:
        return long if self.long else quick

    def record(self, test: str, **figures: object) -> None:
        shown = ", ".join(f"{k} {v}" for k, v in figures.items())
        self.figures.append(f"{test}: {shown}")
        print(f"\n{test}: {shown}")


@pytest.fixture(scope="session")
def soak(request: pytest.FixtureRequest) -> Iterator[Soak]:
    found = Soak(long=bool(request.config.getoption("--long")))
    started = datetime.now(UTC)
    yield found
    if found.long and found.figures:
        took = (datetime.now(UTC) - started).total_seconds()
        LONG_RESULTS.parent.mkdir(exist_ok=True)
        header = f"pytest --long, {started:%Y-%m-%d %H:%M} UTC, {took / 60:.0f} min\n"
        with LONG_RESULTS.open("a") as record:  # each soak adds its run to the record
            record.write("\n" + header + "\n".join(sorted(found.figures)) + "\n")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config or writes their data dir."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    for key in list(os.environ):
        if key.startswith("TRIAGE_"):
            monkeypatch.delenv(key)


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: FROZEN


@pytest.fixture(scope="session")
def engine() -> Engine:
    result = load_paths([bundled_dir()])
    assert not result.errors
    return Engine(result.playbooks)


@pytest.fixture
async def store(tmp_path: Path, clock: Callable[[], datetime]) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "triage.db", clock=clock) as opened:
        yield opened


def demo_mentions(count: int, seed: int = 7) -> list[Mention]:
    """The first `count` demo mentions, with times fixed relative to FROZEN."""
    return sample(count, FROZEN, seed)


async def ingest(store: Store, engine: Engine, mentions: list[Mention]) -> list[int]:
    batch = IngestBatch()
    for mention in mentions:
        batch.upserts.append(prepare(mention, engine, store.clock()))
    result = await store.ingest(batch)
    return result.new_ids


def upsert(mention: Mention, cursor: str | None = None) -> Upsert:
    return Upsert(mention=mention, cursor=cursor)


@pytest.fixture
def net() -> Iterator[FakeNet]:
    """A local stand-in for the networks, on 127.0.0.1, for one test."""
    server = FakeNet().start()
    yield server
    server.stop()
