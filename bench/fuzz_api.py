"""Generated requests against every route of the review UI, as every role.

Usage:
    python bench/fuzz_api.py [--requests 10000] [--seed N] [--keep DIR]

Seeds a SQLite database in a temporary folder (or --keep DIR), starts the real app
and sends schemathesis-generated requests (valid and invalid, from an OpenAPI
document that includes the HTML routes) as nobody, police, operator, analyst,
admin and a signal controller; see tests/review_ui/fuzzing.py. Prints the status
counts, the requests per route and role, and every finding: a 5xx, an exception
out of the app, or a rejected request that changed the database. Exits 1 on any
finding.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.review_ui.fuzzing import build_world, run_fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="requests to send")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: fixed)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the database here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fuzz-api-") as tmp:
        root = args.keep or Path(tmp)
        started = time.monotonic()
        world = build_world(root)
        try:
            report = run_fuzz(world, args.requests, seed=args.seed)
        finally:
            world.close()
        elapsed = time.monotonic() - started
    print(report.summary())
    print(f"time: {elapsed:.0f} s ({report.requests / elapsed:.1f} requests/s)")
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
