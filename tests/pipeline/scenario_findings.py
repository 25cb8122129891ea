"""Violation findings cut from the frames of the generated red-light scenario.

The durability tests and `bench/events.py` record hundreds of violations through
the real recorder. Running the detector and the rules to get them would cost
minutes of CPU for nothing these tests look at, so the findings are built from
the scenario's rendered frames and its ground-truth vehicle boxes instead: the
recorder still encodes full 1280x720 key frames, crops and an annotated overview.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipeline.config import CameraConfig
from pipeline.evaluation.scenario import build_script
from pipeline.evaluation.scenario.sprites import load_sprites
from pipeline.rules.base import ViolationCandidate
from pipeline.runtime.camera_pipeline import Finding
from pipeline.runtime.track_history import TrackPoint
from streams.frame import Frame


def scenario_findings(
    camera: CameraConfig, *, distinct: int = 12, seed: int = 0
) -> Iterator[Finding]:
    """Endless findings for `camera`, cycling over `distinct` frame pairs.

    Each finding pairs two consecutive rendered frames in which one vehicle is
    fully in view; its box in each frame is the ground-truth box. Every yielded
    finding carries fresh wall-clock times, so consecutive ones differ.

    Args:
        camera: the camera the findings are attributed to.
        distinct: how many different frame pairs to render (each holds two
            1280x720 frames in memory).
        seed: scenario seed.
    """
    pairs = _frame_pairs(camera.id, distinct, seed)
    for sequence, (before, after, candidate) in enumerate(itertools.cycle(pairs)):
        now = datetime.now(UTC)
        yield Finding(
            camera,
            replace(candidate, track_id=sequence + 1),
            replace(before, wall_time=now - timedelta(seconds=after.pts - before.pts)),
            replace(after, wall_time=now),
            None,
        )


def _frame_pairs(
    camera_id: str, distinct: int, seed: int
) -> list[tuple[Frame, Frame, ViolationCandidate]]:
    script = build_script("red_light", seed=seed)
    pairs: list[tuple[Frame, Frame, ViolationCandidate]] = []
    previous = None
    for image, truth in script.render(load_sprites()):
        seen = {vehicle.id: (vehicle, box) for vehicle, box, inside in truth.boxes if inside}
        if previous is not None and len(pairs) < distinct:
            last_image, last_truth, last_seen = previous
            common = sorted(set(seen) & set(last_seen))
            # Frames a few apart, so the pairs show different moments of the scene.
            if common and truth.index % 4 == 0:
                vehicle, (ax1, ay1, ax2, ay2) = seen[common[0]]
                _, (bx1, by1, bx2, by2) = last_seen[common[0]]
                now = datetime.now(UTC)
                before = Frame(camera_id, last_truth.index, last_truth.t, now, last_image)
                after = Frame(camera_id, truth.index, truth.t, now, image)
                candidate = ViolationCandidate(
                    rule_type="red_light",
                    rule_version="1",
                    track_id=0,
                    vehicle_class=vehicle.kind,
                    offence_t=(last_truth.t + truth.t) / 2,
                    before=TrackPoint(before.seq, before.pts, now, (bx1, by1, bx2, by2)),
                    after=TrackPoint(after.seq, after.pts, now, (ax1, ay1, ax2, ay2)),
                    explanation="crossed the stop line 0.4 s into red",
                    measurements={"phase": "red", "time_into_red_s": 0.4},
                )
                pairs.append((before, after, candidate))
        if len(pairs) >= distinct:
            break
        previous = (image, truth, seen)
    if not pairs:
        raise RuntimeError("the red_light scenario rendered no vehicle in two frames")
    return pairs
