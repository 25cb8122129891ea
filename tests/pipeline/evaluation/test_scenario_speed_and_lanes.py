"""The speeding and restricted_lane scenario scripts: configs validate, the calibration
measures what the script drives, and the truth lists exactly the staged offences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.config import parse_config
from pipeline.evaluation.scenario import build_script
from pipeline.evaluation.scenario import restricted_lane as lane_scene
from pipeline.evaluation.scenario import speeding as speed_scene
from pipeline.evaluation.scenario.motion import Cruise, Swerve
from pipeline.evaluation.scenario.output import config_document
from pipeline.evaluation.scenario.script import Script
from pipeline.runtime.scene import SceneGeometry


def camera_of(script: Script):  # type: ignore[no-untyped-def]
    return parse_config(config_document(script, "video.mp4", 608), source=script.name).cameras[0]


@pytest.mark.parametrize("name", ["speeding", "restricted_lane"])
def test_config_validates_with_the_scenarios_rule(name: str) -> None:
    camera = camera_of(build_script(name))
    assert [rule.type for rule in camera.rules] == [name]


def test_speeding_calibration_measures_a_car_as_four_and_a_half_metres() -> None:
    camera = camera_of(build_script("speeding"))
    geometry = SceneGeometry(camera.scene, camera.timezone)
    assert camera.scene.calibration is not None
    assert camera.scene.calibration.id == speed_scene.CALIBRATION_ID
    for lane in ("near", "far"):
        y = next(lane_.ground_y for lane_ in speed_scene.Layout().lanes if lane_.name == lane)
        width = speed_scene.CAR_WIDTH * (1.0 if lane == "near" else 0.85)
        a, b = geometry.to_ground((400.0, y)), geometry.to_ground((400.0 + width, y))
        assert a is not None and b is not None
        assert b[0] - a[0] == pytest.approx(speed_scene.CAR_LENGTH_M, rel=1e-3)
    near, far = geometry.to_ground((640.0, 662.0)), geometry.to_ground((640.0, 462.0))
    assert near is not None and far is not None
    assert far[1] - near[1] == pytest.approx(speed_scene.LANE_SPACING_M, abs=1e-3)


def test_speeding_truth_is_every_vehicle_over_its_limit_and_tolerance() -> None:
    script = build_script("speeding")
    camera = camera_of(script)
    geometry = SceneGeometry(camera.scene, camera.timezone)
    (rule,) = camera.rules
    assert rule.type == "speeding"
    over = []
    for vehicle in script.vehicles:
        motion = vehicle.motion
        assert isinstance(motion, Cruise)
        y = script.layout.lane(vehicle.lane).ground_y
        a, b = geometry.to_ground((500.0, y)), geometry.to_ground((500.0 + motion.speed, y))
        assert a is not None and b is not None
        kmh = (b[0] - a[0]) * 3.6
        limit = geometry.speed_limit_kmh(vehicle.lane, vehicle.kind)
        assert limit is not None
        if kmh > limit + rule.tolerance_kmh:
            over.append(vehicle.id)
        else:
            # Negatives are clearly under, not a rounding away from an offence.
            assert kmh < limit + rule.tolerance_kmh - 1.0, vehicle.id
    assert sorted(o.vehicle for o in script.truth()) == sorted(over)
    assert {o.kind for o in script.truth()} == {"car", "motorbike"}
    assert len(over) == 4 and len(script.vehicles) - len(over) == 6


def test_restricted_lane_truth_is_motorbikes_in_the_car_lane_and_the_late_bus() -> None:
    script = build_script("restricted_lane")
    assert sorted(o.vehicle for o in script.truth()) == ["bus-late", "motorbike-1", "motorbike-2"]
    camera = camera_of(script)
    assert camera.source.recorded_at == lane_scene.RECORDED_AT
    geometry = SceneGeometry(camera.scene, camera.timezone)
    near = camera.scene.lane("near")
    start = lane_scene.RECORDED_AT.astimezone(UTC)
    at = {v.id: v for v in script.vehicles}
    # The early bus leaves the frame before 16:30; the late one is in it after.
    early, late = at["bus-early"].motion, at["bus-late"].motion
    assert start + timedelta(seconds=early.time_at(script.layout.width + 300)) < datetime(
        2026, 11, 25, 9, 30, tzinfo=UTC
    )
    assert geometry.class_allowed(near, "bus", start + timedelta(seconds=early.time_at(640)))
    assert not geometry.class_allowed(near, "bus", start + timedelta(seconds=late.time_at(640)))
    (bus,) = [o for o in script.truth() if o.kind == "bus"]
    assert bus.t_start >= lane_scene.BAN_START_S + lane_scene.MIN_DURATION_S


def test_swerving_motorbike_crosses_the_lane_line_for_less_than_min_duration() -> None:
    script = build_script("restricted_lane")
    layout = script.layout
    (swerver,) = [v for v in script.vehicles if v.swerve is not None]
    assert isinstance(swerver.swerve, Swerve)
    # Sample its anchor row every 10 ms: the time spent past the lane line.
    times = [i / 100 for i in range(round(script.duration_s * 100))]
    past = [t for t in times if swerver.ground_y_at(layout, t) < layout.lane_divider_y]
    assert past, "the swerve never crosses the lane line"
    assert 0.3 < past[-1] - past[0] < lane_scene.MIN_DURATION_S - 0.3
    first, last = swerver.swerve.time_beyond(layout.lane_divider_y - layout.lane("near").ground_y)
    assert first == pytest.approx(past[0], abs=0.03) and last == pytest.approx(past[-1], abs=0.03)
    # It is in view while it swerves, and back in its own lane afterwards.
    assert 0 < swerver.motion.x_at(first) < layout.width
    assert swerver.ground_y_at(layout, last + 1.0) == layout.lane("near").ground_y


def test_swerve_out_and_back() -> None:
    swerve = Swerve(offset=-100.0, t_start=1.0, ramp_s=0.5, hold_s=1.0)
    assert [swerve.offset_at(t) for t in (0.0, 1.0, 1.25, 1.5, 2.5, 2.75, 3.0, 4.0)] == [
        0.0,
        0.0,
        -50.0,
        -100.0,
        -100.0,
        -50.0,
        0.0,
        0.0,
    ]
    with pytest.raises(ValueError, match="never reaches"):
        swerve.time_beyond(-150.0)
