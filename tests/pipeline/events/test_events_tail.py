"""`trafficcam events tail` as a real subprocess against a real Tansu broker."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pytest
from kafka import KafkaProducer

from pipeline.events.broker import EmbeddedBroker, ensure_topics
from pipeline.events.relay import ReceivedEvent, validate_event
from pipeline.events.tail import describe

REPO = Path(__file__).resolve().parents[3]
READY_TIMEOUT_S = 30.0


def review_event(decision: str = "confirmed") -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    return {
        "schema_version": 1,
        "event_id": event_id,
        "type": "review",
        "violation_id": str(uuid.uuid4()),
        "decision": decision,
        "reason": "Evidence clear",
        "plate_correction": None,
        "reviewer": "officer",
        "decided_at": datetime.now(UTC).isoformat(),
    }


def alert_event(state: str) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "event_id": str(uuid.uuid4()),
        "type": "camera_alert",
        "camera_id": "cam-1",
        "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "previous_state": "online",
        "state": state,
        "reason": "stream lost",
    }


def publish(bootstrap: str, topic: str, events: list[dict[str, Any]]) -> None:
    producer = KafkaProducer(bootstrap_servers=[bootstrap], acks="all")
    try:
        for event in events:
            validate_event(event)
            producer.send(topic, key=b"cam-1", value=json.dumps(event).encode()).get(timeout=10)
    finally:
        producer.close(timeout=5)


@dataclass
class TailProcess:
    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    errors: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    def take(self, count: int, timeout_s: float = 20.0) -> list[str]:
        got = []
        deadline = time.monotonic() + timeout_s
        while len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"got {got}, wanted {count} lines; stderr: {self.errors}")
            try:
                got.append(self.lines.get(timeout=left))
            except queue.Empty:
                continue
        return got

    def nothing_more(self, wait_s: float = 2.0) -> None:
        time.sleep(wait_s)
        assert self.lines.empty(), f"unexpected line: {self.lines.get_nowait()}"

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=20)


def _pump(stream: IO[str], sink: Any) -> None:
    for line in stream:
        sink(line.rstrip("\n"))


@contextmanager
def tail(bootstrap: str, *args: str) -> Iterator[TailProcess]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "events", "tail", "--bootstrap", bootstrap,
         "--session-timeout-ms", "6000", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    running = TailProcess(process)

    def on_error(line: str) -> None:
        running.errors.append(line)
        if line.startswith("following "):
            running.ready.set()

    assert process.stdout is not None and process.stderr is not None
    threads = [
        threading.Thread(target=_pump, args=(process.stdout, running.lines.put), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, on_error), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        assert running.ready.wait(READY_TIMEOUT_S), f"tail never got ready: {running.errors}"
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_tail_prints_new_events_and_a_second_run_continues_where_the_first_stopped(
    kafka_broker: EmbeddedBroker,
) -> None:
    bootstrap = kafka_broker.bootstrap
    ensure_topics(bootstrap, ["reviews", "camera-health"])
    earlier = [review_event("confirmed"), review_event("rejected")]
    publish(bootstrap, "reviews", earlier)

    with tail(bootstrap, "reviews", "camera-health", "--group", "desk", "--from-beginning",
              "--json") as first:  # fmt: skip
        assert [json.loads(line) for line in first.take(2)] == earlier
        live = [alert_event("offline")]
        publish(bootstrap, "camera-health", live)
        assert [json.loads(line) for line in first.take(1)] == live
        first.nothing_more(1.0)
        assert first.interrupt() == 0
    assert any("stopping" in line for line in first.errors)

    while_stopped = [review_event("rejected"), review_event("confirmed")]
    publish(bootstrap, "reviews", while_stopped)
    with tail(bootstrap, "reviews", "camera-health", "--group", "desk") as second:
        lines = second.take(2)
        for line, event in zip(lines, while_stopped, strict=True):
            assert f"violation={event['violation_id']} {event['decision']} by officer" in line
            assert line.startswith(event["decided_at"]) and " reviews review " in line
        second.nothing_more()  # nothing of the first run again
        assert second.interrupt() == 0


def test_a_new_group_without_from_beginning_prints_only_what_arrives(
    kafka_broker: EmbeddedBroker,
) -> None:
    bootstrap = kafka_broker.bootstrap
    ensure_topics(bootstrap, ["camera-health"])
    publish(bootstrap, "camera-health", [alert_event("offline"), alert_event("degraded")])
    with tail(bootstrap, "camera-health", "--group", "fresh", "--json") as running:
        running.nothing_more(1.0)
        new = [alert_event("online")]
        publish(bootstrap, "camera-health", new)
        assert [json.loads(line) for line in running.take(1)] == new
        assert running.interrupt() == 0


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "events", "tail", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    missing = run("--config", str(tmp_path / "none.yaml"))
    assert missing.returncode == 1 and "--bootstrap HOST:PORT" in missing.stderr
    bad = run("--bootstrap", "localhost")
    assert bad.returncode == 1 and "--bootstrap" in bad.stderr and "host:port" in bad.stderr


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"type": "violation", "offence_time": "2026-01-01T00:00:00Z", "camera_id": "cam-1",
             "rule_type": "red_light", "vehicle_class": "motorbike", "plate": None,
             "violation_id": "v1"},
            "2026-01-01T00:00:00Z violations violation cam-1 red_light motorbike plate=- "
            "violation=v1",
        ),
        (
            {"type": "system_alert", "at": "2026-01-01T00:00:00Z", "severity": "critical",
             "kind": "evidence_disk_low", "message": "disk nearly full"},
            "2026-01-01T00:00:00Z violations system_alert critical evidence_disk_low: "
            "disk nearly full",
        ),
        ({"type": "other", "x": 1}, '- violations other {"type":"other","x":1}'),
    ],
)  # fmt: skip
def test_readable_lines(payload: dict[str, Any], expected: str) -> None:
    event = ReceivedEvent("violations", 0, 0, None, {}, payload)
    assert describe(event) == expected
