"""Controller phases against image readings: which wins, when the feed goes stale,
and how controller (UTC wall clock) times land on the camera's stream clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline.config import ConfigError, parse_config
from pipeline.runtime.camera_pipeline import CameraPipeline
from pipeline.signals.feed import CameraSignals, ControllerFeed, PhaseChange, StreamClock
from pipeline.signals.image import Phase
from tests.pipeline.signal_scene import (
    CAMERA_ID,
    CAR_PATH,
    HEAD_ID,
    NO_DETECTIONS,
    camera_config,
    camera_dict,
    car_at,
    frame,
)

T0 = datetime(2026, 3, 14, 1, 30, tzinfo=UTC)
LATENCY = 0.4
"""Frames reach the worker this long after capture (wall_time = T0 + pts + latency)."""


def change(phase: Phase, at_s: float, *, received_s: float | None = None) -> PhaseChange:
    """A controller change at T0 + at_s (wall clock)."""
    return PhaseChange(
        event_id=str(uuid.uuid4()),
        camera_id=CAMERA_ID,
        head_id=HEAD_ID,
        phase=phase,
        changed_at=T0 + timedelta(seconds=at_s),
        received_at=T0 + timedelta(seconds=at_s if received_s is None else received_s),
    )


def run(signals: CameraSignals, lit: Phase | None, start: float, stop: float, fps: float = 10):
    """Frames from stream time `start` to `stop`, the head drawn with `lit`; their states."""
    states = []
    n = round((stop - start) * fps)
    for i in range(n):
        pts = start + i / fps
        wall = T0 + timedelta(seconds=pts + LATENCY)
        states.append((pts, signals.update(frame(i, pts, wall, lit))[HEAD_ID]))
    return states


def test_stream_clock_takes_the_least_delayed_frame() -> None:
    clock = StreamClock(window_s=5.0)
    for i, delay in enumerate([0.5, 0.3, 0.9, 0.35, 0.6]):
        pts = 10.0 + i * 0.2
        clock.observe(frame(i, pts, T0 + timedelta(seconds=pts + delay), None))
    assert clock.offset == pytest.approx(T0.timestamp() + 0.3)
    assert clock.to_stream(T0 + timedelta(seconds=12.3)) == pytest.approx(12.0)
    assert clock.to_wall(12.0) == T0 + timedelta(seconds=12.3)


def test_fresh_controller_wins_over_the_image_and_its_time_maps_to_stream_time() -> None:
    feed = ControllerFeed()
    signals = CameraSignals(camera_config(source="auto", stale_s=30), feed)
    before = run(signals, Phase.GREEN, 0.0, 1.0)
    assert before[-1][1].phase is Phase.GREEN and before[-1][1].source == "image"
    # The controller says red from wall time T0 + 1.5 s; the image keeps showing green.
    feed.add(change(Phase.RED, 1.5))
    states = run(signals, Phase.GREEN, 1.0, 3.0)
    earlier = [s for pts, s in states if pts + LATENCY < 1.5]
    later = [s for pts, s in states if pts + LATENCY >= 1.5]
    # Frames captured before the change keep the phase they showed (no controller phase
    # known for them), the rest get the controller's red with its onset in stream time.
    assert earlier and all(s.source == "image" and s.phase is Phase.GREEN for s in earlier)
    assert later and all(s.source == "controller" and s.phase is Phase.RED for s in later)
    assert later[0].since == pytest.approx(1.5 - LATENCY)
    assert later[0].changed_at == T0 + timedelta(seconds=1.5)


def test_capture_delay_moves_the_controllers_onset_later_on_the_stream_clock() -> None:
    """Frames are stamped when decoded, LATENCY after capture: without the delay the
    onset lands LATENCY early (time into red overstated); with it, on the frame
    captured at the change."""
    feed = ControllerFeed()
    signals = CameraSignals(camera_config(source="auto", stale_s=30, delay_s=LATENCY), feed)
    feed.add(change(Phase.RED, 1.5))
    states = run(signals, Phase.GREEN, 0.0, 3.0)
    first = next((pts, s) for pts, s in states if s.source == "controller")
    assert first[1].since == pytest.approx(1.5)
    assert first[0] == pytest.approx(1.5)  # the frame captured at the change, not before


def test_stale_controller_gives_way_to_the_image_again() -> None:
    feed = ControllerFeed()
    signals = CameraSignals(camera_config(source="auto", stale_s=2.0), feed)
    feed.add(change(Phase.RED, 0.0))
    states = run(signals, Phase.GREEN, 0.0, 4.0)
    fresh = [s for pts, s in states if pts + LATENCY <= 2.0]
    stale = [s for pts, s in states if pts + LATENCY > 2.05]
    assert fresh and all((s.phase, s.source) == (Phase.RED, "controller") for s in fresh)
    assert stale and all((s.phase, s.source) == (Phase.GREEN, "image") for s in stale)


def test_controller_only_head_is_unknown_without_a_fresh_feed() -> None:
    feed = ControllerFeed()
    signals = CameraSignals(camera_config(source="controller", stale_s=2.0, region=False), feed)
    assert run(signals, Phase.GREEN, 0.0, 0.5)[-1][1].phase is Phase.UNKNOWN
    feed.add(change(Phase.GREEN, 0.6))
    states = run(signals, None, 0.5, 4.0)
    assert states[5][1].phase is Phase.GREEN and states[5][1].source == "controller"
    assert states[-1][1].phase is Phase.UNKNOWN and states[-1][1].source == "controller"


def test_image_only_head_ignores_the_controller() -> None:
    feed = ControllerFeed()
    signals = CameraSignals(camera_config(source="image"), feed)
    feed.add(change(Phase.RED, 0.0))
    assert {(s.phase, s.source) for _, s in run(signals, Phase.GREEN, 0.0, 1.0)[2:]} == {
        (Phase.GREEN, "image")
    }


def test_repeats_of_the_phase_keep_its_onset_and_keep_the_feed_fresh() -> None:
    feed = ControllerFeed()
    signals = CameraSignals(camera_config(source="auto", stale_s=2.0), feed)
    feed.add(change(Phase.RED, 0.0))
    for at in (1.5, 3.0, 4.5):  # the controller repeats "red" with the time it sends it
        feed.add(change(Phase.RED, at))
    state = run(signals, Phase.GREEN, 0.0, 5.5)[-1][1]
    assert (state.phase, state.source) == (Phase.RED, "controller")
    assert state.since == pytest.approx(0.0 - LATENCY)


def test_controller_unknown_is_not_replaced_by_the_image() -> None:
    """A controller that reports a fault is fresh news: no phase, not the image's guess."""
    feed = ControllerFeed()
    signals = CameraSignals(camera_config(source="auto", stale_s=5.0), feed)
    feed.add(change(Phase.UNKNOWN, 0.0))
    state = run(signals, Phase.RED, 0.0, 1.0)[-1][1]
    assert (state.phase, state.source) == (Phase.UNKNOWN, "controller")


def test_a_change_seen_twice_counts_once_and_order_is_by_controller_time() -> None:
    feed = ControllerFeed()
    red, green = change(Phase.RED, 2.0), change(Phase.GREEN, 1.0)
    assert feed.add(red) and feed.add(green)  # green arrives late but happened first
    assert not feed.add(red)
    known = feed.head(CAMERA_ID, HEAD_ID)
    assert known is not None
    assert [c.phase for c in known.changes] == [Phase.GREEN, Phase.RED]


def test_red_light_on_the_controllers_red_records_the_source() -> None:
    feed = ControllerFeed()
    pipeline = CameraPipeline(camera_config(source="auto", stale_s=30), signal_feed=feed)
    feed.add(change(Phase.RED, 0.0))
    findings = []
    for i, y in enumerate([None] * 10 + CAR_PATH):
        pts = i / 10
        f = frame(i, pts, T0 + timedelta(seconds=pts + LATENCY), Phase.GREEN)
        findings += pipeline.process(f, NO_DETECTIONS if y is None else car_at(y))
    assert len(findings) == 1
    measurements = findings[0].candidate.measurements
    assert measurements["signal_source"] == "controller"
    assert measurements["signal_phase"] == "red"
    assert measurements["signal_changed_at_utc"] == "2026-03-14T01:30:00Z"
    offence = findings[0].candidate.offence_t
    assert measurements["time_into_red_s"] == pytest.approx(offence + LATENCY, abs=1e-3)
    assert measurements["signal_time_in_phase_s"] == pytest.approx(offence + LATENCY, abs=1e-3)
    assert findings[0].signal is not None and findings[0].signal.source == "controller"


def test_no_red_light_when_only_the_image_says_green() -> None:
    """Without a controller the same drive past a green head is no violation."""
    pipeline = CameraPipeline(camera_config(source="auto"), signal_feed=ControllerFeed())
    findings = []
    for i, y in enumerate([None] * 10 + CAR_PATH):
        pts = i / 10
        f = frame(i, pts, T0 + timedelta(seconds=pts), Phase.GREEN)
        findings += pipeline.process(f, NO_DETECTIONS if y is None else car_at(y))
    assert findings == []


def test_red_light_on_the_images_red_records_image_as_the_source() -> None:
    pipeline = CameraPipeline(camera_config(source="auto"), signal_feed=ControllerFeed())
    findings = []
    for i, y in enumerate([None] * 10 + CAR_PATH):
        pts = i / 10
        f = frame(i, pts, T0 + timedelta(seconds=pts), Phase.RED)
        findings += pipeline.process(f, NO_DETECTIONS if y is None else car_at(y))
    (finding,) = findings
    assert finding.candidate.measurements["signal_source"] == "image"
    assert "signal_changed_at_utc" not in finding.candidate.measurements
    # The image saw red from the first frame (confirmed on the second, dated from the first).
    assert finding.candidate.measurements["signal_time_in_phase_s"] == pytest.approx(
        finding.candidate.offence_t, abs=1e-3
    )


@pytest.mark.parametrize(
    ("head", "words"),
    [
        ({"id": "main", "source": "auto"}, "region is required when source is 'auto'"),
        ({"id": "main"}, "region is required"),
        ({"id": "main", "source": "radio", "region": [1, 1, 5, 5]}, "'image', 'controller'"),
        ({"id": "main", "source": "auto", "region": [1, 1, 5, 5], "controller_stale_s": 0}, "0"),
        ({"id": "main head", "source": "controller"}, "pattern"),
    ],
)
def test_bad_signal_head_config_names_camera_and_field(head: dict[str, Any], words: str) -> None:
    camera = camera_dict()
    camera["scene"]["signal_heads"] = [head]
    with pytest.raises(ConfigError) as error:
        parse_config({"cameras": [camera]}, source="t.yaml")
    message = str(error.value)
    assert f"t.yaml: camera '{CAMERA_ID}', field scene.signal_heads.0" in message
    assert words in message


def test_controller_head_needs_no_region() -> None:
    head = camera_config(source="controller", region=False).scene.signal_heads[0]
    assert head.region is None and head.source == "controller"
