"""Run every benchmark and print the table: `python -m bench.run [--quick]`.

Each suite runs in its own process, so one suite's memory and threads cannot slow the next.
`--quick` is small enough for CI and fails (exit 1) only on a gross regression: a ratio to the
same-run baseline far below where it stands today (per row, see `Result.gross`), never on an
absolute time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import Result, table

SUITES = ("rules", "ingest", "desk", "trickle", "faults", "commit", "review")
# A suite that runs this long has hung: fail it by name rather than hold CI to its deadline.
PATIENCE_S = {True: 600, False: 3600}


def run_suite(name: str, quick: bool) -> list[Result]:
    """In this process: the suite's results."""
    module = __import__(f"bench.{name}", fromlist=["run"])
    with tempfile.TemporaryDirectory() as tmp:
        results: list[Result] = module.run(Path(tmp), quick)
    return results


def _run_suite_process(suite: str, quick: bool) -> subprocess.CompletedProcess[str] | None:
    """The suite run in its own process group; None when it hung (the group killed: the
    suite's own servers and desks included, which would otherwise hold CI's output open)."""
    command = [sys.executable, "-m", "bench.run", "--suite", suite] + (["--quick"] * quick)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=PATIENCE_S[quick])
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return None
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="small sizes, gross-regression guard")
    parser.add_argument("--only", choices=SUITES, nargs="+", help="these suites, not all")
    parser.add_argument("--suite", choices=SUITES, help=argparse.SUPPRESS)  # internal: one suite
    args = parser.parse_args()
    if args.suite:
        rows = [dataclasses.asdict(r) for r in run_suite(args.suite, args.quick)]
        print(json.dumps(rows))
        return 0
    results: list[Result] = []
    for suite in args.only or SUITES:
        print(f"bench: {suite}...", file=sys.stderr, flush=True)
        out = _run_suite_process(suite, args.quick)
        if out is None:
            print(f"bench: {suite} still ran after {PATIENCE_S[args.quick]} s", file=sys.stderr)
            return 1
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return out.returncode
        results += [Result(**row) for row in json.loads(out.stdout.splitlines()[-1])]
    print(f"python {platform.python_version()} on {platform.machine()}, quick={args.quick}")
    print(table(results))
    gross = [r for r in results if r.ratio < r.gross]
    for r in gross:
        print(f"GROSS REGRESSION: {r.name}: {r.ratio:.2f}x the baseline", file=sys.stderr)
    return 1 if args.quick and gross else 0


if __name__ == "__main__":
    raise SystemExit(main())
