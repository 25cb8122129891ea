"""Rule registry: the config's `type` discriminator picks the rule class.

Each rule module exports one class taking `(config, geometry)`; `RULE_CLASSES` maps
the config's `type` to it.
"""

from __future__ import annotations

from typing import Any

from pipeline.config import CameraConfig
from pipeline.rules.base import FrameContext, Rule, ViolationCandidate
from pipeline.rules.no_parking import NoParking
from pipeline.rules.no_stopping import NoStopping
from pipeline.rules.overloaded_motorbike import OverloadedMotorbike
from pipeline.rules.red_light import RedLight
from pipeline.rules.restricted_lane import RestrictedLane
from pipeline.rules.speeding import Speeding
from pipeline.rules.stop_line import StopLine
from pipeline.rules.wrong_way import WrongWay
from pipeline.runtime.scene import SceneGeometry

__all__ = ["RULE_CLASSES", "FrameContext", "Rule", "ViolationCandidate", "build_rules"]

RULE_CLASSES: dict[str, Any] = {
    "red_light": RedLight,
    "no_stopping": NoStopping,
    "no_parking": NoParking,
    "overloaded_motorbike": OverloadedMotorbike,
    "speeding": Speeding,
    "restricted_lane": RestrictedLane,
    "stop_line": StopLine,
    "wrong_way": WrongWay,
}


def build_rules(camera: CameraConfig, geometry: SceneGeometry | None = None) -> list[Rule]:
    """One rule object per configured rule, sharing the camera's scene geometry."""
    geometry = geometry or SceneGeometry(camera.scene, camera.timezone)
    rules: list[Rule] = []
    for rule_config in camera.rules:
        try:
            rule_class = RULE_CLASSES[rule_config.type]
        except KeyError:
            raise ValueError(
                f"camera {camera.id!r}: rule type {rule_config.type!r} is not implemented"
            ) from None
        rules.append(rule_class(rule_config, geometry))
    return rules
