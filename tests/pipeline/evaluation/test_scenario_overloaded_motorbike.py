"""The overloaded_motorbike scenario script: config validates, riders and the pedestrian
are placed where `models.riders` counts them, and the rule over the exact boxes reports
exactly what the truth file lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import pytest

from models.detections import Detections, class_id
from models.riders import associate_riders
from pipeline.config import CameraConfig, parse_config
from pipeline.evaluation.scenario import build_script
from pipeline.evaluation.scenario.motion import StopAndGo
from pipeline.evaluation.scenario.output import config_document, truth_document
from pipeline.evaluation.scenario.riders import rider_boxes
from pipeline.evaluation.scenario.script import Script
from pipeline.evaluation.scenario.sprites import load_sprites
from pipeline.rules import build_rules
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.runtime.track_history import Box, TrackHistory

START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
RIDERS = {
    "motorbike-1": 3,
    "motorbike-2": 2,
    "motorbike-3": 1,
    "motorbike-4": 2,
    "motorbike-5": 3,
    "motorbike-6": 2,
    "motorbike-7": 3,
}


def camera_of(script: Script) -> CameraConfig:
    return parse_config(config_document(script, "video.mp4", 608), source=script.name).cameras[0]


def counted_riders(bike: Box, persons: list[Box]) -> list[Box]:
    """The persons `models.riders` puts on `bike`, from exact boxes."""
    detections = Detections(
        xyxy=np.array([bike, *persons], dtype=np.float32),
        scores=np.ones(1 + len(persons), dtype=np.float32),
        class_ids=np.array(
            [class_id("motorbike")] + [class_id("person")] * len(persons), dtype=np.int64
        ),
    )
    return [persons[p - 1] for p in associate_riders(detections)[0]]


@cache
def exact() -> tuple[Script, list[ViolationCandidate], dict[str, list[tuple[float, int]]]]:
    """The script, the rule's findings over exact boxes, and each bike's rider counts."""
    script = build_script("overloaded_motorbike")
    camera = camera_of(script)
    (rule,) = build_rules(camera)
    sprites = load_sprites()
    history = TrackHistory()
    track_ids = {v.id: i + 1 for i, v in enumerate(script.vehicles)}
    counts: dict[str, list[tuple[float, int]]] = {}
    found = []
    for image, truth in script.render(sprites):
        bikes = [(v, b) for v, b, inside in truth.boxes if inside and v.kind == "motorbike"]
        pedestrians = [b for v, b, _ in truth.boxes if v.kind == "pedestrian"]
        riders: dict[int, list[Box]] = {}
        for vehicle, box in bikes:
            persons = [*rider_boxes(sprites, box, vehicle.riders), *pedestrians]
            on_bike = counted_riders(box, persons)  # type: ignore[arg-type]
            riders[track_ids[vehicle.id]] = on_bike
            counts.setdefault(vehicle.id, []).append((truth.t, len(on_bike)))
        seen = history.update(
            seq=truth.index,
            t=truth.t,
            wall_time=START + timedelta(seconds=truth.t),
            track_ids=[track_ids[v.id] for v, _ in bikes],
            boxes=[(float(b[0]), float(b[1]), float(b[2]), float(b[3])) for _, b in bikes],
            classes=["motorbike"] * len(bikes),
        )
        ctx = FrameContext(camera.id, truth.index, truth.t, image, seen, {}, riders=riders)
        found.extend(rule.check(ctx))
    return script, found, counts


def test_config_validates_and_lists_the_three_rider_bikes() -> None:
    script = build_script("overloaded_motorbike")
    assert [r.type for r in camera_of(script).rules] == ["overloaded_motorbike"]
    assert {v.id: v.riders for v in script.vehicles if v.kind == "motorbike"} == RIDERS
    truth = truth_document(script)["violations"]
    assert [o.vehicle for o in script.offences] == ["motorbike-1", "motorbike-5", "motorbike-7"]
    assert len(truth) == 3 and script.duration_s <= 45


def test_models_riders_counts_every_scripted_rider_on_its_bike() -> None:
    script, _, counts = exact()
    waiting = next(v.motion for v in script.vehicles if v.id == "motorbike-4")
    assert isinstance(waiting, StopAndGo)
    for vid, seen in counts.items():
        alone = [n for t, n in seen if not waiting.t_stop + 0.5 <= t < waiting.t_go]
        assert alone and set(alone) <= {RIDERS[vid], RIDERS[vid] + 1}, vid
        assert alone.count(RIDERS[vid]) >= 0.8 * len(alone), vid


def test_the_pedestrian_beside_the_waiting_bike_passes_for_a_third_rider() -> None:
    script, _, counts = exact()
    waiting = next(v.motion for v in script.vehicles if v.id == "motorbike-4")
    assert isinstance(waiting, StopAndGo)
    standing = [n for t, n in counts["motorbike-4"] if waiting.t_stop + 0.5 <= t < waiting.t_go]
    assert len(standing) > 50 and set(standing) == {3}


def test_rule_over_exact_boxes_reports_exactly_the_truth() -> None:
    script, found, _ = exact()
    vehicles = {i + 1: v.id for i, v in enumerate(script.vehicles)}
    offences = sorted(script.offences, key=lambda o: o.t_start)
    found = sorted(found, key=lambda c: c.offence_t)
    assert [vehicles[c.track_id] for c in found] == [o.vehicle for o in offences]
    for offence, candidate in zip(offences, found, strict=True):
        assert offence.t_start <= candidate.offence_t <= offence.t_end
        assert candidate.measurements["riders"] == 3


@pytest.mark.parametrize("count", [4, -1])
def test_a_bike_seats_at_most_three(count: int) -> None:
    with pytest.raises(ValueError, match="seats 0-3 riders"):
        rider_boxes(load_sprites(), (0, 0, 420, 244), count)


@pytest.mark.parametrize("name", ["rider-coat", "rider-jacket", "pedestrian"])
def test_person_sprites_are_cut_out_of_the_bus_behind_them(name: str) -> None:
    alpha = load_sprites()[name].alpha
    height, width = alpha.shape
    assert alpha[height // 3, width // 2] > 0.9  # the coat or jacket
    assert alpha[2, 2] < 0.1 and alpha[2, width - 3] < 0.1  # the bus above the shoulders
    assert 0.3 < float(alpha.mean()) < 0.7
