"""Hand-made tracks for the zone dwell rules: a scene with kerb zones and a driver."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from pipeline.config import Scene, StopLine, Zone
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.zone_dwell import ZoneDwell
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackHistory

# A kerb lane along the bottom of a 1280x720 view: no stopping on the left, no
# parking on the right, and a stop line at x=1000 outside both zones.
SCENE = Scene(
    image_size=(1280, 720),
    stop_line=StopLine(points=((1000, 300), (1000, 700)), junction_side=(1200, 500)),
    zones=[
        Zone(
            id="kerb-west",
            kind="no_stopping",
            polygon=[(0, 560), (480, 560), (480, 700), (0, 700)],
            max_dwell_s=5.0,
        ),
        Zone(
            id="kerb-east",
            kind="no_parking",
            polygon=[(500, 560), (980, 560), (980, 700), (500, 700)],
            max_dwell_s=8.0,
            classes=["car", "truck", "bus"],
        ),
    ],
)
GEOMETRY = SceneGeometry(SCENE)
IMAGE = np.zeros((8, 8, 3), np.uint8)
START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)

Sighting = tuple[float, float] | None
"""Anchor (x, y) of a track on one frame, or None when it is not seen."""


def drive(
    rule: ZoneDwell,
    tracks: Mapping[int, Sequence[Sighting]],
    *,
    times: Sequence[float] | None = None,
    fps: float = 10.0,
    classes: dict[int, str] | None = None,
    width: float = 200.0,
    widths: dict[int, float] | None = None,
    settled_from: dict[int, int] | None = None,
) -> list[ViolationCandidate]:
    """Feed the rule one frame per index; each track's anchor is given per frame.

    Boxes are `width` wide (or `widths[track]`) and 0.6 times as high. A track in
    `settled_from` has an unsettled class before that frame index.
    """
    history = TrackHistory(forget_s=120.0)
    found = []
    frames = max(len(xs) for xs in tracks.values())
    for i in range(frames):
        t = times[i] if times is not None else i / fps
        live: dict[int, tuple[float, float]] = {}
        for tid, s in tracks.items():
            sighting = s[i] if i < len(s) else None
            if sighting is not None:
                live[tid] = sighting
        seen = history.update(
            seq=i,
            t=t,
            wall_time=START + timedelta(seconds=t),
            track_ids=list(live),
            boxes=[
                (x - w / 2, y - 0.6 * w, x + w / 2, y)
                for tid, (x, y) in live.items()
                for w in [(widths or {}).get(tid, width)]
            ],
            classes=[(classes or {}).get(tid, "car") for tid in live],
            settled=[i >= (settled_from or {}).get(tid, 0) for tid in live],
        )
        found.extend(rule.check(FrameContext("cam", i, t, IMAGE, seen, {})))
    return found


def approach_and_stop(
    stop: tuple[float, float], *, arrive_frame: int, stay_frames: int, speed_px: float = 25.0
) -> list[Sighting]:
    """Drive in from the left at `speed_px` per frame, stand still, then drive off right."""
    x, y = stop
    path: list[Sighting] = [(x - speed_px * (arrive_frame - i), y) for i in range(arrive_frame)]
    path += [(x, y)] * stay_frames
    path += [(x + speed_px * (i + 1), y) for i in range(20)]
    return path
