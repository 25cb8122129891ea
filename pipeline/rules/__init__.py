"""Rule registry: the config's `type` discriminator picks the rule class."""

from __future__ import annotations

from pipeline.config import CameraConfig
from pipeline.rules.base import FrameContext, Rule, ViolationCandidate
from pipeline.rules.red_light import RedLight

__all__ = ["FrameContext", "Rule", "ViolationCandidate", "build_rules"]


def build_rules(camera: CameraConfig) -> list[Rule]:
    rules: list[Rule] = []
    for rule_config in camera.rules:
        if rule_config.type == "red_light":
            rules.append(RedLight(rule_config, camera.scene))
    return rules
