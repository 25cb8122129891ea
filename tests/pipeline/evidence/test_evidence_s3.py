"""End to end on a real S3 server (SeaweedFS): the recorder writes a violation's package,
clip included, to the bucket; `evidence verify` passes on it and names a tampered object;
the review UI serves its files from the bucket."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select

from models.darknet import DarknetDetector
from pipeline.config import AppConfig, parse_config
from pipeline.evidence.clips import CLIPS_DIR, request_clip
from pipeline.evidence.recorder import ViolationRecorder
from pipeline.runtime.camera_pipeline import Finding
from pipeline.store.db import open_database
from pipeline.store.hashing import sha256_bytes
from pipeline.store.models import Violation
from pipeline.store.repository import register_cameras
from pipeline.store.users import add_user
from review_ui.app import create_app
from streams.source import StreamSource
from tests.factories import make_candidate
from tests.fixtures.rtsp import VideoFactory
from tests.fixtures.s3 import S3Server
from tests.pipeline.config.test_config import camera
from tests.review_ui.conftest import log_in, serve

TRAFFICCAM = [sys.executable, "-m", "pipeline.cli"]
FPS = 15
PREFIX = "city/evidence/"


def _config_data(tmp_path: Path, server: S3Server, bucket: str) -> dict[str, object]:
    store = server.store_config(bucket, prefix=PREFIX).model_dump(mode="json")
    return {
        "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "evidence": {"path": str(tmp_path / "work"), "store": store},
        "cameras": [camera()],
    }


def _record_one(config: AppConfig, video: Path) -> tuple[ViolationRecorder, str]:
    _, sessions = open_database(config.database_url)
    with sessions.begin() as session:
        register_cameras(session, config.cameras)
    detector = DarknetDetector.from_registry("yolov3-tiny", runtime="opencv")
    recorder = ViolationRecorder(config, sessions, detector)
    with StreamSource("cam-1", str(video), analysis_fps=FPS, buffer_seconds=10) as source:
        frames = []
        while (frame := source.read(timeout=2.0)) is not None:
            frames.append(frame)
        before, after = frames[40], frames[45]
        box = (100.0, 80.0, 180.0, 160.0)
        candidate = make_candidate(before, after, box, track_id=2)
        clip = request_clip(
            source,
            candidate.offence_t,
            before_s=1.0,
            after_s=1.0,
            buffer_seconds=10,
            staging_dir=config.evidence.path / CLIPS_DIR,
        )
        recorder.handle(Finding(config.cameras[0], candidate, before, after, None, clip=clip))
    [violation_id] = recorder.recorded
    return recorder, violation_id


def _verify(config_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TRAFFICCAM, "evidence", "verify", "--all", "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_recorder_writes_a_verifiable_package_to_s3_and_the_ui_serves_it(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str, h264_mp4_factory: VideoFactory
) -> None:
    data = _config_data(tmp_path, s3_server, s3_bucket)
    config_path = tmp_path / "trafficcam.yaml"
    config_path.write_text(yaml.safe_dump(data))
    config = parse_config(data, base=tmp_path)
    video = h264_mp4_factory("camera.mp4", seconds=6, fps=FPS, gop=FPS)
    recorder, violation_id = _record_one(config, video)

    s3 = s3_server.client()
    listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix=f"{PREFIX}{violation_id}/")
    names = {item["Key"].rsplit("/", 1)[1] for item in listed["Contents"]}
    assert {"manifest.json", "clip.mp4", "frame_before.jpg", "overview.jpg"} <= names
    # Nothing of the package lands on the local disk; only the staging area for clips.
    assert not (tmp_path / "work" / violation_id).exists()
    with recorder.session_factory() as session:
        row = session.scalars(select(Violation)).one()
        items = {item.kind: (item.uri, item.sha256) for item in row.evidence}
    for kind, (uri, digest) in items.items():
        assert uri.startswith(f"s3://{s3_bucket}/{PREFIX}{violation_id}/"), kind
        key = uri[len(f"s3://{s3_bucket}/") :]
        assert sha256_bytes(s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read()) == digest

    verified = _verify(config_path)
    assert verified.returncode == 0, verified.stderr
    assert "checked 1 evidence package(s): 0 problem(s)" in verified.stdout

    with recorder.session_factory.begin() as session:
        add_user(session, "lan", "a-long-password", "police")
    app = create_app(config, session_factory=recorder.session_factory)
    with serve(app) as live, httpx.Client(base_url=live.url, timeout=10) as http:
        assert log_in(http, "lan", "a-long-password").status_code == 303
        page = http.get(f"/violations/{violation_id}")
        assert page.status_code == 200
        assert f'src="/evidence/{violation_id}/frame_after.jpg"' in page.text
        for name, kind in (("frame_after.jpg", "frame_after"), ("clip.mp4", "clip")):
            served = http.get(f"/evidence/{violation_id}/{name}")
            assert served.status_code == 200, name
            assert sha256_bytes(served.content) == items[kind][1]
        assert http.get(f"/evidence/{violation_id}/unknown.jpg").status_code == 404

    # One changed byte in the bucket: verify fails and names the object.
    key = f"{PREFIX}{violation_id}/frame_before.jpg"
    body = bytearray(s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    body[200] ^= 0x01
    s3.put_object(Bucket=s3_bucket, Key=key, Body=bytes(body))
    tampered = _verify(config_path)
    assert tampered.returncode == 1
    assert f"s3://{s3_bucket}/{key}: SHA-256 does not match" in tampered.stderr


def test_bad_s3_settings_are_named(tmp_path: Path) -> None:
    from pipeline.config import ConfigError

    with pytest.raises(ConfigError, match="field evidence.store.s3.prefix"):
        parse_config(
            {"evidence": {"store": {"type": "s3", "bucket": "evidence", "prefix": "no-slash"}}},
            base=tmp_path,
        )
    with pytest.raises(ConfigError, match="access_key_id and secret_access_key"):
        parse_config(
            {"evidence": {"store": {"type": "s3", "bucket": "evidence", "access_key_id": "k"}}},
            base=tmp_path,
        )
    with pytest.raises(ConfigError, match="evidence.store"):
        parse_config({"evidence": {"store": {"type": "ftp"}}}, base=tmp_path)
