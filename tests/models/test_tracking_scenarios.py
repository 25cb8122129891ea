"""Both trackers on generated street scenes, with the real default detector.

Vehicles are real photographs composited by the scenario painter; every frame's true
box comes from the same motion that placed the sprite, so a track can be checked
against the vehicle it should follow. A vehicle "keeps its id" when every track that
overlaps its true box (IoU > 0.5) while it is fully in view has one and the same id,
and that id never follows another vehicle.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from models.darknet import DarknetDetector
from models.detections import Detections
from models.tracking import TRACKER_TYPES, ByteTracker, TrackerType, build_tracker
from pipeline.evaluation.scenario import SCENARIOS, build_script
from pipeline.evaluation.scenario.layout import Lane, Layout
from pipeline.evaluation.scenario.motion import Cruise
from pipeline.evaluation.scenario.red_light import WIDTH
from pipeline.evaluation.scenario.script import Script, Vehicle
from pipeline.evaluation.scenario.signal_plan import SignalPlan
from pipeline.evaluation.scenario.sprites import Sprite, load_sprites
from pipeline.geometry import box_iou

INPUT_SIZE = 608  # what the generated scenarios' configs use
FPS = 10
VEHICLE_CLASSES = ("car", "motorbike", "bus", "truck", "bicycle")
# Lanes 80 px apart instead of the junction's 200: a vehicle in the near lane covers
# the lower part of one in the far lane as they pass (true-box IoU up to about 0.2),
# as in dense city traffic.
CLOSE_LANES = Layout(lanes=(Lane("far", 600, 0.9), Lane("near", 680, 1.0)))

CLOSE_PASSES = {
    "car overtakes motorbike": (
        Vehicle("motorbike", "motorbike", "far", WIDTH["motorbike"], Cruise(80, 420, 0)),
        Vehicle("car", "car", "near", WIDTH["car"], Cruise(280, 200, 0)),
    ),
    "car and motorbike cross in opposite directions": (
        Vehicle("motorbike", "motorbike", "far", WIDTH["motorbike"], Cruise(150, 100, 0)),
        Vehicle("car", "car", "near", WIDTH["car"], Cruise(-150, 1150, 0), flip=True),
    ),
    "motorbike overtakes bus": (
        Vehicle("motorbike", "motorbike", "near", WIDTH["motorbike"], Cruise(250, -150, 0)),
        Vehicle("bus", "bus", "far", WIDTH["bus"], Cruise(70, 250, 0)),
    ),
}

Observed = list[tuple[Detections, dict[str, np.ndarray], np.ndarray | None]]
TRACKERS = [
    ("bytetrack", {}),
    ("botsort", {}),
    ("botsort", {"camera_motion": "sparse_optical_flow"}),
]


@pytest.fixture(scope="module")
def sprites() -> dict[str, Sprite]:
    return load_sprites()


def _observe(
    script: Script, sprites: dict[str, Sprite], detector: DarknetDetector, keep_frames: bool
) -> Observed:
    """Each frame's vehicle detections, the true boxes of vehicles fully in view and,
    when `keep_frames`, the frame (for camera-motion compensation; a long scenario's
    frames would take over a gigabyte)."""
    observed: Observed = []
    for image, truth in script.render(sprites):
        [dets] = detector.detect([image], [INPUT_SIZE])
        vehicles = dets.select(np.isin(dets.class_names, VEHICLE_CLASSES))
        boxes = {v.id: np.array(box, dtype=np.float32) for v, box, inside in truth.boxes if inside}
        observed.append((vehicles, boxes, image if keep_frames else None))
    return observed


def _track_vehicles(tracker: ByteTracker, observed: Observed) -> dict[str, list[set[int]]]:
    """Vehicle id -> per frame in which it was fully in view, the ids of the tracks on it."""
    ids: dict[str, list[set[int]]] = defaultdict(list)
    for dets, truth, image in observed:
        tracks = tracker.update(dets, image)
        for vehicle_id, box in truth.items():
            ids[vehicle_id].append(
                {
                    int(tracks.track_ids[i])
                    for i in range(len(tracks))
                    if box_iou(tracks.xyxy[i], box) > 0.5
                }
            )
    return ids


def _assert_one_id_per_vehicle(ids: dict[str, list[set[int]]], min_share: float) -> None:
    """Each vehicle keeps the id it was first tracked with until it leaves, and no id
    follows two vehicles.

    A second track may sit on a vehicle in a frame where its own track is also on it:
    the detector boxes a pickup as both car and truck, and non-maximum suppression
    works within a class. That is a duplicate, not a switch; a switch is a frame in
    which the vehicle is tracked, but not by its own id.
    """
    owner: dict[int, str] = {}
    for vehicle_id, frames in ids.items():
        tracked = [f for f in frames if f]
        assert tracked, f"{vehicle_id}: never tracked"
        own = min(tracked[0])
        with_own = sum(own in f for f in frames)
        assert with_own >= min_share * len(frames), (
            f"{vehicle_id}: its track {own} is on it in {with_own} of {len(frames)} frames"
        )
        switched = [sorted(f) for f in tracked if own not in f]
        assert not switched, f"{vehicle_id}: track {own} replaced by {switched}"
        for track_id in set().union(*tracked):
            assert owner.setdefault(track_id, vehicle_id) == vehicle_id, (
                f"track {track_id} followed both {owner[track_id]} and {vehicle_id}"
            )


@pytest.fixture(scope="module", params=sorted(CLOSE_PASSES))
def close_pass(
    request: pytest.FixtureRequest, sprites: dict[str, Sprite], detector: DarknetDetector
) -> Observed:
    script = Script(
        request.param, CLOSE_LANES, SignalPlan(), FPS, 5.0, CLOSE_PASSES[request.param], seed=3
    )
    observed = _observe(script, sprites, detector, keep_frames=True)
    # The scene must really be close: the two true boxes overlap in some frame.
    overlaps = [box_iou(*truth.values()) for _, truth, _ in observed if len(truth) == 2]
    assert max(overlaps) > 0.1
    return observed


@pytest.mark.parametrize(("kind", "settings"), TRACKERS)
def test_no_id_switch_when_two_vehicles_pass_close(
    close_pass: Observed, kind: TrackerType, settings: dict[str, str]
) -> None:
    ids = _track_vehicles(build_tracker(kind, FPS, **settings), close_pass)
    assert len(ids) == 2
    _assert_one_id_per_vehicle(ids, min_share=0.7)


# Where the default detector loses a vehicle for longer than a tracker may keep a lost
# track (a pedestrian standing in front of a stopped motorbike for seconds), a new id
# afterwards is right, not a switch: such vehicles are left out of the id check, and
# most vehicles of every scenario must be in it.
MIN_CHECKED_SHARE = 0.75

KNOWN_LIMITS = {
    ("speeding", "bytetrack"): "the fast car moves a third of its length per frame at "
    "10 frames/s; ByteTrack's overlap-only matching loses it, BoT-SORT keeps it",
}


@pytest.fixture(scope="module", params=SCENARIOS)
def scenario(
    request: pytest.FixtureRequest, sprites: dict[str, Sprite], detector: DarknetDetector
) -> tuple[str, Observed]:
    return request.param, _observe(
        build_script(request.param), sprites, detector, keep_frames=False
    )


def _continuously_detected(observed: Observed, max_gap: int) -> set[str]:
    """Vehicles the detector never lost for more than `max_gap` frames while in view."""
    seen: dict[str, list[bool]] = defaultdict(list)
    for dets, truth, _ in observed:
        for vehicle_id, box in truth.items():
            seen[vehicle_id].append(any(box_iou(d, box) > 0.5 for d in dets.xyxy))
    kept = set()
    for vehicle_id, hits in seen.items():
        found = [i for i, hit in enumerate(hits) if hit]
        if found and all(b - a <= max_gap + 1 for a, b in zip(found, found[1:], strict=False)):
            kept.add(vehicle_id)
    return kept


@pytest.mark.parametrize("kind", TRACKER_TYPES)
def test_ids_are_stable_through_every_generated_scenario(
    scenario: tuple[str, Observed], kind: TrackerType, request: pytest.FixtureRequest
) -> None:
    name, observed = scenario
    if (name, kind) in KNOWN_LIMITS:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_LIMITS[name, kind], strict=True))
    script = build_script(name)
    vehicles = {v.id for v in script.vehicles if v.kind in VEHICLE_CLASSES}
    checked = _continuously_detected(observed, max_gap=script.fps) & vehicles
    assert len(checked) >= MIN_CHECKED_SHARE * len(vehicles), f"checked only {sorted(checked)}"
    ids = _track_vehicles(build_tracker(kind, script.fps), observed)
    _assert_one_id_per_vehicle({v: ids[v] for v in checked}, min_share=0.7)
