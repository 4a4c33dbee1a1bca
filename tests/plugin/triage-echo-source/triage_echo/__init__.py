"""The smallest useful source: `count` mentions saying `text`, then idle.

This file is the README's plugin example, verbatim in spirit: a config model, a Source
subclass with `events`, and an entry point in `triage.sources`.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Literal

from sources import HealthState, Mention, MentionEvent, Source, SourceConfig, Upsert


class EchoConfig(SourceConfig):
    type: Literal["echo"] = "echo"
    text: str = "hello from a plugin"
    count: int = 3


class EchoSource(Source[EchoConfig]):
    config_model = EchoConfig

    async def events(
        self, cursor: str | None, *, once: bool = False
    ) -> AsyncIterator[MentionEvent]:
        start = int(cursor or 0)
        for n in range(start, self.config.count):
            mention = Mention(
                source="echo",
                source_name=self.name,
                native_id=str(n),
                created_at=datetime.now(UTC),
                text=f"{self.config.text} #{n}",
            )
            self.health.received += 1
            yield Upsert(mention=mention, cursor=str(n + 1))
        self.health.state = HealthState.IDLE
