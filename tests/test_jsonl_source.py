"""The JSONL source: export shape in, located errors for bad lines, follow, resume."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sources.jsonl import JsonlConfig, JsonlSource
from sources.model import Upsert
from tests.conftest import FROZEN, demo_mentions


def _source(path: Path, **kw: object) -> JsonlSource:
    return JsonlSource(
        JsonlConfig(name="pipe", type="jsonl", path=path, **kw), clock=lambda: FROZEN
    )


async def _all(source: JsonlSource, cursor: str | None = None) -> list[Upsert]:
    return [e async for e in source.events(cursor, once=True) if isinstance(e, Upsert)]


async def test_reads_the_exported_shape_back_unchanged(tmp_path: Path) -> None:
    mentions = demo_mentions(25)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(m.model_dump_json() + "\n" for m in mentions), encoding="utf-8")
    got = [e.mention for e in await _all(_source(path))]
    assert got == mentions


async def test_minimal_line_gets_defaults(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"native_id": "a1", "text": "hello"}', encoding="utf-8")  # no final newline
    [event] = await _all(_source(path))
    assert (event.mention.source, event.mention.source_name) == ("jsonl", "pipe")
    assert event.mention.created_at == FROZEN


async def test_bad_lines_are_located_counted_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [
        '{"native_id": "ok1", "text": "fine"}',
        "{broken",
        "[1, 2]",
        '{"native_id": "x", "author": {"followers": "many"}}',
        '{"native_id": "ok2", "text": "also fine"}',
        "null",
        '"just a string"',
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"native_id": "\xff\xfe"}\n')
    source = _source(path)
    got = await _all(source)
    assert [e.mention.native_id for e in got] == [
        "ok1",
        "ok2",
        "\ufffd\ufffd",
    ]  # bad UTF-8 replaced
    assert source.health.malformed == 5
    assert source.health.errors[0].startswith(f"{path}:2: not JSON")
    assert source.health.errors[1] == f"{path}:3: expected a JSON object, got an array"
    assert source.health.errors[2].startswith(f"{path}:4: author.followers: ")
    assert source.health.errors[3] == f"{path}:6: expected a JSON object, got null"
    assert source.health.errors[4] == f"{path}:7: expected a JSON object, got a string"


async def test_cursor_resumes_after_the_last_delivered_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"native_id": str(i)}) + "\n" for i in range(5)))
    first = await _all(_source(path))
    rest = await _all(_source(path), cursor=first[1].cursor)
    assert [e.mention.native_id for e in rest] == ["2", "3", "4"]


async def test_follow_picks_up_appended_lines(tmp_path: Path) -> None:
    path = tmp_path / "grow.jsonl"
    path.write_text(json.dumps({"native_id": "1"}) + "\n")
    source = _source(path, follow=True, follow_interval=0.01)
    seen: list[str] = []

    async def consume() -> None:
        async for event in source.events(None):
            assert isinstance(event, Upsert)
            seen.append(event.mention.native_id)
            if len(seen) == 2:
                return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    with path.open("a") as handle:
        handle.write(json.dumps({"native_id": "2"}))  # half a line first
        handle.flush()
        await asyncio.sleep(0.05)
        assert seen == ["1"]
        handle.write("\n")
    async with asyncio.timeout(2):
        await task
    assert seen == ["1", "2"]


async def test_speed_replays_at_a_multiple_of_the_original_pace(tmp_path: Path) -> None:
    path = tmp_path / "paced.jsonl"
    rows = [{"native_id": str(i), "created_at": f"2026-01-01T00:00:0{i}Z"} for i in range(3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    loop = asyncio.get_running_loop()
    start = loop.time()
    await _all(_source(path, speed=20.0))  # 2 s of original traffic at 20x: ~0.1 s
    assert 0.08 <= loop.time() - start < 1.5


async def test_missing_file_is_a_health_error_not_a_crash(tmp_path: Path) -> None:
    source = _source(tmp_path / "nope.jsonl")
    assert await _all(source) == []
    assert source.health.state.value == "error"
    assert "cannot read" in (source.health.last_error or "")
