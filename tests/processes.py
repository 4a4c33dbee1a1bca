"""Child processes of a process under test, and whether they are gone (Linux /proc)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path


def children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (Linux /proc; empty elsewhere)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def alive(pids: set[int], patience: float = 5.0) -> set[int]:
    """Those of `pids` still running after `patience` seconds."""
    deadline = time.monotonic() + patience
    while True:
        running = {p for p in pids if Path(f"/proc/{p}").exists()}
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.1)


def command_line(pid: int) -> str:
    """What `pid` runs, or "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
