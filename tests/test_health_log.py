"""A headless server's log: every error a source records, and each change into, between and
out of trouble; fetching and catching up again stay quiet."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from sources.contract import KEPT_ERRORS, HealthState
from sources.jsonl import JsonlConfig, JsonlSource
from tests.conftest import FROZEN
from tui.health_log import HealthLog
from tui.timefmt import iso

AT = iso(FROZEN) + " pipe: "
RETRY = FROZEN + timedelta(seconds=30)


def test_errors_and_trouble_are_logged_once_each(tmp_path: Path) -> None:
    source = JsonlSource(JsonlConfig(name="pipe", type="jsonl", path=tmp_path / "in.jsonl"))
    health = source.health
    out = io.StringIO()
    log = HealthLog([source], out, clock=lambda: FROZEN)

    def told() -> list[str]:
        log.look()
        lines = out.getvalue().splitlines()
        out.seek(0)
        out.truncate()
        return lines

    health.state = HealthState.OK
    assert told() == []
    health.record_malformed("in.jsonl:3: not JSON")
    health.state = HealthState.IDLE  # caught up: its normal life, not news
    assert told() == [AT + "in.jsonl:3: not JSON"]
    assert told() == []

    health.state = HealthState.BACKING_OFF
    health.retry_at = RETRY
    health.record_error("feed: server error 503")
    assert told() == [
        AT + "feed: server error 503",
        f"{AT}backing off (retry at {iso(RETRY)})",
    ]
    health.state = HealthState.ERROR  # trouble of another kind, its error set without a record
    health.last_error = "in.jsonl: cannot read: No such file or directory"
    assert told() == [
        f"{AT}error: in.jsonl: cannot read: No such file or directory (retry at {iso(RETRY)})"
    ]
    health.state = HealthState.OK
    assert told() == [AT + "ok"]
    health.state = HealthState.STANDBY  # another process took it over: worth a line
    assert told() == [AT + "standby"]
    health.state = HealthState.IDLE
    assert told() == [AT + "idle"]

    for n in range(KEPT_ERRORS + 5):  # more than it keeps between two looks: the kept ones
        health.record_malformed(f"in.jsonl:{n}: not JSON")
    assert [line.split(": ", 1)[1] for line in told()] == [
        f"in.jsonl:{n}: not JSON" for n in range(5, KEPT_ERRORS + 5)
    ]
