"""Violations per second through evidence + DB + outbox + Kafka, and commit-to-Kafka latency.

Usage:
    python bench/events.py [--violations 300] [--databases sqlite,postgresql]
                           [--interval 0.5] [--no-wake]

For each database (SQLite in WAL mode in a temp dir; PostgreSQL as a throw-away
cluster started by the same helper the tests use) it starts a real Tansu broker,
then records `--violations` violations one after another through the real
`ViolationRecorder`, as the worker's background sink does: JPEG key frames,
crops and an annotated overview of the generated red-light scene written
atomically with their manifest, then one transaction with the violation, its
evidence rows and its outbox row. The outbox relay runs in its own thread, as in
`trafficcam run`, woken by the recorder after each commit (`--no-wake`: only its
polling interval). A consumer assigned to the topic polls it from this process.

Latency is from the commit (stamped by the recorder's after-commit hook) to the
moment the consumer has the event in hand. Throughput is violations per second
from the first recording to the last event readable on Kafka. The first
`--warmup` violations are left out of both. Needs the detector's registry model
(`trafficcam models pull`), whose name and hash the manifests record.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafka import KafkaConsumer, TopicPartition  # noqa: E402

from models.darknet import DarknetDetector  # noqa: E402
from pipeline.config import parse_config  # noqa: E402
from pipeline.events.broker import EmbeddedBroker, ensure_topics  # noqa: E402
from pipeline.events.relay import OutboxRelay  # noqa: E402
from pipeline.evidence.recorder import ViolationRecorder  # noqa: E402
from pipeline.store.db import open_database  # noqa: E402
from pipeline.store.repository import register_cameras  # noqa: E402
from tests.pipeline.scenario_findings import scenario_findings  # noqa: E402

CAMERAS = [
    {
        "id": f"cam-{n}",
        "name": f"Junction {n}",
        "location": {"text": "Hang Bai", "lat": 21.02, "lon": 105.85},
        "source": {"url": "rtsp://127.0.0.1:8554/bench"},
        "analysis_fps": 8,
        "scene": {
            "stop_line": {"points": [[0, 500], [1280, 500]], "junction_side": [640, 100]},
            "signal_heads": [{"id": "main", "region": [1100, 40, 1160, 200]}],
        },
        "rules": [{"type": "red_light"}],
    }
    for n in (1, 2)
]


@dataclass
class Result:
    database: str
    violations: int
    record_per_s: float
    end_to_end_per_s: float
    p50_ms: float
    p95_ms: float
    max_ms: float


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh database URL of `kind`, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'trafficcam.db'}"
        return
    from tests.fixtures.postgres import _start_server, _stop_server, postgres_bin_dir

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")
    server = _start_server(bin_dir)
    try:
        yield server.url()
    finally:
        _stop_server(server)


class TopicReader(threading.Thread):
    """Polls one topic from its start and notes when each violation's event arrived."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(name="bench-consumer", daemon=True)
        self.arrived: dict[str, float] = {}
        self.stop = threading.Event()
        # Assigned, not subscribed: no group join, so the first events are not
        # timed against a consumer-group rebalance.
        self.consumer = KafkaConsumer(
            bootstrap_servers=[bootstrap], enable_auto_commit=False, fetch_max_wait_ms=10
        )
        partition = TopicPartition(topic, 0)
        self.consumer.assign([partition])
        self.consumer.seek_to_beginning(partition)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                for records in self.consumer.poll(timeout_ms=20).values():
                    now = time.perf_counter()
                    for record in records:
                        violation_id = json.loads(record.value)["violation_id"]
                        self.arrived.setdefault(violation_id, now)
        finally:
            self.consumer.close()


def run_one(kind: str, violations: int, warmup: int, interval_s: float, wake: bool) -> Result:
    with tempfile.TemporaryDirectory(prefix="trafficcam-bench-events-") as tmp:
        workdir = Path(tmp)
        with database(kind, workdir) as url, EmbeddedBroker() as broker:
            topic = f"violations-{uuid.uuid4().hex[:8]}"
            ensure_topics(broker.bootstrap, [topic])
            config = parse_config(
                {
                    "database_url": url,
                    "evidence": {"path": "evidence"},
                    "kafka": {
                        "bootstrap_servers": [broker.bootstrap],
                        "topics": {"violations": topic},
                    },
                    "cameras": CAMERAS,
                },
                base=workdir,
            )
            engine, sessions = open_database(config.database_url)
            with sessions.begin() as session:
                register_cameras(session, config.cameras)
            detector = DarknetDetector.from_registry("yolov3-tiny", runtime="opencv")
            recorder = ViolationRecorder(config, sessions, detector)
            findings = [scenario_findings(camera, distinct=6) for camera in config.cameras]

            relay = OutboxRelay(sessions, [broker.bootstrap])
            committed: dict[str, float] = {}

            def after_commit() -> None:
                committed[recorder.recorded[-1]] = time.perf_counter()
                if wake:
                    relay.wake()

            recorder.after_commit = after_commit
            reader = TopicReader(broker.bootstrap, topic)
            reader.start()
            stop = threading.Event()
            relay_thread = threading.Thread(target=relay.run, args=(stop, interval_s))
            relay_thread.start()
            try:
                for index in range(warmup):
                    recorder.handle(next(findings[index % len(findings)]))
                _wait_for(lambda: len(reader.arrived) >= warmup, 60, "warm-up events")
                started = time.perf_counter()
                for index in range(violations):
                    recorder.handle(next(findings[index % len(findings)]))
                recorded_s = time.perf_counter() - started
                total = warmup + violations
                _wait_for(lambda: len(reader.arrived) >= total, 120, "events on Kafka")
            finally:
                stop.set()
                relay.wake()
                relay_thread.join()
                reader.stop.set()
                reader.join()
                engine.dispose()

            measured = recorder.recorded[warmup:]
            latencies = sorted((reader.arrived[v] - committed[v]) * 1000 for v in measured)
            last = max(reader.arrived[v] for v in measured)
            return Result(
                database=kind,
                violations=violations,
                record_per_s=violations / recorded_s,
                end_to_end_per_s=violations / (last - started),
                p50_ms=statistics.median(latencies),
                p95_ms=latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
                max_ms=latencies[-1],
            )


def _wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--violations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--interval", type=float, default=0.5, help="relay polling interval (s), as in `run`"
    )
    parser.add_argument(
        "--no-wake", action="store_true", help="relay polls only; the recorder does not wake it"
    )
    args = parser.parse_args()
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    unknown = set(kinds) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"--databases: unknown {', '.join(sorted(unknown))} (sqlite, postgresql)")

    load = os.getloadavg()[0]
    print(
        f"{args.violations} violations per database after {args.warmup} warm-up, "
        f"relay interval {args.interval} s, {'no wake' if args.no_wake else 'woken at commit'}; "
        f"{os.cpu_count()} CPUs, load {load:.1f}"
    )
    results = [
        run_one(kind, args.violations, args.warmup, args.interval, not args.no_wake)
        for kind in kinds
    ]
    header = (
        f"{'database':<11} {'recorded/s':>10} {'on Kafka/s':>10} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.database:<11} {r.record_per_s:>10.1f} {r.end_to_end_per_s:>10.1f} "
            f"{r.p50_ms:>8.1f} {r.p95_ms:>8.1f} {r.max_ms:>8.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
