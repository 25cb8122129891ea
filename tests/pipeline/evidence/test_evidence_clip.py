"""The clip in the evidence package: cut by stream copy from a real RTSP camera's ring
buffer, hashed and signed with the rest; a clip that cannot be cut loses only the clip."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from models.darknet import DarknetDetector
from pipeline.config import AppConfig, parse_config
from pipeline.evidence.clips import CLIPS_DIR, clear_stale_clips, request_clip
from pipeline.evidence.package import data_bar_lines
from pipeline.evidence.recorder import ViolationRecorder
from pipeline.runtime.camera_pipeline import Finding
from pipeline.runtime.worker import BackgroundSink
from pipeline.store.db import open_database
from pipeline.store.models import Violation
from pipeline.store.repository import register_cameras
from pipeline.store.signing import load_public_key
from streams.frame import Frame
from streams.source import StreamSource
from tests.factories import make_candidate
from tests.fixtures.rtsp import RtspServerFactory, VideoFactory
from tests.pipeline.config.test_config import camera

FPS = 15
BEFORE_S, AFTER_S = 2.0, 2.0


@pytest.fixture(scope="module")
def detector() -> DarknetDetector:
    return DarknetDetector.from_registry("yolov3-tiny", runtime="opencv")


def _config(tmp_path: Path, buffer_seconds: float = 10.0) -> AppConfig:
    cam = camera()
    cam["source"] = {"url": "rtsp://127.0.0.1:1/unused", "buffer_seconds": buffer_seconds}
    return parse_config(
        {
            "database_url": "sqlite:///db.sqlite",
            "evidence": {"path": "evidence", "clip_before_s": BEFORE_S, "clip_after_s": AFTER_S},
            "cameras": [cam],
        },
        base=tmp_path,
    )


def _finding(config: AppConfig, before: Frame, after: Frame) -> Finding:
    box = (100.0, 80.0, 180.0, 160.0)
    candidate = make_candidate(
        before, after, box, track_id=5, vehicle_class="motorbike",
        measurements={"time_into_red_s": 1.5},
    )  # fmt: skip
    return Finding(config.cameras[0], candidate, before, after, None)


def _frames_until(source: StreamSource, t: float) -> tuple[Frame, Frame]:
    """Two consecutive frames of the live stream, the second at or after `t`."""
    previous: Frame | None = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        frame = source.read(timeout=1.0)
        if frame is None:
            continue
        if previous is not None and frame.pts >= t:
            return previous, frame
        previous = frame
    raise AssertionError(f"the camera never reached {t} s: {source.stats}")


def _recorder(config: AppConfig, detector: DarknetDetector) -> ViolationRecorder:
    _, sessions = open_database(config.database_url)
    with sessions.begin() as session:
        register_cameras(session, config.cameras)
    return ViolationRecorder(config, sessions, detector)


def test_clip_from_a_live_camera_is_in_the_signed_package(
    tmp_path: Path,
    rtsp_server_factory: RtspServerFactory,
    h264_mp4_factory: VideoFactory,
    detector: DarknetDetector,
) -> None:
    video = h264_mp4_factory("camera.mp4", seconds=12, fps=FPS, gop=FPS)
    server = rtsp_server_factory({"/cam": video})
    config = _config(tmp_path)
    recorder = _recorder(config, detector)
    sink = BackgroundSink(recorder)
    with StreamSource("cam-1", server.url("/cam"), analysis_fps=FPS, buffer_seconds=10) as source:
        before, after = _frames_until(source, 4.0)
        finding = _finding(config, before, after)
        offence_t = finding.candidate.offence_t
        started = time.monotonic()
        pending = request_clip(
            source,
            offence_t,
            before_s=BEFORE_S,
            after_s=AFTER_S,
            buffer_seconds=10,
            staging_dir=config.evidence.path / CLIPS_DIR,
        )
        sink.handle(replace(finding, clip=pending))
        handed_over_s = time.monotonic() - started
        # The frame loop goes on while the clip's last seconds arrive.
        delivered = 0
        while delivered < FPS and time.monotonic() - started < 20:
            delivered += source.read(timeout=1.0) is not None
        assert delivered == FPS
        sink.close()
    assert handed_over_s < 0.1, "asking for the clip and handing the finding over must not wait"
    [violation_id] = recorder.recorded

    package = config.evidence.path / violation_id
    manifest = json.loads((package / "manifest.json").read_bytes())
    entry = next(f for f in manifest["files"] if f["name"] == "clip.mp4")
    clip_path = package / "clip.mp4"
    assert entry["kind"] == "clip" and entry["size"] == clip_path.stat().st_size
    assert manifest["clip"]["status"] == "complete", manifest["clip"]
    assert manifest["clip"]["stream_start_s"] <= offence_t - BEFORE_S + 1e-3
    assert manifest["clip"]["stream_end_s"] >= offence_t + AFTER_S - 1 / FPS - 1e-3

    with av.open(str(clip_path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(video=0))
        assert stream.codec_context.name == "h264"
    assert len(frames) == manifest["clip"]["packets"]
    covered = (frames[-1].time or 0.0) - (frames[0].time or 0.0)
    assert covered >= BEFORE_S + AFTER_S - 2 / FPS, covered
    assert not list((config.evidence.path / CLIPS_DIR).iterdir()), "staging file left behind"

    with recorder.session_factory() as session:
        row = session.scalars(select(Violation)).one()
        assert "clip" in {item.kind for item in row.evidence}
    public = load_public_key(config.evidence.signing_key_path)
    assert recorder.evidence.verify_package(violation_id, public) == []


@pytest.mark.parametrize("case", ["no ring buffer", "buffer no longer holds it"])
def test_a_clip_that_cannot_be_cut_is_recorded_as_missing(
    tmp_path: Path, h264_mp4_factory: VideoFactory, detector: DarknetDetector, case: str
) -> None:
    video = h264_mp4_factory("camera.mp4", seconds=8, fps=FPS, gop=FPS)
    buffer_s = 0.0 if case == "no ring buffer" else 2.0
    config = _config(tmp_path, buffer_seconds=buffer_s)
    recorder = _recorder(config, detector)
    with StreamSource("cam-1", str(video), analysis_fps=FPS, buffer_seconds=buffer_s) as source:
        before, after = _frames_until(source, 1.0)
        while source.read(timeout=1.0) is not None:
            pass  # the file plays to its end: the ring now holds only its last 2 s
        pending = request_clip(
            source,
            (before.pts + after.pts) / 2,
            before_s=BEFORE_S,
            after_s=AFTER_S,
            buffer_seconds=buffer_s,
            staging_dir=config.evidence.path / CLIPS_DIR,
        )
        finding = _finding(config, before, after)
        recorder.handle(replace(finding, clip=pending))
    [violation_id] = recorder.recorded
    manifest = json.loads((config.evidence.path / violation_id / "manifest.json").read_bytes())
    assert manifest["clip"]["status"] == "missing"
    expected = "no video buffer" if case == "no ring buffer" else "nothing buffered"
    assert expected in manifest["clip"]["reason"]
    assert "clip.mp4" not in {f["name"] for f in manifest["files"]}
    public = load_public_key(config.evidence.signing_key_path)
    assert recorder.evidence.verify_package(violation_id, public) == []


def test_manifest_is_complete_and_the_overview_carries_the_data_bar(
    tmp_path: Path, h264_mp4_factory: VideoFactory, detector: DarknetDetector
) -> None:
    video = h264_mp4_factory("camera.mp4", seconds=3, fps=FPS, gop=FPS)
    config = _config(tmp_path)
    recorder = _recorder(config, detector)
    # Paced like a camera, so wall-clock times follow the stream's.
    with StreamSource(
        "cam-1", str(video), analysis_fps=FPS, buffer_seconds=0, realtime=True
    ) as source:
        before, after = _frames_until(source, 1.0)
    recorder.handle(_finding(config, before, after))
    [violation_id] = recorder.recorded
    package = config.evidence.path / violation_id
    manifest = json.loads((package / "manifest.json").read_bytes())
    cam = config.cameras[0]
    assert manifest["violation_id"] == violation_id
    assert manifest["camera"] == {
        "id": cam.id,
        "name": cam.name,
        "location": cam.location.model_dump(),
    }
    times = manifest["times"]
    for field in ("first_evidence_utc", "offence_utc", "last_evidence_utc"):
        assert datetime.fromisoformat(times[field]).tzinfo is not None
    assert times["first_evidence_utc"] <= times["offence_utc"] <= times["last_evidence_utc"]
    assert "clock_sync" in times
    assert manifest["rule"]["type"] == "red_light" and manifest["rule"]["version"] == "1"
    assert manifest["rule"]["measurements"] == {"time_into_red_s": 1.5}
    assert manifest["scene_version"] == cam.scene_version
    assert manifest["models"]["detector"]["name"] == detector.name
    assert manifest["models"]["detector"]["sha256"] == detector.model_sha256
    assert manifest["models"]["detector"]["runtime"] == detector.runtime
    assert manifest["models"]["detector"]["precision"] == detector.precision
    assert manifest["clip"] == {
        "status": "missing",
        "reason": "no clip was requested",
    }
    kinds = {f["kind"] for f in manifest["files"]}
    assert {"frame_before", "frame_after", "vehicle_crop", "overview"} <= kinds
    bar = "\n".join(
        data_bar_lines(cam, _finding(config, before, after).candidate, None, after.wall_time)
    )
    for text in (
        cam.id,
        cam.name,
        "red_light v1",
        "signal unknown",
        "time_into_red_s=1.50",
        " UTC",
    ):
        assert text in bar
    # The data bar is added below the picture: the overview is taller than the frame.
    overview = av.open(str(package / "overview.jpg"))
    height = overview.streams.video[0].codec_context.height
    overview.close()
    assert height > after.image.shape[0] + 60
    assert datetime.fromisoformat(times["offence_utc"]) <= datetime.now(UTC)


def test_stale_staging_clips_are_cleared_and_fresh_ones_kept(tmp_path: Path) -> None:
    stale, fresh = tmp_path / "old.mp4", tmp_path / "new.mp4"
    stale.write_bytes(b"left by a killed worker")
    fresh.write_bytes(b"being written now")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    assert clear_stale_clips(tmp_path) == 1
    assert not stale.exists() and fresh.exists()
    assert clear_stale_clips(tmp_path / "absent") == 0
