"""The command line as a user runs it: real processes, real files, stdout vs stderr."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

HOSTILE = "[@click=app.quit]boom[/] \x1b]52;c;aGk=\x07 [/oops]"


def triage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_version_and_help() -> None:
    assert triage("--version").stdout.startswith("triage ")
    for args in ((), ("ingest",), ("export",)):
        out = triage(*args, "--help")
        assert out.returncode == 0 and "usage: triage" in out.stdout


def test_ingest_once_then_export_round_trips_through_the_jsonl_source(tmp_path: Path) -> None:
    first = tmp_path / "first.db"
    run = triage("ingest", "--once", "--demo", "--db", str(first))
    assert run.returncode == 0, run.stderr
    assert "demo: idle, 20 received, 0 malformed" in run.stdout
    stored = run.stdout.splitlines()[-1]  # with the pace of the import: "(0.1 s, 329 a second)"
    assert re.fullmatch(
        rf"stored 20 new mentions in {re.escape(str(first))} \(\d+\.\d s, [\d,]+ a second\)", stored
    ), stored
    exported = triage("export", "mentions", "--db", str(first))
    lines = exported.stdout.splitlines()
    assert len(lines) == 20 and exported.stderr == ""

    dump = tmp_path / "mentions.jsonl"
    dump.write_text(exported.stdout)
    config = tmp_path / "config.toml"
    config.write_text(f'[[sources]]\nname = "replay"\ntype = "jsonl"\npath = "{dump}"\n')
    second = tmp_path / "second.db"
    assert triage("ingest", "--once", "--config", str(config), "--db", str(second)).returncode == 0
    again = triage("export", "mentions", "--db", str(second)).stdout.splitlines()
    assert [json.loads(x) for x in again] == [json.loads(x) for x in lines]


def test_ingest_twice_stores_nothing_twice(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    triage("ingest", "--once", "--demo", "--db", str(db))
    triage("ingest", "--once", "--demo", "--db", str(db))  # resumes from the cursor
    with sqlite3.connect(db) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT native_id) FROM mentions"
        ).fetchone()
    assert total == distinct == 40


def test_hostile_text_is_stored_sanitised_and_raw_kept(tmp_path: Path) -> None:
    feed = tmp_path / "hostile.jsonl"
    feed.write_text(json.dumps({"native_id": "evil", "text": HOSTILE}) + "\n")
    config = tmp_path / "c.toml"
    config.write_text(f'[[sources]]\nname = "pipe"\ntype = "jsonl"\npath = "{feed}"\n')
    db = tmp_path / "h.db"
    assert triage("ingest", "--once", "--config", str(config), "--db", str(db)).returncode == 0
    with sqlite3.connect(db) as conn:
        text, raw = conn.execute("SELECT text, raw FROM mentions").fetchone()
    assert text == "[@click=app.quit]boom[/]  [/oops]"
    assert json.loads(raw)["text"] == HOSTILE


def test_ingest_lists_each_skipped_line_on_stderr(tmp_path: Path) -> None:
    """A file with bad lines is stored but for them, and the run says which and why."""
    feed = tmp_path / "in.jsonl"
    good = [json.dumps({"native_id": f"ok{n}", "text": "fine"}) for n in range(3)]
    feed.write_text("\n".join([good[0], "{broken", good[1], "null", good[2]]) + "\n")
    config = tmp_path / "c.toml"
    config.write_text(f'[[sources]]\nname = "pipe"\ntype = "jsonl"\npath = "{feed}"\n')
    run = triage("ingest", "--once", "--config", str(config), "--db", str(tmp_path / "t.db"))
    assert run.returncode == 0  # skipping a bad line is not a failed run
    assert "pipe: idle, 3 received, 2 malformed" in run.stdout
    assert run.stderr.splitlines() == [
        f"pipe: {feed}:2: not JSON: Expecting property name enclosed in double quotes at column 2",
        f"pipe: {feed}:4: expected a JSON object, got null",
    ]

    many = tmp_path / "many.jsonl"
    many.write_text("".join(f"[{n}]\n" for n in range(25)))
    config.write_text(f'[[sources]]\nname = "pipe"\ntype = "jsonl"\npath = "{many}"\n')
    run = triage("ingest", "--once", "--config", str(config), "--db", str(tmp_path / "m.db"))
    lines = run.stderr.splitlines()
    assert lines[0] == "pipe: the last 20 errors:"
    assert lines[1:] == [
        f"pipe: {many}:{n}: expected a JSON object, got an array" for n in range(6, 26)
    ]


HELD = "SELECT count(*) FROM source_state WHERE holder IS NOT NULL"


@pytest.mark.parametrize(("stop", "status"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_stopped_server_lets_go_of_its_sources_and_sums_up(
    tmp_path: Path, stop: signal.Signals, status: int
) -> None:
    """A service manager's SIGTERM is a normal end, Ctrl-C the usual 130; both let go of the
    sources' leases (another process may fetch them at once) and print what was stored."""
    feed, db = tmp_path / "in.jsonl", tmp_path / "t.db"
    feed.write_text(
        "".join(json.dumps({"native_id": f"m{n}", "text": "hi"}) + "\n" for n in range(5))
    )
    server = _server(tmp_path, feed, db)
    try:
        _wait_for(server, db, HELD)
        _wait_for(server, db, "SELECT count(*) FROM mentions", 5)
    finally:
        server.send_signal(stop)
        out, err = server.communicate(timeout=60)
    assert server.returncode == status, err
    assert out.splitlines() == [
        "pipe: ok, 5 received, 0 malformed",
        f"stored 5 new mentions in {db}",
    ]
    assert err.splitlines() == [f"triage ingest: pipe into {db}; Ctrl-C or SIGTERM stops"]
    assert _count(db, HELD) == 0


def test_a_server_logs_a_source_in_trouble_and_out_of_it(tmp_path: Path) -> None:
    feed, db = tmp_path / "later.jsonl", tmp_path / "t.db"
    server = _server(tmp_path, feed, db)
    try:
        _wait_for(server, db, "SELECT count(*) FROM source_state WHERE state = 'error'")
        time.sleep(1.5)  # a look of the log's
        feed.write_text(json.dumps({"native_id": "m1", "text": "here now"}) + "\n")
        _wait_for(server, db, "SELECT count(*) FROM mentions")
    finally:  # the log looks once more as it stops
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    logged = [line.split(" ", 1)[1] for line in err.splitlines()[1:]]  # after the start line
    assert logged == [
        f"pipe: error: {feed}: cannot read: No such file or directory",
        "pipe: ok",
    ]


def _server(tmp_path: Path, feed: Path, db: Path) -> subprocess.Popen[str]:
    """`triage ingest` as a server, following `feed`."""
    config = tmp_path / "c.toml"
    config.write_text(
        f'[[sources]]\nname = "pipe"\ntype = "jsonl"\npath = "{feed}"\nfollow = true\n'
    )
    return subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "ingest", "--config", str(config), "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(server: subprocess.Popen[str], db: Path, sql: str, at_least: int = 1) -> None:
    deadline = time.monotonic() + 60
    while _count(db, sql) < at_least:
        assert server.poll() is None, "the server stopped by itself"
        assert time.monotonic() < deadline, f"never: {sql}"
        time.sleep(0.05)


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # not made yet
        return 0


def test_export_csv_has_a_header_and_one_row_per_decision(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    triage("ingest", "--once", "--demo", "--db", str(db))
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO decisions (mention_id, actor, action, decided_at, status_before,"
            " status_after)"
            " VALUES (1, 'pat', 'tag', '2026-11-26T10:00:00.000000Z', 'new', 'done')"
        )
    out = triage("export", "decisions", "--format", "csv", "--db", str(db)).stdout.splitlines()
    assert out[0].startswith("id,decided_at,actor,action,params,outcome")
    assert len(out) == 2 and ",pat,tag," in out[1]


def test_an_export_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`triage export mentions | head -1`: the reader leaves after one line. That was a
    BrokenPipeError traceback, and one more from the read left open until the loop closed."""
    feed, db = tmp_path / "in.jsonl", tmp_path / "t.db"
    long_text = "word " * 400  # ~2 KB a mention: the export outgrows the pipe's buffer
    feed.write_text(
        "".join(json.dumps({"native_id": f"m{n}", "text": long_text}) + "\n" for n in range(300))
    )
    config = tmp_path / "config.toml"
    config.write_text(f'[[sources]]\nname = "pipe"\ntype = "jsonl"\npath = "{feed}"\n')
    assert triage("ingest", "--once", "--config", str(config), "--db", str(db)).returncode == 0
    export = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "export", "mentions", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert export.stdout is not None and export.stderr is not None
    assert json.loads(export.stdout.readline())["native_id"] == "m0"
    export.stdout.close()
    assert export.wait(timeout=60) == 128 + signal.SIGPIPE
    assert export.stderr.read() == ""


def test_errors_are_one_line_on_stderr_with_nonzero_exit(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sources]]\nname = "x"\ntype = "nope"\n')
    run = triage("ingest", "--once", "--config", str(bad))
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith(f"triage: {bad}:3: sources.0.type: unknown source type 'nope'")
    assert "Traceback" not in run.stderr

    junk = tmp_path / "junk.db"
    junk.write_text("not a database at all" * 50)
    run = triage("export", "mentions", "--db", str(junk))
    assert run.returncode == 2
    assert run.stderr.strip() == f"triage: {junk}: cannot open database: file is not a database"

    run = triage("export", "mentions", "--db", str(tmp_path / "absent.db"))
    assert run.returncode == 2 and "no such database" in run.stderr


def test_global_flags_work_before_and_after_the_command(tmp_path: Path) -> None:
    db = tmp_path / "flags.db"
    assert triage("--db", str(db), "ingest", "--once", "--demo").returncode == 0
    before = triage("--db", str(db), "export", "mentions").stdout.splitlines()
    after = triage("export", "mentions", "--db", str(db)).stdout.splitlines()
    assert len(before) == len(after) == 20


BROKEN = Path(__file__).parent / "fixtures" / "broken-playbooks"


def test_playbooks_check_reports_errors_and_exits_non_zero() -> None:
    run = triage("playbooks", "check", str(BROKEN))
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0] == (
        f"{BROKEN}/bad-regex.toml:5: rules.0.when.regex: invalid regex '(unclosed': "
        "missing ), unterminated subpattern at position 0"
    )
    assert lines[-1] == "0 playbooks, 0 rules, 11 errors, 0 warnings"


def test_playbooks_check_passes_on_the_bundled_playbooks() -> None:
    run = triage("playbooks", "check")
    assert run.returncode == 0, run.stdout
    assert run.stdout.strip() == "5 playbooks, 19 rules, 0 errors, 0 warnings"


def test_playbooks_schema_is_json_schema_for_editors() -> None:
    schema = json.loads(triage("playbooks", "schema").stdout)
    assert schema["title"] == "triage playbook"
    assert set(schema["required"]) == {"id", "rules"}
    assert "When" in schema["$defs"] and "not" in schema["$defs"]["When"]["properties"]


def test_playbooks_test_backtests_against_stored_decisions(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    assert triage("ingest", "--once", "--demo", "--db", str(db)).returncode == 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT m.id, s.id, s.action, s.params FROM mentions m JOIN suggestions s"
            " ON s.mention_id = m.id AND s.rank = 0 ORDER BY m.id LIMIT 4"
        ).fetchall()
        for mention_id, suggestion_id, action, params in rows[:3]:  # accept three
            conn.execute(
                "INSERT INTO decisions (mention_id, actor, action, params, suggestion_id, outcome,"
                " decided_at, status_before, status_after) VALUES (?, 'pat', ?, ?, ?, 'accepted',"
                " '2026-11-26T10:00:00.000000Z', 'new', 'done')",
                (mention_id, action, params, suggestion_id),
            )
        conn.execute(  # and override the fourth with something no rule suggests
            "INSERT INTO decisions (mention_id, actor, action, params, decided_at, status_before,"
            " status_after) VALUES (?, 'pat', 'snooze', '{\"snooze\": \"1h\"}',"
            " '2026-11-26T10:00:00.000000Z', 'new', 'snoozed')",
            (rows[3][0],),
        )
    own = tmp_path / "only-spam.toml"
    own.write_text(
        'id = "only"\n[[rules]]\nid = "spam"\nwhen.any = ["brand ambassadors"]\n'
        'then.action = "dismiss"\nthen.reason = "spam"\n'
    )
    bundled = Path(__file__).parent.parent / "playbooks" / "bundled"
    same = json.loads(
        triage("playbooks", "test", str(bundled), "--db", str(db), "--format", "json").stdout
    )
    assert (same["mentions"], same["decided"], same["top_agreed"]) == (20, 4, 3)
    assert (same["changed"], same["new"], same["lost"], same["unchanged"]) == (0, 0, 0, 20)

    other = json.loads(
        triage("playbooks", "test", str(own), "--db", str(db), "--format", "json").stdout
    )
    assert (other["changed"], other["lost"], other["unchanged"]) == (1, 19, 0)
    [rule] = other["rules"]
    assert (rule["rule_id"], rule["fired"], rule["top"], rule["decided"]) == ("spam", 1, 1, 0)

    text = triage("playbooks", "test", str(bundled), "--db", str(db)).stdout
    assert text.startswith(
        "20 mentions, 4 decided; the new top suggestion matches 3 of those decisions (75%)"
    )
    csv_out = triage("playbooks", "test", str(bundled), "--db", str(db), "--format", "csv").stdout
    assert csv_out.splitlines()[0] == "playbook,rule,fired,top,decided,agreed,agreement"
    # the word the README and the review screen use for it works too
    assert triage("playbooks", "backtest", str(bundled), "--db", str(db)).stdout == text


def test_an_unreadable_time_filter_is_a_one_line_error(tmp_path: Path) -> None:
    out = triage("--demo", "--db", str(tmp_path / "d.db"), "report", "--since", "yesterday-ish")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "triage: --since: expected a date/time like 2026-11-26T09:00 "
        "or an age like 24h, got 'yesterday-ish'"
    )
