"""What must hold in a database whatever happened to the processes writing it (Proof issue):
checked straight in SQL, independently of the store's own code."""

from __future__ import annotations

import itertools
import sqlite3

HANDLING = ("reply", "escalate", "tag", "dismiss")


def integrity(conn: sqlite3.Connection) -> str:
    return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def double_handled(conn: sqlite3.Connection) -> int:
    """Mentions handled a second time without the first decision being undone in between
    (by another responder: what claims exist to prevent; or by the same desk, restarted)."""
    marks = ",".join("?" * len(HANDLING))
    rows = conn.execute(
        f"SELECT mention_id, id FROM decisions WHERE action IN ({marks}) ORDER BY mention_id, id",
        HANDLING,
    ).fetchall()
    undone = {
        r[0]
        for r in conn.execute("SELECT reverses_id FROM decisions WHERE reverses_id IS NOT NULL")
    }
    return sum(
        1
        for before, after in itertools.pairwise(rows)
        if before[0] == after[0] and before[1] not in undone
    )


def decided_without_claim(conn: sqlite3.Connection, action: str) -> int:
    """`action` decisions whose actor had not claimed the mention before: what a desk must
    never log. The unary `+` keeps SQLite on the per-mention index: through the actor index
    it walked half an actor's log per decision, hours at a million decisions."""
    return int(
        conn.execute(
            "SELECT count(*) FROM decisions t WHERE t.action = ? AND NOT EXISTS ("
            " SELECT 1 FROM decisions c WHERE c.mention_id = t.mention_id AND c.action = 'claim'"
            " AND +c.actor = t.actor AND +c.id < t.id)",
            (action,),
        ).fetchone()[0]
    )


def duplicated_mentions(conn: sqlite3.Connection) -> int:
    """Mentions stored twice (one source, one native id): ingest must never do that."""
    return int(
        conn.execute(
            "SELECT count(*) - count(DISTINCT source_name || char(0) || native_id) FROM mentions"
        ).fetchone()[0]
    )
