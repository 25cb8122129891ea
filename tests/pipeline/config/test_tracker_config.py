"""The tracker section: a default for every camera, replaced per camera, checked loudly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from models.detections import Detections, class_id
from models.tracking import BotSortTracker, ByteTracker
from pipeline.config import ConfigError, parse_config
from pipeline.runtime.camera_pipeline import CameraPipeline
from tests.pipeline.config.test_config import camera


def _config(default: dict[str, Any] | None = None, **camera_overrides: Any) -> dict[str, Any]:
    """A one-camera config with `default` as the top-level tracker section."""
    data: dict[str, Any] = {"cameras": [camera(**camera_overrides)]}
    if default is not None:
        data["tracker"] = default
    return data


def _pipeline_tracker(data: dict[str, Any]) -> ByteTracker:
    config = parse_config(data)
    return CameraPipeline(config.cameras[0], tracker=config.tracker).tracker


def test_bytetrack_is_the_default() -> None:
    tracker = _pipeline_tracker(_config())
    assert type(tracker) is ByteTracker


def test_top_level_botsort_reaches_every_camera() -> None:
    tracker = _pipeline_tracker(_config({"type": "botsort"}))
    assert isinstance(tracker, BotSortTracker)
    assert tracker.camera_motion == "sparse_optical_flow"


@pytest.mark.parametrize(("lost_track_s", "same_id"), [(1.0, False), (2.0, True)])
def test_lost_track_s_is_seconds_at_the_cameras_rate(lost_track_s: float, same_id: bool) -> None:
    tracker = _pipeline_tracker(_config({"type": "botsort", "lost_track_s": lost_track_s}))
    car = Detections(
        xyxy=np.array([[100.0, 100, 300, 200]]),
        scores=np.array([0.9]),
        class_ids=np.array([class_id("car")]),
    )
    first = [tracker.update(car).track_ids.tolist() for _ in range(2)][-1]
    for _ in range(15):  # 1.5 s unseen at the camera's 10 frames/s
        tracker.update(Detections.empty())
    again = [tracker.update(car).track_ids.tolist() for _ in range(2)][-1]
    assert (again == first) is same_id


def test_a_camera_replaces_the_default_tracker() -> None:
    tracker = _pipeline_tracker(
        _config({"type": "bytetrack"}, tracker={"type": "botsort", "camera_motion": "none"})
    )
    assert isinstance(tracker, BotSortTracker) and tracker.camera_motion == "none"


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (_config({"type": "sort"}), "tracker"),
        (_config({"type": "bytetrack", "camera_motion": "none"}), "camera_motion"),
        (_config(tracker={"type": "botsort", "camera_motion": "orb"}), "camera 'cam-1'"),
        (_config({"type": "botsort", "track_low_thresh": 0.5}), "track_low_thresh"),
        (_config({"type": "botsort", "lost_track_s": 0}), "lost_track_s"),
        (_config({"type": "bytetrack", "class_settle_s": -1}), "class_settle_s"),
    ],
)
def test_bad_tracker_settings_name_the_field(data: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        parse_config(data)


@pytest.mark.parametrize("kind", ["bytetrack", "botsort"])
def test_class_settle_s_is_seconds_at_the_cameras_rate(kind: str) -> None:
    tracker = _pipeline_tracker(_config({"type": kind, "class_settle_s": 0.5}, analysis_fps=6))
    assert tracker.class_settle_frames == 3
    frames = [
        tracker.update(
            Detections(
                xyxy=np.array([[100.0 + 5 * t, 100, 300 + 5 * t, 200]]),
                scores=np.array([0.9]),
                class_ids=np.array([class_id("car")]),
            )
        )
        for t in range(4)
    ]
    assert [f.class_settled.tolist() for f in frames] == [[False], [False], [True], [True]]
