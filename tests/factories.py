"""Builders of the objects many tests need: a stored violation's row, a rule's finding.

Each default is a plausible value no test depends on; a test passes the values it is
about as keyword overrides, so what it checks stays visible at the call.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.rules.base import ViolationCandidate
from pipeline.runtime.track_history import TrackPoint
from pipeline.store.models import Violation
from streams.frame import Frame

T0 = datetime(2025, 3, 14, 8, 30, 0, tzinfo=UTC)

Box = tuple[float, float, float, float]


def make_violation(**overrides: Any) -> Violation:
    """A pending red-light violation row of camera `cam-1` at `T0`, with a plate.

    The evidence directory follows the id, and the evidence times lie two seconds
    either side of the offence, unless overridden.
    """
    violation_id = overrides.get("id", str(uuid.uuid4()))
    offence_time = overrides.get("offence_time", T0)
    values: dict[str, Any] = dict(
        id=violation_id,
        camera_id="cam-1",
        rule_type="red_light",
        rule_version="1",
        track_id=42,
        vehicle_class="motorbike",
        offence_time=offence_time,
        stream_time_s=12.5,
        first_evidence_time=offence_time - timedelta(seconds=2),
        last_evidence_time=offence_time + timedelta(seconds=2),
        measurements={"phase": "red", "time_into_red_s": 1.4},
        explanation="crossed the stop line 1.4 s into red",
        scene_version="v3",
        plate="88A-123.45",
        plate_confidence=0.91,
        evidence_dir=violation_id,
    )
    values.update(overrides)
    return Violation(**values)


def make_candidate(
    before: Frame, after: Frame, box: Box, *, after_box: Box | None = None, **overrides: Any
) -> ViolationCandidate:
    """A red-light candidate whose key frames are `before` and `after`, the vehicle in
    `box` on both (or `after_box` on the second), the offence halfway between them."""
    values: dict[str, Any] = dict(
        rule_type="red_light",
        rule_version="1",
        track_id=1,
        vehicle_class="car",
        offence_t=(before.pts + after.pts) / 2,
        before=TrackPoint(before.seq, before.pts, before.wall_time, box),
        after=TrackPoint(after.seq, after.pts, after.wall_time, after_box or box),
        explanation="crossed on red",
    )
    values.update(overrides)
    return ViolationCandidate(**values)
