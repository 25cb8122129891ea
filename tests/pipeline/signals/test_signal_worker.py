"""The worker follows the controller feed while it runs: a real file source paced
as a live camera, the real detector, the phase change stored in the table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np

from models.darknet import DarknetDetector
from pipeline.config import AppConfig, CameraConfig
from pipeline.runtime.worker import CollectingSink, Worker
from pipeline.signals.feed import TableFollower, controller_feed_for
from pipeline.signals.image import Phase
from pipeline.store.db import open_database
from pipeline.store.signal_phases import record_phase_change
from tests.pipeline.signal_scene import CAMERA_ID, HEAD_ID, camera_dict, head_image


def _green_head_video(path: Path, seconds: float = 3.0, fps: int = 10) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        image = head_image(Phase.GREEN)
        stream.height, stream.width = image.shape[:2]
        stream.pix_fmt = "yuv420p"
        for _ in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def test_worker_follows_the_controller_over_the_image(tmp_path: Path) -> None:
    video = tmp_path / "green.mp4"
    _green_head_video(video)
    camera = camera_dict(source="auto", stale_s=30)
    camera["source"] = {"url": str(video), "realtime": True}
    config = AppConfig(
        database_url=f"sqlite:///{tmp_path / 'trafficcam.db'}",
        cameras=[CameraConfig.model_validate(camera)],
    )
    engine, factory = open_database(config.database_url)
    with factory.begin() as db:
        record_phase_change(
            db,
            camera_id=CAMERA_ID,
            head_id=HEAD_ID,
            phase="red",
            changed_at=datetime.now(UTC) - timedelta(seconds=1),
            reported_by="controller-1",
        )
    feed = controller_feed_for(config, factory)
    assert feed is not None
    detector = DarknetDetector.from_registry("yolov3-tiny", runtime="opencv")
    worker = Worker(config, detector, CollectingSink(), signal_feed=feed)
    stats = worker.run()
    engine.dispose()
    assert stats.frames >= 20
    state = worker.pipelines[CAMERA_ID].signals.states[HEAD_ID]
    # The image showed green throughout; the controller's red wins.
    assert (state.phase, state.source) == (Phase.RED, "controller")
    # The worker stopped its followers with its sources.
    (follower,) = [f for f in feed.followers if isinstance(f, TableFollower)]
    assert not follower.running and follower.errors == 0
