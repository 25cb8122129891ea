"""The no_stopping and no_parking scenario scripts: configs validate, the look-alikes
are staged as described, and each rule run over the exact rendered boxes reports
exactly what the truth file lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from pipeline.config import CameraConfig, parse_config
from pipeline.evaluation.scenario import build_script
from pipeline.evaluation.scenario.motion import Cruise, StopAndGo
from pipeline.evaluation.scenario.output import config_document, truth_document
from pipeline.evaluation.scenario.script import Script
from pipeline.evaluation.scenario.sprites import load_sprites
from pipeline.geometry import point_in_polygon
from pipeline.rules import build_rules
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.runtime.track_history import TrackHistory

NAMES = ["no_stopping", "no_parking"]
START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def camera_of(script: Script) -> CameraConfig:
    return parse_config(config_document(script, "video.mp4", 608), source=script.name).cameras[0]


@cache
def exact(name: str) -> tuple[Script, list[ViolationCandidate]]:
    """The script and its rule's findings over the exact rendered boxes."""
    script = build_script(name)
    camera = camera_of(script)
    (rule,) = build_rules(camera)
    history = TrackHistory()
    track_ids = {v.id: i + 1 for i, v in enumerate(script.vehicles)}
    found = []
    for image, truth in script.render(load_sprites()):
        in_view = [(v, box) for v, box, inside in truth.boxes if inside]
        seen = history.update(
            seq=truth.index,
            t=truth.t,
            wall_time=START + timedelta(seconds=truth.t),
            track_ids=[track_ids[v.id] for v, _ in in_view],
            boxes=[(float(b[0]), float(b[1]), float(b[2]), float(b[3])) for _, b in in_view],
            classes=[v.kind for v, _ in in_view],
        )
        found.extend(rule.check(FrameContext(camera.id, truth.index, truth.t, image, seen, {})))
    return script, found


@pytest.mark.parametrize("name", NAMES)
def test_config_validates_with_zones_on_both_kerbs(name: str) -> None:
    script = build_script(name)
    camera = camera_of(script)
    assert [r.type for r in camera.rules] == [name]
    assert {z.id: z.kind for z in camera.scene.zones} == {"kerb-far": name, "kerb-near": name}
    assert script.duration_s <= 45 and script.fps == 10


@pytest.mark.parametrize("name", NAMES)
def test_rule_over_exact_boxes_reports_exactly_the_truth(name: str) -> None:
    script, found = exact(name)
    assert len(truth_document(script)["violations"]) == 3
    vehicles = {i + 1: v.id for i, v in enumerate(script.vehicles)}
    offences = sorted(script.offences, key=lambda o: o.t_start)
    found = sorted(found, key=lambda c: c.offence_t)
    assert [vehicles[c.track_id] for c in found] == [o.vehicle for o in offences]
    for offence, candidate in zip(offences, found, strict=True):
        assert offence.t_start <= candidate.offence_t <= offence.t_end
        assert candidate.measurements["zone"] in {"kerb-near", "kerb-far"}


@pytest.mark.parametrize("name", NAMES)
def test_look_alikes_are_staged_as_described(name: str) -> None:
    script = build_script(name)
    camera = camera_of(script)
    dwell = camera.scene.zones[0].max_dwell_s
    zones = {z.id: z.polygon for z in camera.scene.zones}
    offenders = {o.vehicle for o in script.offences}
    stops = {v.id: v for v in script.vehicles if isinstance(v.motion, StopAndGo)}
    # A halt in a zone shorter than the dwell (the brief stop / drop-off).
    brief = [
        v
        for v in stops.values()
        if v.id not in offenders and v.motion.x_stop < 560  # type: ignore[attr-defined]
    ]
    assert brief and all(
        v.motion.t_go - v.motion.t_stop < dwell - 1.0  # type: ignore[attr-defined]
        for v in brief
    )
    # A vehicle waiting at the stop line on red, its anchor outside every zone.
    waiting = [v for v in stops.values() if v.motion.x_stop > 600]  # type: ignore[attr-defined]
    assert len(waiting) == 1
    (queue,) = waiting
    rest = queue.motion.t_stop  # type: ignore[attr-defined]
    assert script.plan.phase_at(rest + 1.0) == "red"
    anchor = (queue.motion.x_stop, script.layout.lane(queue.lane).ground_y)  # type: ignore[attr-defined]
    assert not any(point_in_polygon(anchor, polygon) for polygon in zones.values())
    # A vehicle crawling through a zone without ever standing still.
    crawlers = [v for v in script.vehicles if isinstance(v.motion, Cruise) and v.motion.speed < 100]
    assert len(crawlers) == 1
    crawler = crawlers[0]
    y = script.layout.lane(crawler.lane).ground_y
    assert point_in_polygon((300.0, float(y)), zones[f"kerb-{crawler.lane}"])
    # Every offender rests in a zone longer than the dwell.
    for vid in offenders:
        motion = stops[vid].motion
        assert isinstance(motion, StopAndGo)
        assert motion.t_go - motion.t_stop > dwell + 1.0
