"""Run every benchmark and print the table: `python -m bench.run [--quick]`.

`--quick` is small enough for CI and fails (exit 1) only on a gross regression: ours slower
than the baseline by a wide margin, never on an absolute time.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

from bench import desk, ingest, rules
from bench.common import Result, table


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="small sizes, gross-regression guard")
    args = parser.parse_args()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        results += rules.run(Path(tmp), args.quick)
        results += ingest.run(Path(tmp), args.quick)
        results += desk.run(Path(tmp), args.quick)
    print(f"python {platform.python_version()} on {platform.machine()}, quick={args.quick}")
    print(table(results))
    gross = [r for r in results if r.ratio < r.gross]
    for r in gross:
        print(f"GROSS REGRESSION: {r.name}: {r.ratio:.2f}x the baseline", file=sys.stderr)
    return 1 if args.quick and gross else 0


if __name__ == "__main__":
    raise SystemExit(main())
