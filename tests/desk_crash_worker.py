"""A desk worked at random by keys until it is killed, run as its own process by the crash test.

    python -m tests.desk_crash_worker CONFIG SEED

It runs the real desk (live ingest from its config included) headless and presses accept,
pull-next, move and undo at random. Whenever the desk tells its user a decision was logged
(the status bar's "#N ..."), this prints `ack N` at once: what the screen
acknowledged, which the log must hold whenever the process dies.
"""

from __future__ import annotations

import asyncio
import random
import re
import sys
from pathlib import Path

from playbooks import Engine, bundled_dir, load_paths
from tui.app import DeskApp
from tui.settings import load

ACKNOWLEDGED = re.compile(r"^#(\d+) ")
KEYS = "aaaannjju"


async def main(config: Path, seed: int) -> None:
    engine = Engine(load_paths([bundled_dir()]).playbooks)
    app = DeskApp(load(config), engine, ingest=True)
    shown = app.acknowledge

    async def acknowledge(said: str) -> None:
        for found in ACKNOWLEDGED.finditer(said):
            print("ack", found.group(1), flush=True)
        await shown(said)

    app.acknowledge = acknowledge  # type: ignore[method-assign]
    rng = random.Random(seed)
    async with app.run_test(size=(120, 40)) as pilot:
        print("ready", flush=True)
        while True:
            await pilot.press(rng.choice(KEYS))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
