"""One entry of `cameras`: id, place, video source, time zone and analysis rate.

The camera's scene, rules, detection region and tracker have modules of their own;
`CameraConfig` checks that its rules find what they need in its scene.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, Field, field_validator, model_validator

from pipeline.config.base import StrictModel
from pipeline.config.detector import DetectionRegion
from pipeline.config.rules import RuleConfig, rule_scene_problem
from pipeline.config.scene import Scene
from pipeline.config.tracker import TrackerConfig

NETWORK_SCHEMES = ("rtsp", "rtsps", "http", "https")


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
            problem = rule_scene_problem(rule, self.scene)
            if problem:
                raise ValueError(f"rules.{index} ({rule.type}): {problem}")
        return self
