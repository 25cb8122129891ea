"""The `trafficcam.yaml` configuration: pydantic models and the loader.

Every model forbids unknown keys so a typo fails at start, and the loader turns
pydantic's errors into messages that name the file, the camera and the field.
Relative paths (video files, SQLite databases, the evidence directory) are
resolved against the directory of the config file, so a scenario directory can
be moved as a whole.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date as date_type
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from models.detections import CANONICAL_CLASSES
from pipeline.geometry import all_collinear, collinear_triple, polygon_problem

# Image coordinates in pixels: finite (a NaN or infinity would poison every geometry
# test downstream) and within 100,000 px of the origin (no camera's frame is that big;
# a larger number is a typo or a unit mistake).
Coordinate = Annotated[float, Field(allow_inf_nan=False, ge=-100_000, le=100_000)]
Point = tuple[Coordinate, Coordinate]
Box = tuple[Coordinate, Coordinate, Coordinate, Coordinate]
GroundPoint = tuple[FiniteFloat, FiniteFloat]

NETWORK_SCHEMES = ("rtsp", "rtsps", "http", "https")


class ConfigError(Exception):
    """A config file that cannot be used; the message names file, camera and field."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Location(StrictModel):
    text: str = Field(description="Human-readable place, e.g. street names of the junction.")
    lat: float = Field(ge=-90, le=90, description="Latitude in degrees (WGS84).")
    lon: float = Field(ge=-180, le=180, description="Longitude in degrees (WGS84).")


class SourceConfig(StrictModel):
    url: str = Field(description="rtsp://, http(s):// URL or a video file path.")
    loop: bool = Field(default=False, description="Restart a file source at its end.")
    realtime: bool = Field(
        default=False,
        description="Pace a file source to its timestamps, as a live camera would deliver it.",
    )
    rtsp_transport: Literal["tcp", "udp"] = Field(default="tcp", description="RTSP transport.")
    open_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Give up connecting to the camera after this long."
    )
    read_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Treat the stream as lost after this long without data; the camera shows "
        "offline within about twice this.",
    )
    expected_fps: float | None = Field(
        default=None,
        gt=0,
        le=240,
        description="Frame rate the camera should deliver; a lower measured rate degrades its "
        "health. Unset: the header's claim is only reported (cameras' headers often lie).",
    )
    buffer_seconds: float = Field(
        default=10.0,
        ge=0,
        le=120,
        description="Seconds of encoded video kept for pre/post-event clips (0: none).",
    )
    recorded_at: AwareDatetime | None = Field(
        default=None,
        description="Video files only: wall-clock time of the file's first frame, with its "
        "UTC offset (e.g. 2026-05-04T07:45:00+07:00). Frames are then stamped with it plus "
        "their stream time, not their decode time, so lanes' banned hours are judged at the "
        "time the video shows.",
    )

    @field_validator("url")
    @classmethod
    def _url_is_usable(cls, url: str) -> str:
        if not url.strip():
            raise ValueError("source URL is empty")
        parsed = urlparse(url)
        if "://" in url:
            if parsed.scheme not in NETWORK_SCHEMES:
                raise ValueError(
                    f"unsupported URL scheme {parsed.scheme!r}; use one of "
                    f"{', '.join(NETWORK_SCHEMES)} or a file path"
                )
            if not parsed.hostname:
                raise ValueError(f"URL {url!r} has no host")
        return url

    @model_validator(mode="after")
    def _recorded_at_only_for_files(self) -> SourceConfig:
        if self.recorded_at is not None and not self.is_file:
            raise ValueError(
                "recorded_at is for video files; a live camera's frames are stamped when "
                "they arrive"
            )
        return self

    @property
    def is_file(self) -> bool:
        return "://" not in self.url


VEHICLE_CLASSES: tuple[str, ...] = ("car", "motorbike", "bus", "truck", "bicycle")
"""Canonical classes that are vehicles (what lanes, zones and limits are about)."""

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _check_polygon(points: list[Point]) -> list[Point]:
    problem = polygon_problem(points)
    if problem:
        raise ValueError(problem)
    return points


def _check_vehicle_classes(classes: list[str]) -> list[str]:
    for name in classes:
        if name not in VEHICLE_CLASSES:
            raise ValueError(f"unknown vehicle class {name!r}; expected one of {VEHICLE_CLASSES}")
    return classes


Polygon = Annotated[list[Point], AfterValidator(_check_polygon)]
VehicleClasses = Annotated[list[str], AfterValidator(_check_vehicle_classes)]


class StopLine(StrictModel):
    points: tuple[Point, Point] = Field(description="The line's two end points in image pixels.")
    junction_side: Point = Field(
        description="Any image point on the junction side of the line (where crossing leads)."
    )

    @model_validator(mode="after")
    def _not_degenerate(self) -> StopLine:
        (x1, y1), (x2, y2) = self.points
        if (x1, y1) == (x2, y2):
            raise ValueError("stop line end points are identical")
        jx, jy = self.junction_side
        if (x2 - x1) * (jy - y1) - (y2 - y1) * (jx - x1) == 0:
            raise ValueError("junction_side lies on the stop line; pick a point off the line")
        return self


Movement = Literal["straight", "left", "right", "u_turn"]
"""Where a vehicle goes once over the stop line."""
MOVEMENTS: tuple[Movement, ...] = ("straight", "left", "right", "u_turn")


class MovementExit(StrictModel):
    """Where one movement leaves the junction, as the image shows it."""

    region: Polygon | None = Field(
        default=None,
        description="Image area a vehicle making this movement reaches (its box bottom), "
        "e.g. the mouth of the road it turns into. Reaching it decides the movement.",
    )
    direction: tuple[Point, Point] | None = Field(
        default=None,
        description="Arrow [tail, head] in image pixels along which a vehicle making this "
        "movement travels once past the line; the movement is decided when a vehicle's "
        "heading settles on it (see the red_light rule's movement_* settings).",
    )

    @model_validator(mode="after")
    def _region_or_direction(self) -> MovementExit:
        if self.region is None and self.direction is None:
            raise ValueError("a movement needs an exit region, an exit direction, or both")
        if self.direction is not None and self.direction[0] == self.direction[1]:
            raise ValueError("a movement's direction arrow has the same tail and head")
        return self


class Approach(StrictModel):
    """The camera's approach: the movements it leads to and the turn-on-red sign."""

    movements: dict[Movement, MovementExit] = Field(
        default_factory=dict,
        description="Movements from the approach (straight, left, right, u_turn), each with "
        "its exit region and/or direction in the image. Empty: every crossing counts as "
        "straight and is judged by the rule's head at once.",
    )
    right_turn_on_red: Literal["allowed", "after_stop", "banned"] = Field(
        default="banned",
        description="A right turn while the heads controlling it show red: banned (an "
        "offence), allowed (signed free right turn), or after_stop (allowed once the "
        "vehicle has stood still behind the line).",
    )


class SignalHead(StrictModel):
    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=64,
        description="Signal head id, unique within the camera (also the controller's name for it).",
    )
    region: Box | None = Field(
        default=None,
        description="Pixel box x1, y1, x2, y2 around the head's lamps (a countdown display "
        "beside them may be inside). Needed unless source is controller.",
    )
    source: Literal["image", "controller", "auto"] = Field(
        default="auto",
        description="Where the phase comes from. image: read from the region; controller: "
        "only the controller's feed (POST /api/v1/signals/{head} or the signal-phases topic), "
        "unknown while it is stale; auto: the controller while its feed is fresh, else the image.",
    )
    controller_stale_s: float = Field(
        default=180.0,
        gt=0,
        le=3600,
        description="A controller feed with no message for longer than this is stale. Longer "
        "than the longest phase, unless the controller repeats its current phase meanwhile.",
    )
    controller_delay_s: float = Field(
        default=0.0,
        ge=-5,
        le=5,
        description="Seconds added to controller times before they are placed on the camera's "
        "stream clock: the camera's capture-to-decode delay (frames are stamped when decoded, "
        "so without it time into red reads longer by that delay), plus any known offset of "
        "the controller's clock. Measure it once, e.g. by filming the controller's display.",
    )
    lanes: list[str] = Field(
        default_factory=list,
        description="Ids of the lanes this head controls; empty: every lane of the camera.",
    )
    kind: Literal["ball", "arrow"] = Field(
        default="ball",
        description="ball: full-disc lamps; arrow: lamps shaped as an arrow (e.g. a green "
        "right-turn arrow under a red ball), controlling only the movement it points.",
    )
    arrow: Movement | None = Field(
        default=None,
        description="kind arrow: the movement the arrow points (left, right, straight, u_turn).",
    )
    movements: list[Movement] = Field(
        default_factory=list,
        description="Movements of the approach this head controls; empty: every movement for "
        "a ball, its own `arrow` for an arrow. Where an arrow and a ball both control a "
        "movement, the arrow decides while it shows a phase (a green right arrow under a red "
        "ball lets right turners go; a red left arrow beside a green ball stops left "
        "turners), the ball while the arrow is dark.",
    )
    lamps: dict[Literal["red", "amber", "green"], Point] = Field(
        default_factory=dict,
        description="Optional centres of the head's lamps in image pixels, e.g. {red: [560, 190], "
        "green: [560, 222]}. Without them the reader learns the lamps from the head's own "
        "frames. When given, only a lit blob at one of these lamps counts, and it reads as "
        "that lamp's colour (a green blob only at the green lamp, a red, orange or yellow one "
        "at the red or amber lamp: an over-exposed red turns yellow): for a far head whose "
        "countdown digits blur into lamp-like blobs inside the region.",
    )
    countdown: Box | None = Field(
        default=None,
        description="Optional pixel box x1, y1, x2, y2 around the head's countdown display "
        "(1-2 seven-segment digits). When given, the seconds shown are read every few "
        "frames and recorded with a violation judged on this head (countdown_s, "
        "countdown_colour); the lamps still decide the phase.",
    )

    @field_validator("region", "countdown")
    @classmethod
    def _box_is_ordered(cls, region: Box | None, info: ValidationInfo) -> Box | None:
        if region is None:
            return None
        x1, y1, x2, y2 = region
        if x2 <= x1 or y2 <= y1:
            raise ValueError(f"{info.field_name} must be x1, y1, x2, y2 with x2 > x1 and y2 > y1")
        return region

    @model_validator(mode="after")
    def _arrow_named(self) -> SignalHead:
        if self.kind == "arrow" and self.arrow is None:
            raise ValueError(
                f"signal head {self.id!r}: kind arrow needs `arrow` (the movement it points)"
            )
        if self.kind == "ball" and self.arrow is not None:
            raise ValueError(f"signal head {self.id!r}: `arrow` is only for kind arrow")
        return self

    @property
    def controlled_movements(self) -> tuple[Movement, ...]:
        """The movements this head controls (its `movements`, else the defaults)."""
        if self.movements:
            return tuple(self.movements)
        if self.arrow is not None:
            return (self.arrow,)
        return MOVEMENTS

    @model_validator(mode="after")
    def _region_unless_controller(self) -> SignalHead:
        if self.region is None and self.source != "controller":
            raise ValueError(
                f"signal head {self.id!r}: region is required when source is {self.source!r} "
                "(only a source: controller head may leave it out)"
            )
        if self.lamps:
            if self.region is None:
                raise ValueError(f"signal head {self.id!r}: lamps need a region")
            x1, y1, x2, y2 = self.region
            for colour, (x, y) in self.lamps.items():
                if not (x1 <= x <= x2 and y1 <= y <= y2):
                    raise ValueError(
                        f"signal head {self.id!r}: lamps.{colour} ({x:g}, {y:g}) is outside "
                        "its region"
                    )
        return self


class TimeWindow(StrictModel):
    """A daily window in the camera's local time, e.g. 06:00-21:00 on weekdays.

    A window whose end is before its start runs past midnight (22:00-05:00).
    """

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM, local time.")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", description="HH:MM, local.")
    days: list[Weekday] = Field(
        default_factory=lambda: list(WEEKDAYS),
        min_length=1,
        description="Days the window applies on.",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start == self.end:
            raise ValueError("time window start and end are the same")
        return self


class LaneRestriction(StrictModel):
    """Vehicle classes banned from a lane, always or within time windows."""

    classes: VehicleClasses = Field(min_length=1, description="Banned classes.")
    windows: list[TimeWindow] = Field(
        default_factory=list, description="When the ban applies; empty: always."
    )


class Lane(StrictModel):
    id: str = Field(description="Lane id, unique within the camera.")
    polygon: Polygon = Field(description="Lane area in image pixels (vertices in order).")
    directions: list[tuple[Point, Point]] = Field(
        description="Allowed directions of travel, each an arrow [tail, head] in image pixels "
        "drawn along the lane (several for a lane that also turns)."
    )
    allowed_classes: VehicleClasses = Field(
        default_factory=lambda: list(VEHICLE_CLASSES),
        min_length=1,
        description="Vehicle classes allowed in the lane at any time.",
    )
    restrictions: list[LaneRestriction] = Field(
        default_factory=list, description="Further bans, e.g. trucks 06:00-21:00."
    )
    movements: list[Movement] = Field(
        default_factory=list,
        description="Movements the lane's painted arrows allow over the stop line (straight, "
        "left, right, u_turn); empty: every movement of the approach.",
    )

    @field_validator("directions")
    @classmethod
    def _has_direction(cls, arrows: list[tuple[Point, Point]]) -> list[tuple[Point, Point]]:
        if not arrows:
            raise ValueError("lane has no direction of travel; give at least one [tail, head]")
        for tail, head in arrows:
            if tail == head:
                raise ValueError("a direction arrow's tail and head are the same point")
        return arrows


class Crosswalk(StrictModel):
    id: str = Field(description="Crosswalk id, unique within the camera.")
    polygon: Polygon = Field(description="Crossing area in image pixels.")


class Zone(StrictModel):
    id: str = Field(description="Zone id, unique within the camera.")
    kind: Literal["no_stopping", "no_parking"] = Field(
        description="no_stopping: no halt beyond a short dwell (not even to drop off); "
        "no_parking: stopping briefly is allowed, staying is not."
    )
    polygon: Polygon = Field(description="Zone area in image pixels.")
    max_dwell_s: float = Field(
        gt=0, description="Seconds a vehicle may stand still in the zone before it is an offence."
    )
    classes: VehicleClasses = Field(
        default_factory=lambda: list(VEHICLE_CLASSES),
        min_length=1,
        description="Vehicle classes the zone applies to.",
    )


class SpeedLimit(StrictModel):
    limit_kmh: float = Field(gt=0, le=200, description="Speed limit in km/h.")
    lanes: list[str] = Field(default_factory=list, description="Lane ids; empty: every lane.")
    classes: VehicleClasses = Field(
        default_factory=list, description="Vehicle classes; empty: every class."
    )


class Calibration(StrictModel):
    """Image-to-ground mapping for speeds and distances in metres."""

    id: str = Field(description="Calibration id, recorded with every speed measured with it.")
    date: date_type = Field(description="Day the calibration was surveyed.")
    image_points: list[Point] = Field(min_length=4, description="Points in image pixels.")
    ground_points: list[GroundPoint] = Field(
        min_length=4, description="The same points on the ground, in metres (any flat frame)."
    )

    @model_validator(mode="after")
    def _usable(self) -> Calibration:
        if len(self.image_points) != len(self.ground_points):
            raise ValueError(
                f"calibration has {len(self.image_points)} image points but "
                f"{len(self.ground_points)} ground points; they must pair up"
            )
        for name, points, tolerance in (
            ("image_points", self.image_points, 2.0),
            ("ground_points", self.ground_points, 0.05),
        ):
            if all_collinear(points, tolerance) or (
                len(points) == 4 and collinear_triple(points, tolerance)
            ):
                raise ValueError(
                    f"calibration {name} are collinear; a homography needs four points of "
                    "which no three lie on one line"
                )
        return self


class Scene(StrictModel):
    image_size: tuple[int, int] | None = Field(
        default=None,
        description="Width, height of the camera's frames; when set, every point of the scene "
        "must lie inside the image.",
    )
    stop_line: StopLine | None = Field(default=None, description="Stop line of the approach.")
    crosswalks: list[Crosswalk] = Field(default_factory=list, description="Pedestrian crossings.")
    lanes: list[Lane] = Field(default_factory=list, description="Lanes of the approach.")
    signal_heads: list[SignalHead] = Field(default_factory=list, description="Signal heads.")
    zones: list[Zone] = Field(default_factory=list, description="No-stopping/no-parking zones.")
    calibration: Calibration | None = Field(
        default=None, description="Ground calibration (needed for speeds)."
    )
    speed_limits: list[SpeedLimit] = Field(
        default_factory=list,
        description="Limits per lane and class; the most specific entry wins (lane and class, "
        "then lane, then class, then one with neither).",
    )
    approach: Approach = Field(
        default_factory=Approach,
        description="Movements from the approach and its turn-on-red sign (for red_light).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Scene:
        for kind, items in (
            ("lanes", self.lanes),
            ("zones", self.zones),
            ("crosswalks", self.crosswalks),
            ("signal_heads", self.signal_heads),
        ):
            ids = [item.id for item in items]
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"{kind} ids used twice: {duplicates}")
        lane_ids = {lane.id for lane in self.lanes}
        for head in self.signal_heads:
            unknown = sorted(set(head.lanes) - lane_ids)
            if unknown:
                raise ValueError(f"signal head {head.id!r} controls unknown lanes {unknown}")
        for limit in self.speed_limits:
            unknown = sorted(set(limit.lanes) - lane_ids)
            if unknown:
                raise ValueError(f"speed limit names unknown lanes {unknown}")
        self._movements_consistent()
        if self.image_size is not None:
            self._inside_image(*self.image_size)
        return self

    def _movements_consistent(self) -> None:
        """Heads, lanes and exits agree on the approach's movements."""
        defined = set(self.approach.movements)
        named = [
            (f"signal head {head.id!r}", head.movements + ([head.arrow] if head.arrow else []))
            for head in self.signal_heads
        ] + [(f"lane {lane.id!r}", lane.movements) for lane in self.lanes]
        if not defined:
            for where, movements in named:
                if any(m != "straight" for m in movements):
                    raise ValueError(
                        f"{where} names movements {sorted(set(movements))} but "
                        "approach.movements defines no exits; give each movement an exit "
                        "region or direction"
                    )
            return
        for where, movements in named:
            unknown = sorted(set(movements) - defined)
            if unknown:
                raise ValueError(
                    f"{where} names movements {unknown} that approach.movements does not "
                    f"define (it defines {sorted(defined)})"
                )
        controlled = {m for head in self.signal_heads for m in head.controlled_movements}
        uncontrolled = sorted(defined - controlled)
        if self.signal_heads and uncontrolled:
            raise ValueError(
                f"approach.movements {uncontrolled} are controlled by no signal head; add them "
                "to a head's movements"
            )
        for head in self.signal_heads:
            if head.kind == "arrow" and head.movements and head.arrow not in head.movements:
                raise ValueError(
                    f"signal head {head.id!r}: an arrow pointing {head.arrow} does not control "
                    f"it (movements {head.movements})"
                )

    def _inside_image(self, width: int, height: int) -> None:
        def check(where: str, points: list[Point] | tuple[Point, ...]) -> None:
            for x, y in points:
                if not (0 <= x <= width and 0 <= y <= height):
                    raise ValueError(
                        f"{where} point ({x:g}, {y:g}) is outside the {width}x{height} image"
                    )

        if self.stop_line is not None:
            check("stop_line", self.stop_line.points)
        for head in self.signal_heads:
            if head.region is not None:
                x1, y1, x2, y2 = head.region
                check(f"signal head {head.id!r} region", [(x1, y1), (x2, y2)])
        for lane in self.lanes:
            check(f"lane {lane.id!r} polygon", lane.polygon)
        for zone in self.zones:
            check(f"zone {zone.id!r} polygon", zone.polygon)
        for crosswalk in self.crosswalks:
            check(f"crosswalk {crosswalk.id!r} polygon", crosswalk.polygon)
        for name, exit_ in self.approach.movements.items():
            if exit_.region is not None:
                check(f"approach.movements.{name} region", exit_.region)
        if self.calibration is not None:
            check("calibration image", self.calibration.image_points)

    def lane(self, lane_id: str) -> Lane:
        for lane in self.lanes:
            if lane.id == lane_id:
                return lane
        raise KeyError(lane_id)


class RuleBase(StrictModel):
    min_track_frames: int = Field(
        default=3, ge=1, description="Frames a track must be seen before it can trigger."
    )
    classes: VehicleClasses = Field(
        default_factory=lambda: list(VEHICLE_CLASSES),
        min_length=1,
        description="Vehicle classes the rule applies to.",
    )


class RedLightRule(RuleBase):
    type: Literal["red_light"] = "red_light"
    signal_head: str | None = Field(
        default=None, description="Signal head that controls the line; default: the first one."
    )
    amber_grace_s: float = Field(
        default=0.0, ge=0, description="Seconds after red onset during which crossing is allowed."
    )
    exempt_lanes: list[str] = Field(
        default_factory=list,
        description="Lanes where crossing on red is allowed (e.g. a signed right turn on red).",
    )
    approach_window_s: float = Field(
        default=1.5,
        gt=0,
        description="Seconds of the track's path before the crossing that must lie in the "
        "approach's lanes (the lanes the head controls, all lanes when it names none; behind "
        "the stop line when no lanes are drawn) and run along one of their directions; a "
        "vehicle whose path runs across the approach is never judged by its line.",
    )
    approach_max_angle_deg: float = Field(
        default=50.0,
        gt=0,
        lt=90,
        description="How many degrees that path may differ from an approach direction (a "
        "lane's arrow, or the stop line's normal towards the junction: without lanes, or for "
        "a vehicle in the approach lanes veering off its arrow as it crosses); cross "
        "traffic runs at about 90.",
    )
    front_offset: dict[str, float] = Field(
        default_factory=lambda: {"car": 0.3, "bus": 0.3, "truck": 0.3},
        description="Per class: how far ahead of the box bottom the vehicle's front touches "
        "the ground, as a share of the box's height, for traffic moving away from the camera "
        "(up the image), whose box bottom is its rear; scaled by the share of its travel that "
        "runs up the image, so traffic moving across or toward the camera is judged by the "
        "box bottom. A class not named is judged by its box bottom. Cars: 0.27-0.34 on a "
        "labelled clip. Motorbikes seen from behind need none: a COCO detector's box (with "
        "its riders) ends at the number plate, 20-30 px above the rear tyre's contact, which "
        "is where the front tyre touches the road (the wheelbase's length in the image) on "
        "three labelled clips.",
    )
    confirm_past: float = Field(
        default=0.1,
        ge=0,
        description="How far past the line the front must reach, as a share of the box's "
        "height, before a crossing counts; box jitter of a vehicle waiting at the line is "
        "no crossing. The crossing's time is still when the front met the line.",
    )
    signal_settle_s: float = Field(
        default=2.0,
        ge=0,
        description="Seconds a crossing seen while the head did not read red waits for a red "
        "whose onset the signal reader dates back to before the crossing.",
    )
    unknown_movement: Literal["flag", "hold"] = Field(
        default="flag",
        description="Where scene.approach.movements are configured: what a crossing whose "
        "movement is still unknown when its track ends (or movement_max_wait_s passes) gets, "
        "if the movements it might still make differ in their phase: flag (judged against "
        "the red ball, as before movements existed) or hold (not reported). The evidence "
        "says which. A crossing red for every movement its lane allows is flagged at once.",
    )
    movement_distance: float = Field(
        default=1.0,
        gt=0,
        le=20,
        description="How far past the line (in the crossing box's heights) a vehicle must "
        "travel before its heading may decide its movement.",
    )
    movement_max_angle_deg: float = Field(
        default=35.0,
        gt=0,
        lt=90,
        description="How close (degrees) the settled heading must lie to a movement's exit "
        "direction to decide it.",
    )
    movement_heading_s: float = Field(
        default=0.5,
        gt=0,
        le=5,
        description="Seconds of path whose direction is the vehicle's heading; the heading "
        "has settled when the latest stretch this long and the one before it point to the "
        "same exit direction.",
    )
    movement_max_wait_s: float = Field(
        default=3.0,
        gt=0,
        le=3.5,
        description="Seconds after the crossing within which the movement must be known, "
        "else unknown_movement decides (key frames of the crossing are kept about 5 s).",
    )
    movement_lost_s: float = Field(
        default=0.7,
        gt=0,
        le=3,
        description="A crossing track unseen this long has ended (left the picture or was "
        "lost) for deciding its movement.",
    )
    stop_min_s: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description="right_turn_on_red after_stop: seconds the vehicle must have stood still "
        "(box bottom within a tenth of its height) behind the line before crossing.",
    )

    @field_validator("front_offset")
    @classmethod
    def _front_offset_classes(cls, offsets: dict[str, float]) -> dict[str, float]:
        for name, share in offsets.items():
            if name not in VEHICLE_CLASSES:
                raise ValueError(
                    f"front_offset: unknown class {name!r}; expected one of {VEHICLE_CLASSES}"
                )
            if not 0 <= share <= 1:
                raise ValueError(f"front_offset[{name}] must be in [0, 1], got {share}")
        return offsets


class StopLineRule(RuleBase):
    type: Literal["stop_line"] = "stop_line"
    signal_head: str | None = Field(
        default=None, description="Signal head that controls the line; default: the first one."
    )
    max_stopped_s: float = Field(
        default=3.0, gt=0, description="Seconds a vehicle may stand over the line/crossing on red."
    )
    stationary_radius_px: float = Field(
        default=12.0,
        gt=0,
        description="How far the anchor may wander (box jitter) while the vehicle counts as "
        "standing still.",
    )
    line_margin_px: float = Field(
        default=10.0,
        ge=0,
        description="How far past the stop line the vehicle's ground contact must reach to "
        "count as over it, so a vehicle halted at the line with a jittering box is not.",
    )
    max_gap_s: float = Field(
        default=2.0,
        ge=0,
        description="Seconds a standing vehicle may go unseen (occlusion, tracker id switch) "
        "without its time over the line starting again.",
    )


class WrongWayRule(RuleBase):
    type: Literal["wrong_way"] = "wrong_way"
    lanes: list[str] = Field(default_factory=list, description="Lanes checked; empty: all.")
    min_distance_px: float = Field(
        default=120.0, gt=0, description="Distance travelled against the lane before it counts."
    )
    min_duration_s: float = Field(
        default=1.5, gt=0, description="Time travelling against the lane before it counts."
    )
    max_angle_deg: float = Field(
        default=120.0,
        gt=90,
        le=180,
        description="Motion more than this many degrees off every allowed direction is "
        "against the lane.",
    )
    jitter_px: float = Field(
        default=15.0,
        ge=0,
        description="Movements shorter than this are box jitter and never end a run against "
        "the lane; a forward move longer than this does.",
    )
    max_gap_s: float = Field(
        default=1.0,
        ge=0,
        description="Seconds a vehicle may go unseen (occlusion) without its run against the "
        "lane starting again; a new track id within this time and a box width of where a "
        "flagged vehicle vanished is that same vehicle.",
    )


class SpeedingRule(RuleBase):
    type: Literal["speeding"] = "speeding"
    tolerance_kmh: float = Field(default=3.0, ge=0, description="Allowed excess in km/h.")
    tolerance_pct: float = Field(
        default=0.0, ge=0, le=50, description="Allowed excess as % of the limit (added)."
    )
    window_s: float = Field(
        default=1.0, gt=0, description="Speed is smoothed over this much track history."
    )
    min_frames_over: int = Field(
        default=3,
        ge=1,
        description="Consecutive frames the smoothed speed must stay above limit + tolerance "
        "before it counts (one jittery window is not a speed).",
    )


class DwellRule(RuleBase):
    zones: list[str] = Field(
        default_factory=list, description="Zone ids checked; empty: every zone of the rule's kind."
    )
    stationary_radius_px: float = Field(
        default=12.0, gt=0, description="How far the anchor may wander while counted as still."
    )
    max_gap_s: float = Field(
        default=2.0, ge=0, description="Occlusion gap a stay survives without restarting."
    )
    forget_s: float = Field(
        default=60.0,
        gt=0,
        description="A flagged stay is remembered while its vehicle is out of sight this long, "
        "so the same parked vehicle is not flagged again after an occlusion or id switch.",
    )


class NoStoppingRule(DwellRule):
    type: Literal["no_stopping"] = "no_stopping"


class NoParkingRule(DwellRule):
    type: Literal["no_parking"] = "no_parking"


class RestrictedLaneRule(RuleBase):
    type: Literal["restricted_lane"] = "restricted_lane"
    lanes: list[str] = Field(default_factory=list, description="Lanes checked; empty: all.")
    min_duration_s: float = Field(
        default=1.0, ge=0, description="Time in the lane before it counts (not a lane change)."
    )
    max_gap_s: float = Field(
        default=1.0,
        ge=0,
        description="Seconds a vehicle may go unseen or outside the lane (occlusion, box "
        "jitter over the lane line) without its time in the lane starting again.",
    )


class OverloadedMotorbikeRule(RuleBase):
    type: Literal["overloaded_motorbike"] = "overloaded_motorbike"
    classes: VehicleClasses = Field(
        default_factory=lambda: ["motorbike"], min_length=1, description="Two-wheelers checked."
    )
    max_riders: int = Field(default=2, ge=1, description="Riders allowed, driver included.")
    min_frames: int = Field(
        default=5, ge=1, description="Frames the excess must be seen on before it counts."
    )
    window_s: float = Field(
        default=2.0, gt=0, description="The min_frames sightings must fall within this long."
    )
    min_travel_px: float = Field(
        default=30.0,
        ge=0,
        description="The motorbike must move this far over those sightings with its riders "
        "keeping their places on it: a pedestrian beside a stopped bike does not ride it.",
    )


RuleConfig = Annotated[
    RedLightRule
    | StopLineRule
    | WrongWayRule
    | SpeedingRule
    | NoStoppingRule
    | NoParkingRule
    | RestrictedLaneRule
    | OverloadedMotorbikeRule,
    Field(discriminator="type"),
]


class TrackerBase(StrictModel):
    """Settings every tracker shares (see `models.tracking`)."""

    track_high_thresh: float = Field(
        default=0.25, gt=0, lt=1, description="Detections at or above this score are matched first."
    )
    track_low_thresh: float = Field(
        default=0.1,
        gt=0,
        lt=1,
        description="Detections between this and track_high_thresh only keep tracks alive.",
    )
    new_track_thresh: float = Field(
        default=0.25, gt=0, lt=1, description="Lowest score of a detection that starts a new track."
    )
    match_thresh: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Highest association cost (1 - IoU, fused with the score) of a match.",
    )
    lost_track_s: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description="How long a track that lost its vehicle (occlusion, missed detections) can "
        "be found again under the same id; longer bridges longer occlusions but risks giving "
        "the id to another vehicle.",
    )
    duplicate_iou: float | None = Field(
        default=0.6,
        gt=0,
        le=1,
        description="Vehicle boxes of different classes overlapping by more than this IoU are "
        "one vehicle seen twice (a pickup as car and truck): the lower-scoring one is dropped "
        "before tracking, so two tracks never take turns on it. null keeps both.",
    )
    nested_containment: float | None = Field(
        default=0.9,
        gt=0,
        le=1,
        description="A car, truck or bus box lying at least this share inside a larger car, "
        "truck or bus box is a part of that vehicle (a van's rear or a pickup's cab boxed "
        "again as a smaller car) and is dropped before tracking; as a track of its own it "
        "would cross the stop line a moment after the whole and be reported twice. null "
        "keeps both.",
    )
    class_settle_s: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description="A track's class is the score-weighted vote of its sightings and may "
        "change until it has been seen on this many seconds' worth of frames, then stays "
        "fixed; rules that depend on the class wait for it. A vehicle entering at the image "
        "edge is often misclassed for a frame or two (a motorbike as truck).",
    )

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> TrackerBase:
        if self.track_low_thresh > self.track_high_thresh:
            raise ValueError("track_low_thresh must not exceed track_high_thresh")
        return self

    def tracker_settings(self) -> dict[str, Any]:
        """Keyword settings for `models.tracking.build_tracker`."""
        settings = self.model_dump(exclude={"type", "lost_track_s"})
        # The trackers take ByteTrack's unit: frames at 30 fps, whatever the camera's rate.
        settings["track_buffer"] = max(1, round(self.lost_track_s * 30))
        return settings


class ByteTrackConfig(TrackerBase):
    """ByteTrack: boxes and motion only; the cheapest, for fixed cameras."""

    type: Literal["bytetrack"] = "bytetrack"


class BotSortConfig(TrackerBase):
    """BoT-SORT without appearance model (ReID needs downloaded weights)."""

    type: Literal["botsort"] = "botsort"
    camera_motion: Literal["none", "sparse_optical_flow"] = Field(
        default="sparse_optical_flow",
        description="Camera-motion compensation: sparse_optical_flow for poles that sway and "
        "PTZ cameras (a few ms per frame); none for a fixed camera.",
    )
    proximity_thresh: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Lowest IoU between a track's predicted box and a detection to match them.",
    )


TrackerConfig = Annotated[ByteTrackConfig | BotSortConfig, Field(discriminator="type")]


class DetectionRegion(StrictModel):
    """The part of a camera's frame the detector looks at, and how it is tiled.

    Detecting on the part where offences happen, letterboxed to the same network input,
    puts more network pixels on each vehicle there: small far motorbikes the whole frame
    shrinks out of the network's reach are found. Boxes still come back in frame pixels.
    """

    area: Literal["auto", "full"] | Box = Field(
        default="auto",
        description="auto: the bounding box of the scene's lanes, stop line, crosswalks and "
        "zones widened by margin and raised by headroom (the whole frame when the scene has no "
        "lanes or zones: a stop line alone does not say where vehicles come from); full: the "
        "whole frame; or [x1, y1, x2, y2] in image pixels. Clipped to the frame.",
    )
    margin: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="auto: added on every side, as a share of the scene box's longer side, so a "
        "vehicle whose ground point is at the box's edge is not cut off by it.",
    )
    headroom: float = Field(
        default=0.12,
        ge=0,
        le=1,
        description="auto: added above the scene box, as a share of its width. Vehicles stand "
        "up from their ground point: a rider on a motorbike at the top of the scene reaches "
        "above it by about a third to a half of a lane's width (a truck by a whole lane), and "
        "a box cut by the region's edge moves its ground point. 0.12 of the scene's width is "
        "a rider's height over a 3-4 lane approach.",
    )
    max_tiles: int = Field(
        default=1,
        ge=1,
        le=4,
        description="Most tiles a wide region is cut into, each detected at the camera's input "
        "size: more pixels per vehicle, at up to several times the detector's work (two tiles "
        "of a 2.25:1 view at 608 are 3.5x the frame's input pixels). 1, the default, never "
        "tiles; 2 pays where vehicles are small for the detector (Hanoi 640x480 with "
        "yolov3-tiny: labelled red-light runners boxed 10 times in 15 instead of 3).",
    )
    tile_above_aspect: float = Field(
        default=2.0,
        ge=1,
        le=8,
        description="A region whose long side exceeds this many times its short side is cut "
        "into the fewest tiles (up to max_tiles) that bring each tile down to it.",
    )
    tile_overlap: float = Field(
        default=0.2,
        ge=0.05,
        le=0.5,
        description="Share of a tile's length that neighbouring tiles overlap, so a vehicle "
        "shorter than that is whole in one tile; boxes cut by a tile's edge are joined.",
    )

    @field_validator("area")
    @classmethod
    def _area_is_a_box(cls, area: Literal["auto", "full"] | Box) -> Literal["auto", "full"] | Box:
        if not isinstance(area, str):
            x1, y1, x2, y2 = area
            if x2 <= x1 or y2 <= y1:
                raise ValueError(
                    f"area [x1, y1, x2, y2] needs x2 > x1 and y2 > y1, got {list(area)}"
                )
            if x2 <= 0 or y2 <= 0:
                raise ValueError(f"area {list(area)} lies outside the image")
        return area


class CameraConfig(StrictModel):
    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=64,
        description="Stable camera id (at most 64 characters; it names files and event keys).",
    )
    name: str = Field(description="Display name.")
    location: Location
    source: SourceConfig
    analysis_fps: float = Field(default=10.0, gt=0, le=60, description="Frames analysed per s.")
    detector_input_size: int | None = Field(
        default=None,
        ge=128,
        le=1280,
        multiple_of=32,
        description="This camera's detector input size (long side); default detector.input_size. "
        "Far or wide views need more (608 finds about twice the motorbikes of 416).",
    )
    timezone: str = Field(
        default="Asia/Ho_Chi_Minh",
        description="IANA time zone of the camera, for lanes' and zones' time windows.",
    )
    tracker: TrackerConfig | None = Field(
        default=None,
        description="This camera's tracker, replacing the top-level tracker section as a whole "
        "(e.g. botsort with camera_motion for a camera on a swaying pole).",
    )
    scene: Scene = Field(default_factory=Scene)
    rules: list[RuleConfig] = Field(default_factory=list, description="Rules checked.")
    detection_region: DetectionRegion = Field(
        default_factory=DetectionRegion,
        description="Where on the frame the detector looks: auto (default: the scene's lanes, "
        "stop line, crosswalks and zones plus margins), full, or [x1, y1, x2, y2]; either "
        "that value alone or a mapping with area, margin, headroom and tiling.",
    )

    @field_validator("detection_region", mode="before")
    @classmethod
    def _region_shorthand(cls, value: Any) -> Any:
        # `detection_region: full` or `detection_region: [x1, y1, x2, y2]` stand for the area.
        return {"area": value} if isinstance(value, str | list | tuple) else value

    @model_validator(mode="after")
    def _region_in_image(self) -> CameraConfig:
        area, size = self.detection_region.area, self.scene.image_size
        if not isinstance(area, str) and size is not None:
            x1, y1, x2, y2 = area
            if x1 >= size[0] or y1 >= size[1]:
                raise ValueError(
                    f"detection_region.area {list(area)} lies outside the {size[0]}x{size[1]} image"
                )
        return self

    @property
    def scene_version(self) -> str:
        """SHA-256 of the scene and rules as configured; every violation records it."""
        canonical = json.dumps(
            {
                "scene": self.scene.model_dump(mode="json"),
                "rules": [r.model_dump(mode="json") for r in self.rules],
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}, e.g. Asia/Ho_Chi_Minh") from None
        return name

    @model_validator(mode="after")
    def _rules_fit_scene(self) -> CameraConfig:
        for index, rule in enumerate(self.rules):
            problem = _rule_scene_problem(rule, self.scene)
            if problem:
                raise ValueError(f"rules.{index} ({rule.type}): {problem}")
        return self


def _rule_scene_problem(rule: RuleConfig, scene: Scene) -> str | None:
    """What the scene lacks for `rule`, or None."""
    heads = {h.id for h in scene.signal_heads}
    lanes = {lane.id for lane in scene.lanes}
    if isinstance(rule, RedLightRule | StopLineRule):
        if scene.stop_line is None:
            return "needs scene.stop_line"
        if not heads:
            return "needs at least one scene.signal_heads entry"
        if rule.signal_head is not None and rule.signal_head not in heads:
            return f"names signal head {rule.signal_head!r}, not among {sorted(heads)}"
    if isinstance(rule, RedLightRule):
        unknown = sorted(set(rule.exempt_lanes) - lanes)
        if unknown:
            return f"exempt_lanes names unknown lanes {unknown}"
        movements = scene.approach.movements
        if rule.signal_head is not None and movements:
            head = next(h for h in scene.signal_heads if h.id == rule.signal_head)
            if head.kind == "arrow":
                return f"signal_head {head.id!r} is an arrow; name the approach's ball head"
    if isinstance(rule, WrongWayRule | RestrictedLaneRule):
        if not scene.lanes:
            return "needs scene.lanes"
        unknown = sorted(set(rule.lanes) - lanes)
        if unknown:
            return f"lanes names unknown lanes {unknown}"
    if isinstance(rule, SpeedingRule):
        if scene.calibration is None:
            return "needs scene.calibration"
        if not scene.speed_limits:
            return "needs at least one scene.speed_limits entry"
    if isinstance(rule, NoStoppingRule | NoParkingRule):
        of_kind = {z.id for z in scene.zones if z.kind == rule.type}
        if not of_kind:
            return f"needs at least one scene.zones entry of kind {rule.type}"
        unknown = sorted(set(rule.zones) - of_kind)
        if unknown:
            return f"zones names {unknown}, not {rule.type} zones of this camera"
    return None


class LocalEvidenceStoreConfig(StrictModel):
    """Evidence packages in a local directory (atomic writes, originals never overwritten)."""

    type: Literal["local"] = "local"
    path: Path | None = Field(
        default=None, description="Directory of the evidence packages; unset: `evidence.path`."
    )


class S3EvidenceStoreConfig(StrictModel):
    """Evidence packages in any S3-API object store (AWS S3, MinIO, SeaweedFS, ...)."""

    type: Literal["s3"]
    bucket: str = Field(min_length=3, max_length=63, description="Bucket; it must exist.")
    prefix: str = Field(
        default="", description="Key prefix of every package, e.g. `evidence/` (ends with /)."
    )
    endpoint_url: str | None = Field(
        default=None, description="S3 endpoint, e.g. http://minio:9000; unset: AWS."
    )
    region: str | None = Field(default=None, description="Region; unset: boto3's default.")
    access_key_id: str | None = Field(
        default=None, description="Access key; unset: boto3's chain (env AWS_ACCESS_KEY_ID, ...)."
    )
    secret_access_key: str | None = Field(
        default=None,
        description="Secret key; unset: boto3's chain (env AWS_SECRET_ACCESS_KEY, ...).",
    )

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_folder(cls, prefix: str) -> str:
        if prefix and (not prefix.endswith("/") or prefix.startswith("/") or ".." in prefix):
            raise ValueError(f"prefix {prefix!r} must end with '/', not start with one, no '..'")
        return prefix

    @model_validator(mode="after")
    def _keys_come_in_pairs(self) -> S3EvidenceStoreConfig:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("set both access_key_id and secret_access_key, or neither")
        return self


EvidenceStoreConfig = Annotated[
    LocalEvidenceStoreConfig | S3EvidenceStoreConfig, Field(discriminator="type")
]

SIGNING_KEY_NAME = "evidence-signing-ed25519.pem"


class EvidenceConfig(StrictModel):
    path: Path = Field(
        default=Path("evidence"),
        description="Local working directory: camera thumbnails and reference snapshots, "
        "clips being cut, and the evidence packages themselves when the store is local.",
    )
    frames_before: int = Field(default=1, ge=1, description="Key frames kept before an offence.")
    store: EvidenceStoreConfig = Field(
        default_factory=LocalEvidenceStoreConfig,
        description="Where packages are kept: {type: local, path} or {type: s3, bucket, ...}.",
    )
    signing_key: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) that signs every manifest; created with mode "
        f"0600 on first use. Unset: `keys/{SIGNING_KEY_NAME}` next to `evidence.path`.",
    )
    public_key: Path | None = Field(
        default=None,
        description="Ed25519 public key (PEM) that the review UI and `evidence verify` check "
        "manifests with, so that a host that only reviews needs no private key (write it "
        "with `trafficcam evidence public-key`). Unset: the public half of `signing_key`.",
    )
    signing_key_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="Pins the signing key: its id (hex SHA-256 of the raw public key, as "
        "`trafficcam evidence public-key` prints it and every manifest names). "
        "`evidence verify` and the review UI then trust no other key, even one put "
        "at `signing_key`'s path.",
    )
    clip_before_s: float = Field(
        default=5.0,
        ge=0,
        le=120,
        description="Seconds of video before the offence in the package's clip (at most the "
        "camera's source.buffer_seconds).",
    )
    clip_after_s: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="Seconds of video after the offence in the clip; the package is committed "
        "once they have passed.",
    )

    @property
    def signing_key_path(self) -> Path:
        """The signing key file, explicit or the default next to the evidence directory."""
        return self.signing_key or self.path.parent / "keys" / SIGNING_KEY_NAME

    @property
    def verifying_key_path(self) -> Path:
        """The file manifests are checked with: `public_key`, else the signing key."""
        return self.public_key or self.signing_key_path


class KafkaTopics(StrictModel):
    violations: str = "violations"
    camera_health: str = "camera-health"
    reviews: str = "reviews"
    signal_phases: str = Field(
        default="signal-phases",
        description="Signal phase changes from controllers (published by the review UI's "
        "signals API, or by a controller directly); workers follow it.",
    )
    system_alerts: str = Field(
        default="system-alerts",
        description="Alerts about the installation itself, e.g. the evidence disk nearly full.",
    )


class KafkaConfig(StrictModel):
    bootstrap_servers: list[str] = Field(min_length=1, description="host:port of brokers.")
    topics: KafkaTopics = Field(default_factory=KafkaTopics)

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_port(cls, servers: list[str]) -> list[str]:
        for server in servers:
            host, _, port = server.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"bootstrap server {server!r} is not host:port")
        return servers


class DetectorConfig(StrictModel):
    backend: Literal["darknet", "ultralytics"] = Field(
        default="darknet",
        description="darknet: a Darknet cfg + weights (the offline yolov4-tiny or yolov3-tiny); "
        "ultralytics: any model Ultralytics loads (.pt, or its ONNX/OpenVINO export).",
    )
    model: str = Field(
        default="yolov4-tiny",
        description="Model registry name. yolov4-tiny (default) finds 1.1-1.3x the motorbikes "
        "yolov3-tiny finds on Vietnamese CCTV at the same speed (README: choosing the detector).",
    )
    runtime: Literal["auto", "openvino", "onnxruntime", "opencv", "pytorch"] = Field(
        default="auto",
        description="What runs the network. auto: the fastest installed (OpenVINO, then "
        "ONNX Runtime; the model is converted or exported once and cached by its SHA-256). "
        "darknet also takes opencv (OpenCV DNN, no conversion); ultralytics takes pytorch "
        "(the .pt as it is), openvino or onnxruntime (its export).",
    )
    precision: Literal["auto", "f32", "bf16", "int8"] = Field(
        default="auto",
        description="darknet on OpenVINO: auto and int8 run an INT8 model quantised once on "
        "this machine (fastest; keeps 95-100% of the f32 boxes), bf16 the float model in bf16 "
        "where the CPU has it, f32 the exact float model. Other runtimes compute in f32.",
    )
    input_size: int = Field(
        default=416,
        ge=128,
        le=1280,
        multiple_of=32,
        description="Long side of the network input in pixels, unless a camera sets its own "
        "(for a wide view the input may grow up to auto_input_size_max).",
    )
    auto_input_size_max: int | None = Field(
        default=608,
        ge=128,
        le=1280,
        multiple_of=32,
        description="A camera that sets no detector_input_size gets an input between "
        "input_size and this: the smallest keeping 0.4 of the long side of what it detects "
        "(its detection region or tile). A 640 px camera stays at 416, a 1280 px one gets "
        "512, a 1600 px far view 608, where its motorbikes are still large enough to find. "
        "null: always input_size.",
    )
    confidence: float = Field(default=0.25, gt=0, lt=1, description="Minimum detection score.")
    class_confidence: dict[str, float] = Field(
        default_factory=dict,
        description="Minimum score per canonical class, e.g. {person: 0.4}; others use confidence.",
    )
    class_map: dict[str, str] = Field(
        default_factory=dict,
        description="ultralytics: model class name -> canonical class, for fine-tunes "
        "whose vocabulary the built-in mapping does not know.",
    )
    batch_size: int = Field(
        default=8, ge=1, le=64, description="Most frames (from all cameras) per detector call."
    )
    max_wait_ms: float = Field(
        default=0,
        ge=0,
        le=1000,
        description="How long a partial batch waits for more cameras' frames before it runs; "
        "0 runs whatever is ready at once.",
    )

    @field_validator("class_confidence")
    @classmethod
    def _known_classes(cls, thresholds: dict[str, float]) -> dict[str, float]:
        for name, value in thresholds.items():
            if name not in CANONICAL_CLASSES:
                raise ValueError(f"unknown class {name!r}; expected one of {CANONICAL_CLASSES}")
            if not 0 < value < 1:
                raise ValueError(f"threshold of {name!r} must be between 0 and 1")
        return thresholds

    @model_validator(mode="after")
    def _runtime_fits_backend(self) -> DetectorConfig:
        allowed = {
            "darknet": ("auto", "openvino", "onnxruntime", "opencv"),
            "ultralytics": ("auto", "openvino", "onnxruntime", "pytorch"),
        }[self.backend]
        if self.runtime not in allowed:
            raise ValueError(f"runtime {self.runtime!r} does not run a {self.backend} model")
        return self


class PlatesConfig(StrictModel):
    enabled: bool = Field(
        default=True, description="Read the plate of each violating vehicle (detector + OCR)."
    )
    model: str = Field(
        default="plate-yolov8n", description="Registry name of the Ultralytics plate detector."
    )
    best_of: int = Field(
        default=4,
        ge=1,
        le=16,
        description="Vehicle crops kept per track over its life (largest and sharpest) and read "
        "when it offends, besides the evidence frames; more reads, more agreement, more OCR time.",
    )
    follow_s: float = Field(
        default=2.0,
        ge=0,
        le=10,
        description="Seconds after an offence during which the vehicle's crops are still "
        "collected (its plate often comes into view as it passes); the plate is read after.",
    )


class ReviewConfig(StrictModel):
    session_secret: str | None = Field(
        default=None,
        min_length=32,
        repr=False,
        description="Key for signing session cookies, at least 32 characters. Better left out "
        "of the config file: the environment variable TRAFFICCAM_SESSION_SECRET or "
        "session_secret_file take precedence; when none is set one is generated into the "
        "0600 file keys/review-session-secret next to evidence.path.",
    )
    session_secret_file: Path | None = Field(
        default=None,
        description="A file (mode 0600, owner only) holding the session-signing key, at least "
        "32 bytes; created with a generated key when missing.",
    )
    secure_cookies: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Mark the session cookie Secure (sent over HTTPS only) and send HSTS: "
        "'always', 'never' (plain-http tests only), or 'auto': always, except a plain-http "
        "request to localhost/127.0.0.1/::1 without proxy headers (a demo on this machine).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or CIDR blocks of reverse proxies whose X-Forwarded-For is "
        "believed for the client's address (login throttle, audit); empty: the socket's "
        "address, X-Forwarded-For ignored.",
    )
    api_docs: bool = Field(
        default=True,
        description="Serve the API's OpenAPI description at /openapi.json to logged-in users "
        "(any role); false: not at all. The /docs and /redoc pages are never served (they "
        "load scripts from a CDN, which the content security policy forbids).",
    )
    claim_timeout_s: float = Field(
        default=600,
        gt=0,
        description="How long an officer's claim on a queued violation holds without a decision.",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Login attempts for one user name from one client address within "
        "login_window_s before that pair is throttled; the account stays open from elsewhere.",
    )
    login_max_failures_per_address: int = Field(
        default=20,
        ge=1,
        description="Login attempts (any user names) from one client address within "
        "login_window_s before the address is throttled.",
    )
    login_window_s: float = Field(
        default=900, gt=0, description="Window in which failed logins are counted, in seconds."
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL printed in notices' QR codes, e.g. https://review.example.vn; "
        "the request's own URL when unset.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, entries: list[str]) -> list[str]:
        import ipaddress

        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"review.trusted_proxies: {entry!r} is not an IP address or CIDR block"
                ) from None
        return entries


class HealthConfig(StrictModel):
    """Camera health checks, samples and alerts (see `streams.health`)."""

    check_every_s: float = Field(
        default=5.0, gt=0, le=300, description="Seconds between health checks of each camera."
    )
    sample_every_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Seconds between stored/published health samples; a state change is "
        "stored and published at once.",
    )
    retention_days: float = Field(
        default=30, gt=0, description="Health samples older than this are deleted; alerts are kept."
    )
    stale_after_s: float = Field(
        default=10.0, gt=0, description="A camera without a new frame for this long is offline."
    )
    frozen_after_s: float = Field(
        default=10.0, ge=0, description="Unchanging picture for this long: frozen picture."
    )
    persist_s: float = Field(
        default=10.0,
        ge=0,
        description="A black, washed-out, blurred or moved view must last this long to count.",
    )
    view_similarity: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Similarity to the reference snapshot below which the view moved or is "
        "obstructed.",
    )
    blur_ratio: float = Field(
        default=0.35,
        gt=0,
        lt=1,
        description="Sharpness below this fraction of the reference snapshot's: blurred.",
    )
    thumbnail_every_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds between thumbnails of each camera's newest frame for the "
        "operators' page (taken at a health check, so never more often than check_every_s).",
    )


class RetentionConfig(StrictModel):
    """How long evidence is kept, and what goes first when the evidence disk fills up.

    Ages count from the offence. Only decided violations lose evidence: a pending
    one, or one an officer holds a claim on, keeps it whatever its age or the disk.
    Deleting evidence keeps the violation row, its reviews and its evidence rows
    (marked deleted, with when and why) for the audit trail.
    """

    enabled: bool = Field(default=True, description="Run retention in the worker.")
    rejected_days: float | None = Field(
        default=90,
        gt=0,
        description="Evidence of rejected violations is deleted this many days after the "
        "offence; null keeps it for good.",
    )
    confirmed_days: float | None = Field(
        default=1827,
        gt=0,
        description="Evidence of confirmed violations (the basis of fines) is kept this many "
        "days after the offence, the legal period (default five years); null keeps it for good.",
    )
    min_free_fraction: float = Field(
        default=0.05,
        ge=0,
        lt=1,
        description="The evidence disk is nearly full when less than this fraction of it is free.",
    )
    min_free_bytes: int = Field(
        default=0,
        ge=0,
        description="The evidence disk is nearly full when fewer bytes than this are free "
        "(the larger of the two limits applies).",
    )
    early_statuses: tuple[Literal["rejected", "confirmed"], ...] = Field(
        default=("rejected",),
        description="Statuses whose evidence may go before its age, oldest offence first, while "
        "the disk is nearly full. Confirmed evidence backs fines: list it only where the law "
        "allows.",
    )
    check_every_s: float = Field(
        default=3600, gt=0, le=86400, description="Seconds between the worker's retention runs."
    )
    stuck_alert_every_s: float = Field(
        default=6 * 3600,
        ge=0,
        description="While the disk stays nearly full with nothing left to delete, the critical "
        "alert is repeated at most this often (a run that deletes evidence always alerts).",
    )


class AppConfig(StrictModel):
    database_url: str = Field(
        default="sqlite:///trafficcam.db", description="SQLAlchemy URL (sqlite or postgresql)."
    )
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)
    kafka: KafkaConfig | None = Field(default=None, description="Kafka; none = no events.")
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    tracker: TrackerConfig = Field(
        default_factory=ByteTrackConfig,
        description="Tracker of every camera that does not set its own: bytetrack or botsort.",
    )
    plates: PlatesConfig = Field(default_factory=PlatesConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    cameras: list[CameraConfig] = Field(default_factory=list)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        scheme = url.split(":", 1)[0]
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            # The scheme only: the rest of the URL may hold the database password.
            raise ValueError(f"database_url must be sqlite:// or postgresql://, got {scheme!r}://")
        return url

    @field_validator("cameras")
    @classmethod
    def _unique_ids(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        seen: set[str] = set()
        for camera in cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} is used twice")
            seen.add(camera.id)
        return cameras

    def camera(self, camera_id: str) -> CameraConfig:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise KeyError(camera_id)


def _describe_location(data: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """Turn pydantic's error location into `camera 'x', field scene.stop_line.points`."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "cameras" and isinstance(parts[1], int):
        index = parts[1]
        cameras = data.get("cameras") or []
        camera_id = None
        if index < len(cameras) and isinstance(cameras[index], dict):
            camera_id = cameras[index].get("id")
        shown = repr(camera_id)
        if len(shown) > 50:  # a pasted blob as the id would drown the message
            shown = shown[:45] + "...'"
        who = f"camera {shown}" if camera_id else f"camera #{index + 1}"
        field = ".".join(str(p) for p in parts[2:]) or "(the camera entry)"
        return f"{who}, field {field}"
    return "field " + ".".join(str(p) for p in parts)


def _resolve_paths(config: AppConfig, base: Path) -> AppConfig:
    def resolve(path: Path) -> Path:
        return path if path.is_absolute() else (base / path).resolve()

    database_url = config.database_url
    prefix = "sqlite:///"
    if database_url.startswith(prefix) and not database_url.startswith(prefix + "/"):
        relative = database_url[len(prefix) :]
        if relative and relative != ":memory:":
            database_url = prefix + str(resolve(Path(relative)))
    cameras = [
        camera.model_copy(
            update={
                "source": camera.source.model_copy(
                    update={"url": str(resolve(Path(camera.source.url)))}
                )
            }
        )
        if camera.source.is_file
        else camera
        for camera in config.cameras
    ]
    store = config.evidence.store
    if isinstance(store, LocalEvidenceStoreConfig) and store.path is not None:
        store = store.model_copy(update={"path": resolve(store.path)})
    evidence = config.evidence.model_copy(
        update={
            "path": resolve(config.evidence.path),
            "store": store,
            "signing_key": resolve(config.evidence.signing_key)
            if config.evidence.signing_key is not None
            else None,
            "public_key": resolve(config.evidence.public_key)
            if config.evidence.public_key is not None
            else None,
        }
    )
    return config.model_copy(
        update={"database_url": database_url, "evidence": evidence, "cameras": cameras}
    )


def parse_config(data: Any, *, source: str = "<config>", base: Path | None = None) -> AppConfig:
    """Validate a config mapping.

    Args:
        data: the mapping read from YAML.
        source: name used in error messages (the file path).
        base: directory relative paths are resolved against.

    Returns:
        The validated config with absolute paths.

    Raises:
        ConfigError: naming the file, the camera and the field of every problem.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of settings")
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = _describe_location(data, tuple(error["loc"]))
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "unknown key (check its spelling)"
            lines.append(f"{source}: {where}: {message}")
        raise ConfigError("\n".join(lines)) from None
    return _resolve_paths(config, base or Path.cwd())


def load_config(path: Path | str) -> AppConfig:
    """Read and validate a `trafficcam.yaml` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, source=str(path), base=path.parent.resolve())
