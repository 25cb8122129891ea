"""End to end on real parts: generated junction -> RTSP server -> worker -> SQLite,
evidence and Kafka; and `trafficcam eval` on the same scenario.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import av
import pytest
import yaml
from sqlalchemy import select

from pipeline.evaluation.accuracy import Prediction, load_truth, score
from pipeline.evaluation.scenario import ScenarioFiles, generate
from pipeline.events.relay import consume_records, validate_event
from pipeline.store.db import open_database
from pipeline.store.models import EvidenceItem, OutboxEvent, Violation
from tests.e2e.eval_cli import TRAFFICCAM, eval_report
from tests.fixtures.rtsp import RtspServerFactory


@pytest.fixture(scope="module")
def red_light(tmp_path_factory: pytest.TempPathFactory) -> ScenarioFiles:
    return generate("red_light", tmp_path_factory.mktemp("red_light"))


def video_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_eval_finds_every_red_light_violation_and_nothing_else(red_light: ScenarioFiles) -> None:
    report = eval_report(red_light)
    truth = load_truth(red_light.truth)
    assert report["rules"]["red_light"] == {
        "tp": len(truth.violations),
        "fp": 0,
        "fn": 0,
        "precision": 1.0,
        "recall": 1.0,
        "misses": [],
        "false_alarms": [],
    }
    assert report["frames"] >= 400 and report["seconds"] > 0


def test_eval_without_truth_lists_the_findings_with_times(red_light: ScenarioFiles) -> None:
    """A real clip has no truth file: eval then lists what it found for a person to check."""
    result = subprocess.run(
        [*TRAFFICCAM, "eval", "--config", str(red_light.config), "--video", str(red_light.video)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    listed = [line for line in result.stdout.splitlines() if "predicted red_light" in line]
    truth = load_truth(red_light.truth)
    assert len(listed) == len(truth.violations)
    for line, expected in zip(listed, truth.violations, strict=True):
        t = float(line.split(" at ")[1].split(" s")[0])
        assert expected.t_start - 1 <= t <= expected.t_end + 1, line
        assert "after the signal turned red" in line


def test_rtsp_camera_to_reviewed_violation_events(
    red_light: ScenarioFiles,
    rtsp_server_factory: RtspServerFactory,
    kafka_broker: Any,
    tmp_path: Path,
) -> None:
    server = rtsp_server_factory({"/junction": red_light.video})
    config = yaml.safe_load(red_light.config.read_text())
    config["database_url"] = f"sqlite:///{tmp_path / 'trafficcam.db'}"
    config["evidence"] = {"path": str(tmp_path / "evidence")}
    config["kafka"] = {"bootstrap_servers": [kafka_broker.bootstrap]}
    config["cameras"][0]["source"] = {"url": server.url("/junction")}
    config_path = tmp_path / "trafficcam.yaml"
    config_path.write_text(yaml.safe_dump(config))
    log_path = tmp_path / "worker.log"

    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [*TRAFFICCAM, "run", "--config", str(config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: ": online" in log_path.read_text(), 60, "the camera to come online")
        # The server plays the file once at real time; stop the worker after it ended
        # and before a reconnect could replay it far enough to cross the line again.
        time.sleep(video_seconds(red_light.video) + 3.0)
        os.killpg(worker.pid, signal.SIGTERM)
        assert worker.wait(timeout=90) == 0, log_path.read_text()[-3000:]
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)

    _, session_factory = open_database(config["database_url"])
    with session_factory() as session:
        violations = list(session.scalars(select(Violation).order_by(Violation.offence_time)))
        outbox = {
            row.payload["violation_id"]: row
            for row in session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "violations"))
        }
    truth = load_truth(red_light.truth)
    scores = score(
        [Prediction(v.rule_type, v.stream_time_s, v.vehicle_class) for v in violations], truth
    )["red_light"]
    assert (scores.tp, scores.fp, scores.fn) == (len(truth.violations), 0, 0), [
        (v.vehicle_class, v.stream_time_s) for v in violations
    ]
    assert all(row.sent_at is not None for row in outbox.values())

    received = {}
    for record in consume_records(
        kafka_broker.bootstrap, "violations", group_id="e2e-check", timeout_s=20
    ):
        validate_event(record.payload)
        received[record.payload["violation_id"]] = record
        if len(received) == len(violations):
            break
    assert set(received) == {v.id for v in violations}
    for violation in violations:
        record = received[violation.id]
        assert record.event_id == outbox[violation.id].event_id
        assert record.key == violation.camera_id

    verify = subprocess.run(
        [*TRAFFICCAM, "evidence", "verify", "--all", "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stderr
    assert f"checked {len(violations)} evidence package(s): 0 problem(s)" in verify.stdout
    # Each package carries its clip, cut from the camera's ring buffer while the worker ran.
    with session_factory() as session:
        kinds = {
            v.id: {
                item.kind
                for item in session.scalars(select(EvidenceItem).filter_by(violation_id=v.id))
            }
            for v in violations
        }
    assert all("clip" in found for found in kinds.values()), kinds

    # A changed byte in one key frame is caught and the file named.
    tampered = tmp_path / "evidence" / violations[0].id / "frame_after.jpg"
    data = bytearray(tampered.read_bytes())
    data[100] ^= 0xFF
    tampered.write_bytes(bytes(data))
    verify = subprocess.run(
        [*TRAFFICCAM, "evidence", "verify", "--all", "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 1
    assert str(tampered) in verify.stderr


def test_run_on_files_drains_outbox_and_a_broken_camera_harms_no_other(
    red_light: ScenarioFiles, kafka_broker: Any, tmp_path: Path
) -> None:
    config = yaml.safe_load(red_light.config.read_text())
    good = config["cameras"][0]
    good["source"] = {"url": str(red_light.video)}
    broken = {**good, "id": "broken-camera", "source": {"url": str(tmp_path / "missing.mp4")}}
    config.update(
        database_url=f"sqlite:///{tmp_path / 'trafficcam.db'}",
        evidence={"path": str(tmp_path / "evidence")},
        kafka={"bootstrap_servers": [kafka_broker.bootstrap]},
        cameras=[broken, good],
    )
    config_path = tmp_path / "trafficcam.yaml"
    config_path.write_text(yaml.safe_dump(config))

    result = subprocess.run(
        [*TRAFFICCAM, "run", "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "broken-camera: offline" in result.stderr

    _, session_factory = open_database(config["database_url"])
    with session_factory() as session:
        violations = list(session.scalars(select(Violation)))
        pending = [r for r in session.scalars(select(OutboxEvent)) if r.sent_at is None]
    assert len(violations) == len(load_truth(red_light.truth).violations)
    assert {v.camera_id for v in violations} == {good["id"]}
    assert pending == []
