"""The stop_line and wrong_way scenario scripts: configs validate, the look-alikes are
staged as described, and each rule run over the exact rendered boxes reports exactly
what the truth file lists."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from functools import cache

import pytest

from pipeline.config import parse_config
from pipeline.evaluation.scenario import build_script
from pipeline.evaluation.scenario.output import config_document
from pipeline.evaluation.scenario.script import Script
from pipeline.evaluation.scenario.sprites import load_sprites
from pipeline.rules import build_rules
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.runtime.track_history import TrackHistory
from pipeline.signals.image import Phase, SignalState

Boxes = dict[str, list[tuple[float, tuple[int, int, int, int], str]]]
"""Vehicle id -> (time, box, signal phase) of every frame it is wholly in view."""


def camera_of(script: Script):  # type: ignore[no-untyped-def]
    return parse_config(config_document(script, "video.mp4", 608), source=script.name).cameras[0]


@pytest.fixture(scope="module", params=["stop_line", "wrong_way"])
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def signal_at(script: Script, t: float) -> SignalState:
    phase = script.plan.phase_at(t)
    since = next(
        start for start, end in script.plan.intervals(phase, script.duration_s) if start <= t < end
    )
    return SignalState(Phase(phase), since)


def rule_over_exact_boxes(script: Script) -> tuple[list[ViolationCandidate], Boxes]:
    """Run the scenario's rule over the rendered boxes, one track per vehicle."""
    camera = camera_of(script)
    (rule,) = build_rules(camera)
    history = TrackHistory()
    track_ids = {v.id: i + 1 for i, v in enumerate(script.vehicles)}
    vehicles = {track_ids[v.id]: v.id for v in script.vehicles}
    boxes: Boxes = defaultdict(list)
    found = []
    for image, truth in script.render(load_sprites()):
        in_view = [(v, box) for v, box, inside in truth.boxes if inside]
        for v, box in in_view:
            boxes[v.id].append((truth.t, box, truth.phase))
        seen = history.update(
            seq=truth.index,
            t=truth.t,
            wall_time=datetime.now(UTC),
            track_ids=[track_ids[v.id] for v, _ in in_view],
            boxes=[(float(b[0]), float(b[1]), float(b[2]), float(b[3])) for _, b in in_view],
            classes=[v.kind for v, _ in in_view],
        )
        ctx = FrameContext(
            camera.id, truth.index, truth.t, image, seen, {"main": signal_at(script, truth.t)}
        )
        for candidate in rule.check(ctx):
            found.append(candidate)
    assert len(vehicles) == len(script.vehicles)
    return found, boxes


@cache
def exact(name: str) -> tuple[Script, list[ViolationCandidate], Boxes]:
    """The scenario's script, its rule's findings over the exact boxes, and the boxes."""
    script = build_script(name)
    found, boxes = rule_over_exact_boxes(script)
    return script, found, boxes


def test_config_validates_with_the_scenarios_rule(name: str) -> None:
    camera = camera_of(build_script(name))
    assert [rule.type for rule in camera.rules] == [name]
    assert camera.scene.lanes and camera.scene.image_size == (1280, 720)
    if name == "stop_line":
        assert [c.id for c in camera.scene.crosswalks] == ["zebra"]


def test_truth_lists_cars_and_motorbikes_once_each(name: str) -> None:
    script = build_script(name)
    truth = script.truth()
    assert len(truth) >= 3
    assert {o.kind for o in truth} == {"car", "motorbike"}
    assert len({o.vehicle for o in truth}) == len(truth)
    assert all(o.rule == name and 0 < o.t_start < o.t_end < script.duration_s for o in truth)
    assert len(truth) < len(script.vehicles)  # look-alikes too


def test_rule_on_exact_boxes_reports_exactly_the_truth(name: str) -> None:
    script, found, _ = exact(name)
    truth = script.truth()
    assert len(found) == len(truth), [(v.vehicle_class, v.offence_t) for v in found]
    for candidate, offence in zip(sorted(found, key=lambda v: v.offence_t), truth, strict=True):
        assert candidate.vehicle_class == offence.kind
        assert offence.t_start <= candidate.offence_t <= offence.t_end, (candidate, offence)


def test_seeds_move_the_offences() -> None:
    for name in ("stop_line", "wrong_way"):
        first = [o.t_start for o in build_script(name).truth()]
        other = [o.t_start for o in build_script(name, seed=3).truth()]
        assert first != other and len(first) == len(other)


def _still_spans(track: list[tuple[float, tuple[int, int, int, int], str]]) -> list[list]:
    """Runs of consecutive frames in which the box does not move."""
    runs: list[list] = []
    for previous, current in zip(track, track[1:], strict=False):
        if previous[1] == current[1]:
            if runs and runs[-1][-1] is previous:
                runs[-1].append(current)
            else:
                runs.append([previous, current])
    return runs


def test_stop_line_look_alikes_are_staged() -> None:
    script, _, boxes = exact("stop_line")
    stop_x, (walk_x1, walk_x2) = script.layout.stop_x, script.layout.crosswalk
    offenders = {o.vehicle for o in script.truth()}
    for vid, track in boxes.items():
        red_still_over = [
            frames for frames in _still_spans(track) if frames[0][1][0] < stop_x < frames[0][1][2]
        ]
        on_red = [
            sum(1 for t, _, phase in frames if phase == "red") / script.fps
            for frames in red_still_over
        ]
        if vid in offenders:
            assert max(on_red) > 3.5, vid
            assert any(walk_x1 < f[0][1][2] < walk_x2 + 200 for f in red_still_over)
        elif vid == "motorbike-2":
            assert 1.0 < max(on_red) < 2.5  # a brief stop over the line
        else:
            assert on_red == [] or max(on_red) == 0.0, vid
    # The halts short of the line end 20 px before it, on red, for seconds.
    for vid in ("car-3", "car-4"):
        spans = _still_spans(boxes[vid])
        assert spans and all(f[0][1][2] == stop_x - 20 for f in spans), vid
        assert max(len(f) for f in spans) / script.fps > 5
    # The red runner crosses the line on red without stopping.
    runner = boxes["motorbike-1"]
    crossing = next(
        p for p, q in zip(runner, runner[1:], strict=False) if p[1][2] < stop_x <= q[1][2]
    )
    assert crossing[2] == "red" and _still_spans(runner) == []


def test_wrong_way_look_alikes_are_staged() -> None:
    script, _, boxes = exact("wrong_way")

    def centre(box: tuple[int, int, int, int]) -> float:
        return (box[0] + box[2]) / 2

    def leftward_runs(track: list) -> list[float]:
        """Pixels covered by each run of right-to-left motion."""
        runs, run = [], 0.0
        for p, q in zip(track, track[1:], strict=False):
            step = centre(q[1]) - centre(p[1])
            if step < 0:
                run -= step
            elif run:
                runs.append(run)
                run = 0.0
        return [*runs, run] if run else runs

    offenders = {o.vehicle for o in script.truth()}
    for vid, track in boxes.items():
        runs = leftward_runs(track)
        if vid in offenders:
            assert max(runs) > 400, vid
        elif vid == "motorbike-2":
            assert max(runs) == pytest.approx(80, abs=2)  # the U-turn's first metres
        elif vid == "car-1":
            assert max(runs) == pytest.approx(40, abs=2)  # the roll-back
        else:
            assert runs == [], vid
    assert max(len(f) for f in _still_spans(boxes["car-3"])) / script.fps > 5
