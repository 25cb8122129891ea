"""`tracker` (top level, or a camera's own): ByteTrack or BoT-SORT and their settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from pipeline.config.base import StrictModel


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
