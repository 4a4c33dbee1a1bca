"""Who holds a source lease: a session id that names its host and process, so a process on
the same host can tell at once that a holder died (kill -9, a crash) instead of waiting for
its lease to run out."""

from __future__ import annotations

import os
import socket
import uuid


def session_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def holder_is_dead(holder: str) -> bool:
    """True only when the holder is certainly gone: same host, and no such process."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False
