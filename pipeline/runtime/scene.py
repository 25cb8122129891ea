"""A camera's configured scene as something rules can ask questions of.

Which lane a point is in, which zones hold it, where it stands on the ground, what
the speed limit is for a lane and class, whether a time window is open: every rule
asks these, so they are answered once, here.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from pipeline.config import WEEKDAYS, Lane, Scene, TimeWindow, Zone
from pipeline.geometry import Point, angle_between, point_in_polygon


class GroundMapping:
    """Image pixels -> ground metres through the calibration's homography."""

    def __init__(self, image_points: list[Point], ground_points: list[Point]) -> None:
        matrix, _ = cv2.findHomography(
            np.array(image_points, dtype=np.float64), np.array(ground_points, dtype=np.float64)
        )
        if matrix is None:
            raise ValueError("calibration points give no homography")
        self.matrix: np.ndarray = matrix

    def to_ground(self, point: Point) -> Point:
        x, y, w = self.matrix @ np.array([point[0], point[1], 1.0])
        return (float(x / w), float(y / w))


def window_open(windows: list[TimeWindow], when: datetime, timezone: str) -> bool:
    """Whether `when` (aware, any zone) falls in any of `windows` in `timezone`.

    An empty list means always. A window ending before it starts runs past midnight
    and belongs to the day it started on.
    """
    if not windows:
        return True
    local = when.astimezone(ZoneInfo(timezone))
    minute = local.hour * 60 + local.minute
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    for window in windows:
        start = _minutes(window.start)
        end = _minutes(window.end)
        if start < end:
            if today in window.days and start <= minute < end:
                return True
        else:
            if today in window.days and minute >= start:
                return True
            if yesterday in window.days and minute < end:
                return True
    return False


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class SceneGeometry:
    """Answers geometric questions about one camera's scene."""

    def __init__(self, scene: Scene, timezone: str = "Asia/Ho_Chi_Minh") -> None:
        self.scene = scene
        self.timezone = timezone
        calibration = scene.calibration
        self.ground: GroundMapping | None = (
            GroundMapping(calibration.image_points, calibration.ground_points)
            if calibration is not None
            else None
        )

    def lane_at(self, point: Point) -> Lane | None:
        """The first configured lane whose polygon holds `point`."""
        for lane in self.scene.lanes:
            if point_in_polygon(point, lane.polygon):
                return lane
        return None

    def zones_at(self, point: Point, kind: str | None = None) -> list[Zone]:
        return [
            zone
            for zone in self.scene.zones
            if (kind is None or zone.kind == kind) and point_in_polygon(point, zone.polygon)
        ]

    def on_crosswalk(self, point: Point) -> bool:
        return any(point_in_polygon(point, c.polygon) for c in self.scene.crosswalks)

    def to_ground(self, point: Point) -> Point | None:
        """Ground position in metres, or None when the camera is not calibrated."""
        return self.ground.to_ground(point) if self.ground is not None else None

    def speed_limit_kmh(self, lane_id: str | None, vehicle_class: str) -> float | None:
        """The most specific limit for the lane and class, or None when none applies."""
        best: tuple[int, float] | None = None
        for limit in self.scene.speed_limits:
            if limit.lanes and lane_id not in limit.lanes:
                continue
            if limit.classes and vehicle_class not in limit.classes:
                continue
            rank = (2 if limit.lanes else 0) + (1 if limit.classes else 0)
            if best is None or rank > best[0]:
                best = (rank, limit.limit_kmh)
        return None if best is None else best[1]

    def class_allowed(self, lane: Lane, vehicle_class: str, when: datetime) -> bool:
        """Whether `vehicle_class` may use `lane` at `when`."""
        if vehicle_class not in lane.allowed_classes:
            return False
        return not any(
            vehicle_class in r.classes and window_open(r.windows, when, self.timezone)
            for r in lane.restrictions
        )

    def against_lane(self, lane: Lane, motion: Point, max_angle_deg: float) -> bool:
        """Whether image-plane `motion` is more than `max_angle_deg` off every allowed way."""
        return all(
            angle_between(motion, (head[0] - tail[0], head[1] - tail[1])) > max_angle_deg
            for tail, head in lane.directions
        )
