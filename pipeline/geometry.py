"""Small typed geometry helpers for image-plane rules.

The one place for points, boxes, lines and polygons: rules, the scene, the signal
readers and the tests all take their types and helpers from here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy.typing as npt

Point = tuple[float, float]
Box = tuple[float, float, float, float]
"""x1, y1, x2, y2 in pixels."""
BoxLike = Sequence[float] | npt.NDArray[Any]
"""A box as any indexable x1, y1, x2, y2: a `Box`, a list, a row of a detector's array."""


def anchor_point(xyxy: Box) -> Point:
    """Bottom centre of a box: where the vehicle touches the road.

    Line crossings are decided from this point, never from the box centre: at
    shallow camera angles a rider's body is far above the wheels.
    """
    x1, _, x2, y2 = xyxy
    return ((x1 + x2) / 2.0, y2)


def distance(a: Point, b: Point) -> float:
    """Straight-line distance between two points."""
    return math.hypot(a[0] - b[0], a[1] - b[1])


def vector(a: Point, b: Point) -> Point:
    """The displacement from `a` to `b`."""
    return (b[0] - a[0], b[1] - a[1])


def unit(dx: float, dy: float) -> Point:
    """The vector scaled to length 1; (0, 0) for a zero vector."""
    length = math.hypot(dx, dy)
    return (dx / length, dy / length) if length > 0 else (0.0, 0.0)


def interpolate(a: Point, b: Point, share: float) -> Point:
    """The point `share` of the way from `a` to `b` (0 gives `a`, 1 gives `b`)."""
    return (a[0] + share * (b[0] - a[0]), a[1] + share * (b[1] - a[1]))


def angle_between(a: Point, b: Point) -> float:
    """Angle in degrees (0-180) between two vectors; 0 for a zero vector."""
    na, nb = math.hypot(*a), math.hypot(*b)
    if na == 0 or nb == 0:
        return 0.0
    cos = (a[0] * b[0] + a[1] * b[1]) / (na * nb)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def _cross(a: Point, b: Point, p: Point) -> float:
    """Which side of the line through a and b the point p lies on (sign), times |ab|."""
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])


@dataclass(frozen=True)
class DirectedLine:
    """A line segment with a chosen positive side.

    Example:
        >>> line = DirectedLine((0, 100), (200, 100), positive_side=(100, 0))
        >>> line.signed_distance((50, 120)) < 0 < line.signed_distance((50, 80))
        True
    """

    a: Point
    b: Point
    positive_side: Point

    @property
    def length(self) -> float:
        return float(((self.b[0] - self.a[0]) ** 2 + (self.b[1] - self.a[1]) ** 2) ** 0.5)

    @property
    def _orientation(self) -> float:
        return 1.0 if _cross(self.a, self.b, self.positive_side) > 0 else -1.0

    def signed_distance(self, point: Point) -> float:
        """Perpendicular distance in pixels; positive on `positive_side`."""
        return self._orientation * _cross(self.a, self.b, point) / self.length

    def projection(self, point: Point) -> float:
        """Position of the point's foot along the segment: 0 at `a`, 1 at `b`."""
        dx, dy = self.b[0] - self.a[0], self.b[1] - self.a[1]
        return ((point[0] - self.a[0]) * dx + (point[1] - self.a[1]) * dy) / (dx * dx + dy * dy)

    def spans(self, point: Point, margin: float = 0.0) -> bool:
        """Whether the point lies alongside the segment (not beyond its ends)."""
        return -margin <= self.projection(point) <= 1.0 + margin

    @property
    def normal(self) -> Point:
        """The unit normal pointing to the positive side."""
        dx, dy = self.b[0] - self.a[0], self.b[1] - self.a[1]
        normal = unit(-dy, dx)
        mid = ((self.a[0] + self.b[0]) / 2, (self.a[1] + self.b[1]) / 2)
        probe = (mid[0] + normal[0], mid[1] + normal[1])
        return normal if self.signed_distance(probe) > 0 else (-normal[0], -normal[1])


def box_iou(a: BoxLike, b: BoxLike) -> float:
    """Intersection over union of two boxes (0-1); 0 when they have no area."""
    ix1, iy1 = max(a[0], b[0]), max(a[1], b[1])
    ix2, iy2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, ix2 - ix1) * max(0.0, iy2 - iy1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def box_containment(a: BoxLike, b: BoxLike) -> float:
    """Share of the smaller box's area that lies inside the other (0-1).

    A detector may report a part of a vehicle (a motorbike's body inside the box of the
    whole bike) as a second box: IoU is low, but the part is wholly inside.

    Example:
        >>> box_containment((0, 0, 100, 100), (10, 10, 30, 30))
        1.0
    """
    ix1, iy1 = max(a[0], b[0]), max(a[1], b[1])
    ix2, iy2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, ix2 - ix1) * max(0.0, iy2 - iy1)
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return inter / smaller if smaller > 0 else 0.0


def polygon_area(points: list[Point] | tuple[Point, ...]) -> float:
    """Signed area (shoelace); positive when the vertices run anticlockwise on screen axes."""
    total = 0.0
    for i, (x1, y1) in enumerate(points):
        x2, y2 = points[(i + 1) % len(points)]
        total += x1 * y2 - x2 * y1
    return total / 2.0


def segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether segments ab and cd properly cross (touching at an end does not count)."""
    d1, d2 = _cross(c, d, a), _cross(c, d, b)
    d3, d4 = _cross(a, b, c), _cross(a, b, d)
    return d1 * d2 < 0 and d3 * d4 < 0


def polygon_problem(points: list[Point] | tuple[Point, ...]) -> str | None:
    """Why a list of vertices is not a usable closed polygon, or None when it is.

    The last vertex joins the first, so a polygon need not repeat its first point;
    it does not close when it has no area or its edges cross each other.
    """
    unique = list(dict.fromkeys(points))
    if len(unique) < 3:
        return "polygon needs at least 3 distinct vertices"
    if abs(polygon_area(points)) < 1.0:
        return "polygon does not close: its vertices enclose no area (all on one line?)"
    n = len(points)
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # neighbouring edges through the closing vertex
            a, b = points[i], points[(i + 1) % n]
            c, d = points[j], points[(j + 1) % n]
            if segments_cross(a, b, c, d):
                return f"polygon does not close cleanly: edge {i + 1} crosses edge {j + 1}"
    return None


def point_in_polygon(point: Point, polygon: list[Point] | tuple[Point, ...]) -> bool:
    """Ray casting; points on an edge may fall either way."""
    x, y = point
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < x_at:
                inside = not inside
    return inside


def collinear_triple(points: list[Point] | tuple[Point, ...], tolerance: float = 1.0) -> bool:
    """Whether any three of the points lie on one line (within `tolerance` pixels/metres).

    A homography needs four points of which no three are collinear.
    """
    n = len(points)
    for i in range(n):
        for j in range(i + 1, n):
            a, b = points[i], points[j]
            length = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
            if length == 0:
                return True
            for k in range(j + 1, n):
                if abs(_cross(a, b, points[k])) / length <= tolerance:
                    return True
    return False


def all_collinear(points: list[Point] | tuple[Point, ...], tolerance: float = 1.0) -> bool:
    """Whether every point lies within `tolerance` of the line through the farthest pair."""
    pairs = [(a, b) for i, a in enumerate(points) for b in points[i + 1 :]]
    if not pairs:
        return True
    a, b = max(pairs, key=lambda p: (p[1][0] - p[0][0]) ** 2 + (p[1][1] - p[0][1]) ** 2)
    length = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
    if length == 0:
        return True
    return all(abs(_cross(a, b, p)) / length <= tolerance for p in points)
