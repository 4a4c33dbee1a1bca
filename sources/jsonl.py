"""Read mentions from a JSON Lines file: one mention per line, as `triage export` writes them.

Also the generic pipe from any listening platform: only `native_id` and `text` are required;
`source_name` defaults to this source's name, `source` to "jsonl", `created_at` to now.
Replays at original pace (`speed = 1`), faster (`speed = 10`) or at once (no `speed`), and with
`follow = true` tails a growing file. The cursor is the byte offset after the last whole line,
so a restart resumes exactly there. A malformed line is counted, reported with its file and
line number, and skipped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, Field, ValidationError

from sources.contract import HealthState, Source, SourceConfig
from sources.jsondecode import loads
from sources.model import Mention, MentionEvent, Upsert

CHUNK = 1 << 16
MAX_PAUSE = 300.0  # never sleep longer than this between two replayed lines


class JsonlConfig(SourceConfig):
    type: Literal["jsonl"] = "jsonl"
    path: Annotated[Path, AfterValidator(Path.expanduser)] = Field(description="The file to read.")
    speed: float | None = Field(
        default=None, gt=0, description="Replay pace: 1 = original, 10 = ten times faster."
    )
    follow: bool = Field(default=False, description="Keep reading as the file grows.")
    follow_interval: float = Field(default=0.5, gt=0, description="Seconds between checks.")
    retime: bool = Field(
        default=False,
        description="Deliver each mention as if it happened now (drills): published and "
        "received times become the delivery time; the pace still follows the file.",
    )


class JsonlSource(Source[JsonlConfig]):
    config_model = JsonlConfig

    def __init__(self, config: JsonlConfig, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(config)
        self.clock = clock or (lambda: datetime.now(UTC))

    async def events(
        self, cursor: str | None, *, once: bool = False
    ) -> AsyncIterator[MentionEvent]:
        start, start_line = _parse_cursor(cursor)
        previous: datetime | None = None
        async for line, offset, lineno in self._lines(
            start, start_line, follow=self.config.follow and not once
        ):
            mention = self._parse(line, lineno)
            if mention is None:
                continue
            if self.config.speed and previous is not None:
                await asyncio.sleep(_pause(previous, mention.created_at, self.config.speed))
            previous = mention.created_at
            if self.config.retime:
                mention = mention.model_copy(
                    update={"created_at": self.clock(), "received_at": None}
                )
            self.health.received += 1
            self.health.last_success = self.clock()
            yield Upsert(mention=mention, cursor=f"{offset}:{lineno}")

    async def line_batches(
        self, cursor: str | None, *, once: bool = False, size: int = 200
    ) -> AsyncIterator[LineBatch]:
        """The unparsed lines after `cursor`, a read at a time, for `parse_line` elsewhere
        (another process: parsing is most of the CPU a fast feed costs). Only when nothing
        here needs a line parsed first: see `batches_lines`."""
        start, start_line = _parse_cursor(cursor)
        follow = self.config.follow and not once
        async for chunk in self._chunks(start, start_line, follow=follow):
            for first in range(0, len(chunk), size):
                piece = chunk[first : first + size]
                _, offset, lineno = piece[-1]
                yield LineBatch([(line, n) for line, _, n in piece], f"{offset}:{lineno}")

    @property
    def batches_lines(self) -> bool:
        """Lines can be parsed away from here unless the replay pace or retiming needs them."""
        return not self.config.speed and not self.config.retime

    def took(self, received: int, malformed: list[str]) -> None:
        """Count what `parse_line` made of a batch elsewhere, as `events` counts its own."""
        for message in malformed:
            self.health.record_malformed(message)
        if received:
            self.health.received += received
            self.health.last_success = self.clock()

    async def _lines(
        self, offset: int, lineno: int, *, follow: bool
    ) -> AsyncIterator[tuple[bytes, int, int]]:
        """Whole lines from `offset`, with the offset and number after each."""
        async for chunk in self._chunks(offset, lineno, follow=follow):
            for count, line in enumerate(chunk, start=1):
                yield line
                if count % 16 == 0:
                    await asyncio.sleep(0)  # parsing is CPU work: let the desk have its turn

    async def _chunks(
        self, offset: int, lineno: int, *, follow: bool
    ) -> AsyncIterator[list[tuple[bytes, int, int]]]:
        """The whole non-blank lines of each read from `offset`, each with the offset and
        number after it."""
        path = self.config.path
        pending = b""
        while True:
            try:
                chunk = await asyncio.to_thread(_read, path, offset + len(pending))
            except OSError as exc:
                self.health.state = HealthState.ERROR
                self.health.last_error = f"{path}: cannot read: {exc.strerror or exc}"
                if not follow:
                    return
                await asyncio.sleep(self.config.follow_interval)
                continue
            self.health.state = HealthState.OK
            if not chunk:
                if not follow:
                    if pending.strip():  # a last line without a trailing newline
                        yield [(pending, offset + len(pending), lineno + 1)]
                    self.health.state = HealthState.IDLE  # read to the end: caught up
                    return
                await asyncio.sleep(self.config.follow_interval)
                continue
            pending += chunk
            *whole, pending = pending.split(b"\n")
            lines = []
            for line in whole:
                offset += len(line) + 1
                lineno += 1
                if line.strip():
                    lines.append((line, offset, lineno))
            if lines:
                yield lines

    def _parse(self, line: bytes, lineno: int) -> Mention | None:
        parsed = parse_line(self.config, line, lineno, self.clock)
        if isinstance(parsed, str):
            self.health.record_malformed(parsed)
            return None
        return parsed


class LineBatch(NamedTuple):
    lines: list[tuple[bytes, int]]  # (line, its number in the file)
    cursor: str  # where a restart resumes: after the last of them


def parse_line(
    config: JsonlConfig, line: bytes, lineno: int, clock: Callable[[], datetime]
) -> Mention | str:
    """One line as a mention, or what is wrong with it, located as `file:line: ...`.
    Pure (no health, no state), so it can run in another process."""
    where = f"{config.path}:{lineno}"
    try:
        data = loads(line)
    except json.JSONDecodeError as exc:
        return f"{where}: not JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(data, dict):
        return f"{where}: expected a JSON object, got {_JSON_KINDS.get(type(data), 'a value')}"
    try:
        return Mention.model_validate(_defaults(data, config.name, clock))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(line)"
        return f"{where}: {field}: {err['msg']}"


# What a line held instead of an object, in JSON's words rather than Python's.
_JSON_KINDS: dict[type, str] = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def _defaults(data: dict[str, Any], name: str, clock: Callable[[], datetime]) -> dict[str, Any]:
    data.setdefault("source", "jsonl")
    data.setdefault("source_name", name)
    if "created_at" not in data:
        data["created_at"] = clock().isoformat()
    if "raw" not in data:
        data["raw"] = {k: v for k, v in data.items() if k != "raw"}
    return data


def _read(path: Path, offset: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read(CHUNK)


def _parse_cursor(cursor: str | None) -> tuple[int, int]:
    if not cursor:
        return 0, 0
    offset, _, lineno = cursor.partition(":")
    return int(offset), int(lineno or 0)


def _pause(previous: datetime, current: datetime, speed: float) -> float:
    return min(max((current - previous).total_seconds() / speed, 0.0), MAX_PAUSE)
