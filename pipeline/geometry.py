"""Small typed geometry helpers for image-plane rules."""

from __future__ import annotations

from dataclasses import dataclass

Point = tuple[float, float]


def anchor_point(xyxy: tuple[float, float, float, float]) -> Point:
    """Bottom centre of a box: where the vehicle touches the road.

    Line crossings are decided from this point, never from the box centre: at
    shallow camera angles a rider's body is far above the wheels.
    """
    x1, _, x2, y2 = xyxy
    return ((x1 + x2) / 2.0, y2)


def _cross(a: Point, b: Point, p: Point) -> float:
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


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix1, iy1 = max(a[0], b[0]), max(a[1], b[1])
    ix2, iy2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, ix2 - ix1) * max(0.0, iy2 - iy1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
