"""A camera's `rules`: one settings model per offence.

In this module a new rule needs its model, its place in the `RuleConfig` union
(tagged by `type`), and what it needs of the scene in `rule_scene_problem`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from pipeline.config.base import VEHICLE_CLASSES, StrictModel, VehicleClasses
from pipeline.config.scene import Scene


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


def rule_scene_problem(rule: RuleConfig, scene: Scene) -> str | None:
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
