"""The `trafficcam.yaml` configuration: pydantic models and the loader.

Every model forbids unknown keys so a typo fails at start, and the loader turns
pydantic's errors into messages that name the file, the camera and the field.
Relative paths (video files, SQLite databases, the evidence directory) are
resolved against the directory of the config file, so a scenario directory can
be moved as a whole.

One module per section of the file, so a new setting goes next to its section:

- `base`: StrictModel, ConfigError, checked types (Point, Box, Polygon, vehicle classes)
- `app`: AppConfig, the whole file (one field per top-level section)
- `camera`: an entry of `cameras` (id, location, source, time zone, analysis rate)
- `scene`: a camera's `scene` (stop line, crosswalks, zones, speed limits,
  calibration) and its consistency checks; `lanes`, `signal_heads` and
  `approach` (movements, turn on red) hold the scene's larger parts
- `rules`: a camera's `rules`, one model per offence, and what each needs of the scene
- `detector`: `detector` and a camera's `detection_region`; `tracker`: `tracker`
- `plates`, `evidence`, `events` (`kafka`), `review`, `ops` (`health`, `retention`)
- `loading`: load_config and parse_config (YAML, error messages, path resolution)
- `environment`: settings read from environment variables (pydantic-settings), not
  from the file: passwords for the command line, the review UI's session secret,
  the demo's Kafka

Everything is re-exported here: import from `pipeline.config`.
"""

from pipeline.config.app import AppConfig
from pipeline.config.approach import MOVEMENTS, Approach, Movement, MovementExit
from pipeline.config.base import (
    VEHICLE_CLASSES,
    Box,
    ConfigError,
    Coordinate,
    GroundPoint,
    Point,
    Polygon,
    StrictModel,
    VehicleClasses,
)
from pipeline.config.camera import NETWORK_SCHEMES, CameraConfig, Location, SourceConfig
from pipeline.config.detector import DetectionRegion, DetectorConfig
from pipeline.config.events import KafkaConfig, KafkaTopics
from pipeline.config.evidence import (
    SIGNING_KEY_NAME,
    EvidenceConfig,
    EvidenceStoreConfig,
    LocalEvidenceStoreConfig,
    S3EvidenceStoreConfig,
)
from pipeline.config.lanes import WEEKDAYS, Lane, LaneRestriction, TimeWindow, Weekday
from pipeline.config.loading import load_config, parse_config
from pipeline.config.ops import HealthConfig, RetentionConfig
from pipeline.config.plates import PlatesConfig
from pipeline.config.review import ReviewConfig
from pipeline.config.rules import (
    DwellRule,
    NoParkingRule,
    NoStoppingRule,
    OverloadedMotorbikeRule,
    RedLightRule,
    RestrictedLaneRule,
    RuleBase,
    RuleConfig,
    SpeedingRule,
    StopLineRule,
    WrongWayRule,
)
from pipeline.config.scene import Calibration, Crosswalk, Scene, SpeedLimit, StopLine, Zone
from pipeline.config.signal_heads import SignalHead
from pipeline.config.tracker import BotSortConfig, ByteTrackConfig, TrackerBase, TrackerConfig

__all__ = [
    "AppConfig",
    "Approach",
    "BotSortConfig",
    "Box",
    "ByteTrackConfig",
    "Calibration",
    "CameraConfig",
    "ConfigError",
    "Coordinate",
    "Crosswalk",
    "DetectionRegion",
    "DetectorConfig",
    "DwellRule",
    "EvidenceConfig",
    "EvidenceStoreConfig",
    "GroundPoint",
    "HealthConfig",
    "KafkaConfig",
    "KafkaTopics",
    "Lane",
    "LaneRestriction",
    "LocalEvidenceStoreConfig",
    "Location",
    "MOVEMENTS",
    "Movement",
    "MovementExit",
    "NETWORK_SCHEMES",
    "NoParkingRule",
    "NoStoppingRule",
    "OverloadedMotorbikeRule",
    "PlatesConfig",
    "Point",
    "Polygon",
    "RedLightRule",
    "RestrictedLaneRule",
    "RetentionConfig",
    "ReviewConfig",
    "RuleBase",
    "RuleConfig",
    "S3EvidenceStoreConfig",
    "SIGNING_KEY_NAME",
    "Scene",
    "SignalHead",
    "SourceConfig",
    "SpeedLimit",
    "SpeedingRule",
    "StopLine",
    "StopLineRule",
    "StrictModel",
    "TimeWindow",
    "TrackerBase",
    "TrackerConfig",
    "VEHICLE_CLASSES",
    "VehicleClasses",
    "WEEKDAYS",
    "Weekday",
    "WrongWayRule",
    "Zone",
    "load_config",
    "parse_config",
]
