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
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import Result, table

SUITES = ("rules", "ingest", "desk", "faults", "commit", "review")


def run_suite(name: str, quick: bool) -> list[Result]:
    """In this process: the suite's results."""
    module = __import__(f"bench.{name}", fromlist=["run"])
    with tempfile.TemporaryDirectory() as tmp:
        results: list[Result] = module.run(Path(tmp), quick)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="small sizes, gross-regression guard")
    parser.add_argument("--suite", choices=SUITES, help=argparse.SUPPRESS)  # internal: one suite
    args = parser.parse_args()
    if args.suite:
        rows = [dataclasses.asdict(r) for r in run_suite(args.suite, args.quick)]
        print(json.dumps(rows))
        return 0
    results: list[Result] = []
    for suite in SUITES:
        command = [sys.executable, "-m", "bench.run", "--suite", suite]
        out = subprocess.run(
            command + (["--quick"] if args.quick else []), capture_output=True, text=True
        )
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
