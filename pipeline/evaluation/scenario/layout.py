"""Geometry of the generated junction, shared by the painter, the script and the config.

The view looks across one approach from the kerb: traffic drives left to right in two
lanes towards a stop line, a crosswalk and the junction; the signal head for the approach
hangs beyond the junction at the top right. A side view, because the vehicle photographs
that ship inside registry packages are side views; the crossing test is the same as from
a pole-mounted camera (the anchor's side of the stop line).
"""

from __future__ import annotations

from dataclasses import dataclass

PixelBox = tuple[int, int, int, int]
"""`(x1, y1, x2, y2)` in whole image pixels. Not `pipeline.geometry.Box` (floats, for
detections): these boxes slice frame arrays when sprites are painted, so they stay ints."""


@dataclass(frozen=True)
class Lane:
    """One approach lane.

    Attributes:
        name: `far` or `near` (from the camera).
        ground_y: Image row of tyre contact, i.e. of every anchor in the lane.
        scale: Size factor for vehicles in this lane (the far lane is smaller).
    """

    name: str
    ground_y: int
    scale: float


@dataclass(frozen=True)
class Layout:
    """Pixel geometry of the scene.

    Attributes:
        width: Frame width.
        height: Frame height.
        road_top: First row of the carriageway.
        road_bottom: Last row of the carriageway (the near kerb).
        stop_x: Column of the stop line's centre.
        crosswalk: Span `(x1, x2)` of the zebra crossing, beyond the stop line.
        lanes: Approach lanes, far first.
        signal_box: Housing of the signal head.
        lamp_radius: Radius of each lamp.
    """

    width: int = 1280
    height: int = 720
    road_top: int = 300
    road_bottom: int = 690
    stop_x: int = 815
    crosswalk: tuple[int, int] = (840, 960)
    lanes: tuple[Lane, ...] = (Lane("far", 462, 0.85), Lane("near", 662, 1.0))
    signal_box: PixelBox = (1190, 30, 1246, 196)
    lamp_radius: int = 19

    @property
    def lane_divider_y(self) -> int:
        """Row of the dashed line between the lanes."""
        return (self.lanes[0].ground_y + self.lanes[1].ground_y) // 2 - 20

    @property
    def stop_line(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """End points of the stop line across both lanes."""
        return (self.stop_x, self.road_top), (self.stop_x, self.road_bottom)

    @property
    def junction_point(self) -> tuple[int, int]:
        """A point on the junction side of the stop line."""
        return (self.width - 100, (self.road_top + self.road_bottom) // 2)

    def lamp_centres(self) -> list[tuple[int, int]]:
        """Centres of the red, amber and green lamps, top to bottom."""
        x1, y1, x2, y2 = self.signal_box
        cx, pitch = (x1 + x2) // 2, (y2 - y1) // 3
        return [(cx, y1 + pitch // 2 + i * pitch) for i in range(3)]

    def lamp_region(self) -> PixelBox:
        """Box around the three lamps only, for the config's `signal_heads[].region`."""
        centres = self.lamp_centres()
        r = self.lamp_radius + 2
        return (centres[0][0] - r, centres[0][1] - r, centres[2][0] + r, centres[2][1] + r)

    def lane_polygon(self, name: str) -> list[tuple[int, int]]:
        """The lane's area across the whole frame: kerb or road edge to the divider."""
        divider = self.lane_divider_y
        top, bottom = (
            (self.road_top, divider) if name == self.lanes[0].name else (divider, self.road_bottom)
        )
        return [(0, top), (self.width, top), (self.width, bottom), (0, bottom)]

    def lanes_config(self) -> list[dict[str, object]]:
        """Config entries for both lanes, traffic driving left to right."""
        return [
            {
                "id": lane.name,
                "polygon": [list(p) for p in self.lane_polygon(lane.name)],
                "directions": [[[100, lane.ground_y], [self.width - 100, lane.ground_y]]],
            }
            for lane in self.lanes
        ]

    def lane(self, name: str) -> Lane:
        """Return the lane called `name`."""
        for lane in self.lanes:
            if lane.name == name:
                return lane
        raise KeyError(name)
