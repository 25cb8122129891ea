"""The no_stopping rule on hand-made tracks: dwell, jitter, gaps, id switches, timing."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.config import NoStoppingRule
from pipeline.rules.no_stopping import NoStopping
from tests.pipeline.dwell_tracks import GEOMETRY, Sighting, approach_and_stop, drive

SPOT = (300.0, 650.0)
"""Inside the no-stopping zone 'kerb-west' (allowed dwell 5 s)."""
ARRIVE = 20
"""Frame the vehicle comes to rest: t = 2.0 s at 10 fps, so the dwell runs out at 7.0 s."""


def rule(**params: object) -> NoStopping:
    return NoStopping(NoStoppingRule.model_validate(params), GEOMETRY)


def parked(stay_frames: int = 100) -> list[Sighting]:
    return approach_and_stop(SPOT, arrive_frame=ARRIVE, stay_frames=stay_frames)


def jittered(path: list[Sighting], px: float, seed: int = 1) -> list[Sighting]:
    """Each box moved by up to `px`, and every 15th by a wild 40 px (a bad detection)."""
    rng = np.random.default_rng(seed)
    out: list[Sighting] = []
    for i, s in enumerate(path):
        if s is None:
            out.append(None)
            continue
        dx, dy = rng.uniform(-px, px, 2)
        if i % 15 == 7:
            dx += 40.0
        out.append((s[0] + dx, s[1] + dy))
    return out


def hidden(path: list[Sighting], frames: range) -> list[Sighting]:
    return [None if i in frames else s for i, s in enumerate(path)]


def test_a_stop_beyond_the_dwell_is_flagged_once_with_its_measurements() -> None:
    found = drive(rule(), {1: parked()})
    assert len(found) == 1
    v = found[0]
    assert v.rule_type == "no_stopping" and v.rule_version == "1.0"
    assert v.track_id == 1 and v.vehicle_class == "car"
    assert v.offence_t == pytest.approx(7.0)
    assert v.measurements["zone"] == "kerb-west"
    assert v.measurements["dwell_s"] == pytest.approx(5.0)
    assert v.measurements["max_dwell_s"] == 5.0
    assert v.measurements["arrival_stream_s"] == pytest.approx(2.0)
    assert v.measurements["arrival_wall_time"] == "2026-11-25T03:00:02+00:00"
    assert v.explanation == "car stopped 5.0 s in no-stopping zone 'kerb-west' (allowed 5 s)"
    # Both key frames show the car at its spot, the 'before' one within the frames
    # the camera pipeline still holds.
    assert v.before.anchor == SPOT and v.after.anchor == SPOT
    assert 0 < v.offence_t - v.before.t <= 4.0


def shifted_times(n: int) -> list[float]:
    """A camera delivering ~6 fps with uneven spacing (0.16 s and 0.24 s)."""
    times, t = [], 0.0
    for i in range(n):
        times.append(round(t, 3))
        t += 0.16 if i % 2 == 0 else 0.24
    return times


def id_switch(path: list[Sighting], at: int) -> dict[int, list[Sighting]]:
    return {1: path[:at], 2: [None] * at + path[at:]}


@pytest.mark.parametrize(
    ("tracks", "expected_t"),
    [
        pytest.param({1: jittered(parked(), 4.0)}, 7.0, id="box-jitter-and-wild-boxes"),
        pytest.param({1: hidden(parked(), range(40, 55))}, 7.0, id="occlusion-gap-1.5s"),
        pytest.param(id_switch(parked(), 45), 7.0, id="id-switch-while-waiting"),
        # A gap longer than max_gap_s (2 s): nobody knows it stood still meanwhile,
        # so its dwell counts again from its return at frame 55.
        pytest.param({1: hidden(parked(), range(30, 55))}, 10.5, id="gap-beyond-max-gap"),
    ],
)
def test_a_stay_survives_jitter_gaps_and_id_switches(
    tracks: dict[int, list[Sighting]], expected_t: float
) -> None:
    found = drive(rule(), tracks)
    assert len(found) == 1
    assert found[0].offence_t == pytest.approx(expected_t, abs=0.25)


def test_uneven_frame_spacing_counts_seconds_not_frames() -> None:
    path = parked(stay_frames=60)
    times = shifted_times(len(path))
    found = drive(rule(), {1: path}, times=times)
    assert len(found) == 1
    arrival = times[ARRIVE]
    assert found[0].measurements["arrival_stream_s"] == pytest.approx(arrival)
    # Fired on the first frame at least 5 s after arrival.
    assert 5.0 <= found[0].offence_t - arrival < 5.0 + 0.25


@pytest.mark.parametrize(
    "tracks",
    [
        # Flagged, then hidden by a bus for 20 s, then seen again under a new id.
        pytest.param(
            {1: parked(stay_frames=80)[:100], 3: [None] * 300 + [SPOT] * 100},
            id="new-id-after-long-occlusion",
        ),
        pytest.param(id_switch(parked(stay_frames=300), 90), id="id-switch-after-flagging"),
        pytest.param({1: jittered(parked(stay_frames=400), 6.0, seed=4)}, id="long-jittery-stay"),
    ],
)
def test_one_stay_is_never_flagged_twice(tracks: dict[int, list[Sighting]]) -> None:
    found = drive(rule(), tracks)
    assert len(found) == 1


def test_a_second_box_on_part_of_the_vehicle_is_the_same_stay() -> None:
    # The detector often boxes a pickup's cab besides the whole pickup.
    found = drive(rule(), {1: parked(), 2: parked()}, widths={2: 90.0})
    assert len(found) == 1
    assert found[0].measurements["track_ids"] == [1, 2]


def test_a_second_box_whose_class_settles_later_joins_the_stay() -> None:
    # The whole pickup's track comes first on each frame but its class settles only
    # after the cab's track has opened the stay: it is still the same vehicle.
    found = drive(
        rule(), {1: parked(), 2: parked()}, widths={2: 90.0}, settled_from={1: ARRIVE + 25}
    )
    assert len(found) == 1
    assert sorted(found[0].measurements["track_ids"]) == [1, 2]


def test_a_vehicle_passing_in_front_neither_joins_nor_ends_the_stay() -> None:
    passing: list[Sighting] = [(-100.0 + 25.0 * i, 650.0) for i in range(60)]
    found = drive(rule(), {1: parked(stay_frames=200), 2: [None] * 60 + passing})
    assert [v.track_id for v in found] == [1]
    assert found[0].measurements["track_ids"] == [1]


def test_a_vehicle_that_drives_into_the_spot_of_a_vanished_one_has_its_own_stay() -> None:
    # The first car is flagged and then lost from view (it left unseen); a second
    # car drives in and parks where it stood.
    second = [None] * 150 + approach_and_stop(SPOT, arrive_frame=20, stay_frames=80)
    found = drive(rule(), {1: parked()[:100], 2: second})
    assert [v.track_id for v in found] == [1, 2]
    assert found[1].offence_t == pytest.approx(15.0 + 2.0 + 5.0)


def test_another_vehicle_at_the_same_spot_after_the_first_left_is_flagged_too() -> None:
    first = parked(stay_frames=80)  # leaves from frame 100
    second = [None] * 130 + approach_and_stop(SPOT, arrive_frame=20, stay_frames=80)
    found = drive(rule(), {1: first, 2: second})
    assert [v.track_id for v in found] == [1, 2]
    assert found[1].offence_t == pytest.approx(13.0 + 2.0 + 5.0)


@pytest.mark.parametrize(
    ("tracks", "classes"),
    [
        pytest.param({1: parked(stay_frames=30)}, {}, id="brief-stop-3s"),
        pytest.param(
            {1: [(20.0 + 1.5 * i, 650.0) for i in range(300)]}, {}, id="slow-drive-15px-per-s"
        ),
        # Waiting at the stop line on red, outside every zone.
        pytest.param(
            {1: approach_and_stop((990.0, 650.0), arrive_frame=20, stay_frames=200)},
            {},
            id="stopped-at-stop-line",
        ),
        # Stopping in the no-parking zone is the other rule's business.
        pytest.param(
            {1: approach_and_stop((700.0, 650.0), arrive_frame=20, stay_frames=200)},
            {},
            id="in-a-no-parking-zone",
        ),
        pytest.param({1: parked()}, {1: "bicycle"}, id="class-not-checked"),
        pytest.param({1: parked()[: ARRIVE + 2]}, {}, id="too-few-frames"),
    ],
)
def test_look_alikes_are_not_flagged(
    tracks: dict[int, list[Sighting]], classes: dict[int, str]
) -> None:
    checked = rule(classes=["car", "motorbike"])
    assert drive(checked, tracks, classes=classes) == []


def test_rule_zones_limit_which_zones_are_checked() -> None:
    with pytest.raises(ValueError, match="needs at least one zone of kind no_stopping"):
        rule(zones=["elsewhere"])
