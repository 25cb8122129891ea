"""The whole `trafficcam.yaml`: `AppConfig`, one field per top-level section."""

from __future__ import annotations

from pydantic import Field, field_validator

from pipeline.config.base import StrictModel
from pipeline.config.camera import CameraConfig
from pipeline.config.detector import DetectorConfig
from pipeline.config.events import KafkaConfig
from pipeline.config.evidence import EvidenceConfig
from pipeline.config.ops import HealthConfig, RetentionConfig
from pipeline.config.plates import PlatesConfig
from pipeline.config.review import ReviewConfig
from pipeline.config.tracker import ByteTrackConfig, TrackerConfig


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
