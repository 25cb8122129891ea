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
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.detections import CANONICAL_CLASSES

Point = tuple[float, float]
Box = tuple[float, float, float, float]

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

    @property
    def is_file(self) -> bool:
        return "://" not in self.url


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


class SignalHead(StrictModel):
    id: str = Field(description="Signal head id, unique within the camera.")
    region: Box = Field(description="Pixel box x1, y1, x2, y2 around the head's lamps.")

    @field_validator("region")
    @classmethod
    def _box_is_ordered(cls, region: Box) -> Box:
        x1, y1, x2, y2 = region
        if x2 <= x1 or y2 <= y1:
            raise ValueError("region must be x1, y1, x2, y2 with x2 > x1 and y2 > y1")
        return region


class Zone(StrictModel):
    id: str = Field(description="Zone id, unique within the camera.")
    kind: str = Field(description="What the zone is for, e.g. no_stopping or crosswalk.")
    polygon: list[Point] = Field(min_length=3, description="Polygon vertices in image pixels.")


class Scene(StrictModel):
    stop_line: StopLine | None = Field(default=None, description="Stop line of the approach.")
    signal_heads: list[SignalHead] = Field(default_factory=list, description="Signal heads.")
    zones: list[Zone] = Field(default_factory=list, description="Zones of the scene.")


class RedLightRule(StrictModel):
    type: Literal["red_light"] = "red_light"
    signal_head: str | None = Field(
        default=None, description="Signal head that controls the line; default: the first one."
    )
    amber_grace_s: float = Field(
        default=0.0, ge=0, description="Seconds after red onset during which crossing is allowed."
    )
    min_track_frames: int = Field(
        default=3, ge=1, description="Frames a track must be seen before it can trigger."
    )


RuleConfig = Annotated[RedLightRule, Field(discriminator="type")]


class CameraConfig(StrictModel):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Stable camera id.")
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
    scene: Scene = Field(default_factory=Scene)
    rules: list[RuleConfig] = Field(default_factory=list, description="Rules checked.")

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

    @model_validator(mode="after")
    def _rules_fit_scene(self) -> CameraConfig:
        heads = {h.id for h in self.scene.signal_heads}
        for rule in self.rules:
            if rule.type == "red_light":
                if self.scene.stop_line is None:
                    raise ValueError("rule red_light needs scene.stop_line")
                if not heads:
                    raise ValueError("rule red_light needs at least one scene.signal_heads entry")
                if rule.signal_head is not None and rule.signal_head not in heads:
                    raise ValueError(
                        f"rule red_light names signal head {rule.signal_head!r}, "
                        f"not among {sorted(heads)}"
                    )
        return self


class EvidenceConfig(StrictModel):
    path: Path = Field(default=Path("evidence"), description="Local evidence directory.")
    frames_before: int = Field(default=1, ge=1, description="Key frames kept before an offence.")


class KafkaTopics(StrictModel):
    violations: str = "violations"
    camera_health: str = "camera-health"
    reviews: str = "reviews"


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
        description="darknet: a Darknet cfg + weights (the offline yolov3-tiny); "
        "ultralytics: any model Ultralytics loads (.pt, or its ONNX/OpenVINO export).",
    )
    model: str = Field(default="yolov3-tiny", description="Model registry name.")
    runtime: Literal["auto", "openvino", "onnxruntime", "opencv", "pytorch"] = Field(
        default="auto",
        description="What runs the network. auto: the fastest installed (OpenVINO, then "
        "ONNX Runtime; the model is converted or exported once and cached by its SHA-256). "
        "darknet also takes opencv (OpenCV DNN, no conversion); ultralytics takes pytorch "
        "(the .pt as it is), openvino or onnxruntime (its export).",
    )
    precision: Literal["auto", "f32", "bf16"] = Field(
        default="auto",
        description="OpenVINO inference precision; auto uses bf16 where the CPU has it.",
    )
    input_size: int = Field(
        default=416,
        ge=128,
        le=1280,
        multiple_of=32,
        description="Long side of the network input in pixels, unless a camera sets its own.",
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


class ReviewConfig(StrictModel):
    session_secret: str | None = Field(
        default=None, description="Key for signing sessions; generated and kept in the DB if unset."
    )
    claim_timeout_s: float = Field(
        default=600,
        gt=0,
        description="How long an officer's claim on a queued violation holds without a decision.",
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Wrong passwords per user or client address before throttling."
    )
    login_window_s: float = Field(
        default=900, gt=0, description="Window in which failed logins are counted, in seconds."
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL printed in notices' QR codes, e.g. https://review.example.vn; "
        "the request's own URL when unset.",
    )


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


class AppConfig(StrictModel):
    database_url: str = Field(
        default="sqlite:///trafficcam.db", description="SQLAlchemy URL (sqlite or postgresql)."
    )
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)
    kafka: KafkaConfig | None = Field(default=None, description="Kafka; none = no events.")
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    plates: PlatesConfig = Field(default_factory=PlatesConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    cameras: list[CameraConfig] = Field(default_factory=list)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        scheme = url.split(":", 1)[0]
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            raise ValueError(f"database_url must be sqlite:// or postgresql://, got {url!r}")
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
        who = f"camera {camera_id!r}" if camera_id else f"camera #{index + 1}"
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
    evidence = config.evidence.model_copy(update={"path": resolve(config.evidence.path)})
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
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, source=str(path), base=path.parent.resolve())
