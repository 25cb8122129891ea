"""Evidence retention throughput: how fast one run finds and deletes expired evidence.

Usage:
    python bench/retention.py [--violations 2000] [--postgres | --database-url URL]

Seeds `--violations` violations in a fresh database (SQLite in a temp directory;
`--postgres` starts a throw-away PostgreSQL cluster as bench/ui.py does; or an
empty database named by `--database-url`), each with two real
16 KiB evidence files in a temp evidence directory: a quarter pending, the rest
rejected, half of those past `rejected_days`. It times a dry run, then a real run
(each deletion is its own transaction, marked then removed), and prints
violations per second for both.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.config import AppConfig, EvidenceConfig, RetentionConfig  # noqa: E402
from pipeline.ops.retention import EvidenceRetention  # noqa: E402
from pipeline.store.db import open_database  # noqa: E402
from pipeline.store.hashing import sha256_bytes  # noqa: E402
from pipeline.store.models import Violation  # noqa: E402
from pipeline.store.repository import EvidenceFile, record_violation, upsert_camera  # noqa: E402

FILE_SIZE = 16 * 1024


def seed(database_url: str, root: Path, count: int, now: datetime) -> int:
    """Seed the violations; returns how many are past their age."""
    _, sessions = open_database(database_url)
    expired = 0
    with sessions.begin() as session:
        upsert_camera(session, camera_id="cam-1", name="Bench", location_text="Bench", lat=21.0,
                      lon=105.8)  # fmt: skip
        for index in range(count):
            violation_id = str(uuid.uuid4())
            status = "pending" if index % 4 == 0 else "rejected"
            days = 100 if index % 2 else 10
            expired += status == "rejected" and days == 100
            offence = now - timedelta(days=days, seconds=index)
            (root / violation_id).mkdir()
            files = []
            for kind in ("frame_before", "frame_after"):
                data = os.urandom(FILE_SIZE)
                (root / violation_id / f"{kind}.jpg").write_bytes(data)
                files.append(EvidenceFile(kind, f"{violation_id}/{kind}.jpg", sha256_bytes(data),
                                          FILE_SIZE))  # fmt: skip
            row = Violation(
                id=violation_id, camera_id="cam-1", rule_type="red_light", rule_version="1",
                track_id=index, vehicle_class="motorbike", offence_time=offence,
                stream_time_s=0.0, first_evidence_time=offence, last_evidence_time=offence,
                measurements={}, explanation="bench", scene_version="v1", status=status,
                evidence_dir=violation_id,
            )  # fmt: skip
            record_violation(session, row, files, [])
    return expired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--violations", type=int, default=2000)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--postgres", action="store_true", help="start a throw-away PostgreSQL")
    args = parser.parse_args()
    stop_postgres = None
    if args.postgres:
        from bench.ui import start_postgres

        args.database_url, stop_postgres = start_postgres()
    try:
        run(args)
    finally:
        if stop_postgres is not None:
            stop_postgres()


def run(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="trafficcam-bench-retention-") as tmp:
        root = Path(tmp) / "evidence"
        root.mkdir()
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'trafficcam.db'}"
        expired = seed(database_url, root, args.violations, now)
        config = AppConfig(
            database_url=database_url,
            evidence=EvidenceConfig(path=root),
            retention=RetentionConfig(rejected_days=30, min_free_fraction=0),
        )
        _, sessions = open_database(database_url)
        retention = EvidenceRetention(config, sessions)
        started = time.perf_counter()
        dry = retention.run(dry_run=True)
        dry_s = time.perf_counter() - started
        started = time.perf_counter()
        real = retention.run()
        real_s = time.perf_counter() - started
        assert len(dry.deletions) == len(real.deletions) == expired, (dry, real, expired)
        left = sum(1 for _ in root.iterdir())
        print(f"database: {database_url.split(':', 1)[0]}, cpus: {os.cpu_count()}, "
              f"load: {os.getloadavg()[0]:.1f}")  # fmt: skip
        print(f"{args.violations} violations, {expired} past retention, {left} packages left")
        print(f"dry run: {dry_s:.2f} s ({expired / dry_s:.0f} violations/s)")
        print(f"run:     {real_s:.2f} s ({expired / real_s:.0f} violations/s deleted)")


if __name__ == "__main__":
    main()
