"""The `triage` command line. Headless commands never import Textual; the desk does, lazily."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from playbooks import Engine
from sources.contract import KEPT_ERRORS, Health
from tui import collector, playbook_cmds, source_cmds
from tui.health_log import HealthLog
from tui.outbox import STATES
from tui.review import OUTCOMES, FilterError, Filters, parse_when
from tui.settings import ConfigError, Drill, Loaded, load
from tui.store import Store, StoreError

if TYPE_CHECKING:
    from tui.ingest import IngestRunner


class CommandError(Exception):
    """A user-facing failure: printed as one line on stderr, exit status 2."""


def _common(defaults: bool) -> argparse.ArgumentParser:
    """Flags accepted before and after the command. Subcommands suppress their defaults, so
    `triage --db X export` keeps X instead of resetting it."""
    common = argparse.ArgumentParser(add_help=False)
    none: dict[str, Any] = {} if defaults else {"default": argparse.SUPPRESS}
    common.add_argument(
        "--config", type=Path, help="config TOML (default: platform config dir)", **none
    )
    common.add_argument(
        "--db", type=Path, help="SQLite database (default: platform data dir)", **none
    )
    common.add_argument(
        "--as", dest="actor", metavar="NAME", help="actor logged on decisions", **none
    )
    common.add_argument(
        "--demo", action="store_true", help="run the demo source and database", **none
    )
    return common


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="triage",
        parents=[_common(defaults=True)],
        description="Live social-media mention triage. With no command, opens the desk.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {version('mention-triage')}")
    top.add_argument(
        "--drill",
        type=Path,
        metavar="FILE.jsonl",
        help="rehearse: replay a past incident's mentions live into a scratch database",
    )
    top.add_argument("--speed", type=float, default=10.0, help="drill pace (default 10x)")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    common = _common(defaults=False)

    ingest = sub.add_parser("ingest", parents=[common], help="fetch, apply playbooks, store")
    ingest.add_argument("--once", action="store_true", help="fetch what is there now, then exit")

    export = sub.add_parser("export", parents=[common], help="mentions or decisions to stdout")
    export.add_argument("what", choices=["mentions", "decisions", "notes"])
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    _filter_args(export, "decisions only: ")

    replay = sub.add_parser("replay", parents=[common], help="review the decisions, read-only")
    _filter_args(replay)

    report = sub.add_parser("report", parents=[common], help="how the shift went, from the log")
    report.add_argument("--format", choices=["text", "json", "csv"], default="text")
    _filter_args(report)

    sources = sub.add_parser("sources", parents=[common], help="list types, check sources")
    source_actions = sources.add_subparsers(dest="sources_command", metavar="ACTION", required=True)
    source_actions.add_parser("list", parents=[common], help="installed source types")
    source_actions.add_parser("check", parents=[common], help="try each configured source once")

    outbox = sub.add_parser(
        "outbox", parents=[common], help="deliveries: list, retry, cancel, send"
    )
    box = outbox.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    listing = box.add_parser("list", parents=[common], help="every delivery and its state")
    listing.add_argument("--state", action="append", choices=STATES, default=[])
    box.add_parser("retry", parents=[common], help="queue failed deliveries again").add_argument(
        "ids", nargs="*", type=int, metavar="ID", help="default: every failed one"
    )
    box.add_parser("cancel", parents=[common], help="never send these").add_argument(
        "ids", nargs="+", type=int, metavar="ID"
    )
    box.add_parser("send", parents=[common], help="deliver what is due now, once")

    playbooks = sub.add_parser("playbooks", parents=[common], help="check, schema, test")
    actions = playbooks.add_subparsers(dest="playbooks_command", metavar="ACTION", required=True)
    check = actions.add_parser("check", parents=[common], help="report errors and warnings")
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="default: configured")
    actions.add_parser("schema", parents=[common], help="print the playbook JSON schema")
    test = actions.add_parser(
        "test", aliases=["backtest"], parents=[common], help="backtest over a database"
    )
    test.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    test.add_argument("--format", choices=["text", "json", "csv"], default="text")
    return top


def _filter_args(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The review selection, the same for report, replay and export decisions."""
    group = parser.add_argument_group(f"{prefix}select decisions")
    group.add_argument("--since", metavar="T", help="from T: 2026-11-26T09:00, or an age: 8h")
    group.add_argument("--until", metavar="T", help="before T (same forms)")
    group.add_argument("--actor", metavar="A", help="decisions by A")
    group.add_argument("--view", metavar="V", help="decisions made in view V")
    group.add_argument("--source", metavar="S", help="a source name or a network")
    group.add_argument("--rule", metavar="R", help="answering rule R (id or playbook/id)")
    group.add_argument("--outcome", metavar="O", choices=OUTCOMES, help=", ".join(OUTCOMES))


def _filters(args: argparse.Namespace) -> Filters:
    now = datetime.now(UTC)
    try:
        return Filters(
            since=parse_when("--since", args.since, now) if args.since else None,
            until=parse_when("--until", args.until, now) if args.until else None,
            actor=args.actor,
            view=args.view,
            source=args.source,
            rule=args.rule,
            outcome=args.outcome,
        )
    except FilterError as exc:
        raise CommandError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "playbooks" and args.playbooks_command == "schema":
            return playbook_cmds.schema(sys.stdout)
        if args.command == "sources" and args.sources_command == "list":
            return source_cmds.list_types(sys.stdout)  # needs no config
        if args.command == "playbooks" and args.playbooks_command == "check" and args.paths:
            return playbook_cmds.check(args.paths, sys.stdout)  # needs no config
        drill = Drill(args.drill, args.speed) if getattr(args, "drill", None) else None
        if drill is not None and args.command is not None:
            raise CommandError("--drill opens the desk: use it without a command")
        loaded = load(args.config, db=args.db, actor=args.actor, demo=args.demo, drill=drill)
        match args.command:
            case "playbooks" if args.playbooks_command == "check":
                return playbook_cmds.check(
                    playbook_cmds.playbook_paths(loaded.settings), sys.stdout
                )
            case "playbooks":
                return asyncio.run(_backtest(loaded, args.paths, args.format))
            case "sources":
                return asyncio.run(source_cmds.check(loaded.sources, sys.stdout))
            case "outbox":
                return asyncio.run(_outbox(loaded, args))
            case "ingest":
                return asyncio.run(_ingest(loaded, once=args.once))
            case "export":
                return asyncio.run(_export(loaded, args.what, args.format, _filters(args)))
            case "replay":
                return asyncio.run(_replay(loaded, _filters(args)))
            case "report":
                return asyncio.run(_report(loaded, args.format, _filters(args)))
            case _:
                return _desk(loaded)
    except (ConfigError, StoreError, CommandError) as exc:
        for line in str(exc).splitlines():
            print(f"triage: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `triage export ... | head`: the reader had enough
        # Python would print the same error again flushing stdout at exit: point it nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def load_engine(loaded: Loaded) -> Engine:
    """Load the configured playbooks; a broken file is a located error, not a crash."""
    return playbook_cmds.load_engine(playbook_cmds.playbook_paths(loaded.settings))


async def _backtest(loaded: Loaded, paths: list[Path], fmt: str) -> int:

    async with await Store.open(loaded.settings.db, readonly=True) as store:
        return await playbook_cmds.backtest(paths, store, fmt, sys.stdout)


def _summarise(name: str, health: Health, *, errors: bool) -> None:
    """A source's counts on stdout; with `errors`, each error it kept on stderr (which lines
    of a file were skipped, and why), so a run with bad input says where."""
    note = f", last error: {health.last_error}" if health.last_error else ""
    print(
        f"{name}: {health.state.value}, {health.received} received, {health.malformed} "
        f"malformed{note}"
    )
    if not errors:
        return
    if len(health.errors) == KEPT_ERRORS:
        print(f"{name}: the last {KEPT_ERRORS} errors:", file=sys.stderr)
    for message in health.errors:
        print(f"{name}: {message}", file=sys.stderr)


async def _ingest(loaded: Loaded, *, once: bool) -> int:
    from tui.ingest import IngestRunner

    engine = load_engine(loaded)
    async with await Store.open(loaded.settings.db) as store:
        runner = IngestRunner(store, loaded.sources, lambda: engine)
        # As the desk does, and for the same turns: without it, a full collection now and
        # then held the loop 36-40 ms in a 50k import (bench.ingest's runner: 7.5 ms with).
        collector.settle()
        # A headless server delivers the desks' replies and escalations too.
        work = runner.run(once=True) if once else _serve(runner, loaded, store)
        started = time.monotonic()
        try:
            await _until_terminated(work)
        finally:  # stopped by Ctrl-C or a service manager too: what it did, and why not more
            for source in loaded.sources:  # a server logged its errors as they came
                _summarise(source.name, source.health, errors=once)
            took = f" ({_pace(runner.stored, time.monotonic() - started)})" if once else ""
            print(f"stored {runner.stored} new mentions in {store.path}{took}")
            if runner.worker.failed:
                note = f"note: lines were prepared in one process: {runner.worker.failed}"
                print(note, file=sys.stderr)
    # A source that could not fetch (for any reason) makes the run fail, for cron and CI.
    failed = [s for s in loaded.sources if s.health.state.value not in {"ok", "idle", "standby"}]
    return 1 if failed else 0


def _pace(count: int, seconds: float) -> str:
    """How long an import took, and at what rate: "7.1 s, 14,084 a second"."""
    return f"{seconds:.1f} s, {count / max(seconds, 1e-6):,.0f} a second"


async def _until_terminated(work: Coroutine[Any, Any, object]) -> None:
    """Run `work`; SIGTERM (a service manager stopping the server) cancels it as Ctrl-C does,
    so the sources' leases are let go and the run summed up, but it is a normal end."""
    task = asyncio.ensure_future(work)
    terminated = asyncio.Event()

    def terminate() -> None:
        terminated.set()
        task.cancel()

    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGTERM, terminate)
    except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
        await task
        return
    try:
        await task
    except asyncio.CancelledError:
        if not terminated.is_set():
            raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def _serve(runner: IngestRunner, loaded: Loaded, store: Store) -> None:
    """Ingest, deliver and log the sources' health until stopped. A task group, not gather:
    cancelled, gather returns as soon as the quickest task is done, and the store closed under
    ingest's own clean-up (its sources' leases were never let go)."""
    names = ", ".join(s.name for s in loaded.sources) or "no sources"
    print(f"triage ingest: {names} into {store.path}; Ctrl-C or SIGTERM stops", file=sys.stderr)
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(runner.run())
            group.create_task(_deliver_forever(loaded, store))
            group.create_task(HealthLog(loaded.sources, sys.stderr).run())
    except BaseExceptionGroup as failed:  # the first failure is the one to tell
        raise failed.exceptions[0] from None


async def _deliver_forever(loaded: Loaded, store: Store) -> None:
    from sources.http import new_client
    from tui import deliver, dispatch

    store.routes = deliver.routes(loaded, str(store.path))
    async with new_client() as client:
        await dispatch.from_settings(loaded, store, client).run()


async def _outbox(loaded: Loaded, args: argparse.Namespace) -> int:
    from tui import outbox_cmds

    async with await Store.open(loaded.settings.db) as store:
        match args.outbox_command:
            case "list":
                return await outbox_cmds.list_entries(store, args.state, sys.stdout)
            case "retry":
                return await outbox_cmds.retry(store, args.ids, sys.stdout)
            case "cancel":
                return await outbox_cmds.cancel(store, args.ids, sys.stdout)
            case _:
                return await outbox_cmds.send(loaded, store, sys.stdout)


async def _export(loaded: Loaded, what: str, fmt: str, filters: Filters) -> int:
    from tui.export import export_decisions, export_mentions, export_notes

    out_format: Literal["csv", "jsonl"] = "csv" if fmt == "csv" else "jsonl"
    async with await Store.open(loaded.settings.db, readonly=True) as store:
        if what == "mentions":
            await export_mentions(store, sys.stdout, out_format)
        elif what == "notes":
            await export_notes(store, sys.stdout, out_format, filters)
        else:
            await export_decisions(store, sys.stdout, out_format, filters)
    return 0


async def _replay(loaded: Loaded, filters: Filters) -> int:
    from tui.review_app import ReviewApp  # Textual only for the screen

    async with await Store.open(loaded.settings.db, readonly=True) as store:
        app = ReviewApp(loaded, store, filters)
        await app.run_async()
    return app.return_code or 0


async def _report(loaded: Loaded, fmt: str, filters: Filters) -> int:
    from tui import report

    async with await Store.open(loaded.settings.db, readonly=True) as store:
        built = await store.report(filters)
    {"json": report.write_json, "csv": report.write_csv}.get(fmt, report.write_text)(
        built, sys.stdout
    )
    return 0


def _desk(loaded: Loaded) -> int:
    engine = load_engine(loaded)
    return asyncio.run(_run_desk(loaded, engine))


async def _run_desk(loaded: Loaded, engine: Engine) -> int:
    from tui.app import DeskApp  # Textual is imported only for the desk

    # Opened before the app starts, so a bad database is a one-line error, not a crash screen.
    async with await Store.open(loaded.settings.db) as store:
        app = DeskApp(loaded, engine, store)
        await app.run_async()
    return app.return_code or 0


if __name__ == "__main__":
    raise SystemExit(main())
