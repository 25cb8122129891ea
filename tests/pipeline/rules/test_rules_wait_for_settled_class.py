"""speeding and overloaded_motorbike judge by class (per-class limits, two-wheelers
only): neither fires while the tracker may still change a track's class."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.config import OverloadedMotorbikeRule, SpeedingRule
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.overloaded_motorbike import OverloadedMotorbike
from pipeline.rules.speeding import Speeding
from pipeline.runtime.track_history import TrackHistory
from tests.pipeline.rules import test_rule_overloaded_motorbike as riders
from tests.pipeline.rules import test_rule_speeding as speed

WALL = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)


def _speeding(frames: list[tuple[str, bool]], speed_kmh: float) -> list[ViolationCandidate]:
    """One vehicle along the mixed lane (50 km/h, motorbikes 40) at `speed_kmh`, with
    the given (class, settled) on each frame at 10 frames/s."""
    rule = Speeding(SpeedingRule(), speed.GEOMETRY)
    history = TrackHistory()
    found: list[ViolationCandidate] = []
    y = speed.LANE_Y["mixed"]
    for seq, (name, settled) in enumerate(frames):
        t = seq / 10
        x = 100 + speed.kmh(speed_kmh) * t
        seen = history.update(
            seq=seq,
            t=t,
            wall_time=WALL + timedelta(seconds=t),
            track_ids=[1],
            boxes=[(x - 60.0, y - 80.0, x + 60.0, y)],
            classes=[name],
            grounds=[speed.GEOMETRY.to_ground((x, y))],
            settled=[settled],
        )
        found.extend(rule.check(FrameContext("cam", seq, t, speed.IMAGE, seen, {})))
    return found


def test_a_car_first_voted_a_motorbike_is_held_to_the_car_limit() -> None:
    # 46 km/h: over the motorbike limit (40 + 3), under the car's (50 + 3). The vote says
    # motorbike for 2 s, long enough to be flagged as one, then settles on car.
    assert _speeding([("motorbike", False)] * 20 + [("car", True)] * 20, 46) == []


def test_a_motorbike_is_flagged_once_its_class_settles() -> None:
    (v,) = _speeding([("motorbike", False)] * 20 + [("motorbike", True)] * 20, 46)
    assert v.vehicle_class == "motorbike" and v.measurements["limit_kmh"] == 40
    assert v.after.t == pytest.approx(2.0)  # the first frame with a settled class


def test_frames_judged_under_a_dropped_class_do_not_count() -> None:
    # 60 km/h is over both limits, but the frames counted against the motorbike limit
    # are not evidence against the car's: min_frames_over (3) counts again from the
    # first frame as a car.
    frames = [("motorbike", False)] * 15 + [("car", True)] * 10
    (v,) = _speeding(frames, 60)
    assert v.vehicle_class == "car" and v.measurements["limit_kmh"] == 50
    assert v.after.t == pytest.approx(1.7)


def _overloaded(settled_from: int) -> list[ViolationCandidate]:
    """A motorbike carrying three riders on every frame, its class settling at frame
    `settled_from`."""
    rule = OverloadedMotorbike(OverloadedMotorbikeRule(), riders.GEOMETRY)
    history = TrackHistory()
    found: list[ViolationCandidate] = []
    for seq, (x, count) in enumerate(riders.riding(3, frames=20)):
        t = seq / 10
        box = riders.bike_box(x)
        seen = history.update(
            seq=seq,
            t=t,
            wall_time=WALL + timedelta(seconds=t),
            track_ids=[1],
            boxes=[box],
            classes=["motorbike"],
            settled=[seq >= settled_from],
        )
        on_bike = {1: [riders.rider_box(box, seat) for seat in riders.SEATS[:count]]}
        ctx = FrameContext("cam", seq, t, riders.IMAGE, seen, {}, riders=on_bike)
        found.extend(rule.check(ctx))
    return found


@pytest.mark.parametrize(("settled_from", "flagged_at"), [(0, 0.4), (9, 0.9), (30, None)])
def test_overloaded_motorbike_waits_for_a_settled_class(
    settled_from: int, flagged_at: float | None
) -> None:
    found = _overloaded(settled_from)
    assert [round(v.offence_t, 3) for v in found] == ([] if flagged_at is None else [flagged_at])
