"""Accuracy against known answers: run the pipeline over a video, match to a truth file.

A predicted violation matches a truth entry of the same rule when its offence
time (seconds from the start of the video) falls within
`[t_start - 1 s, t_end + 1 s]`; each truth entry matches at most one prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.config import AppConfig, ConfigError

MATCH_SLACK_S = 1.0


class TruthViolation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: str
    t_start: float = Field(ge=0)
    t_end: float = Field(ge=0)
    vehicle: str | None = None


class Truth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    violations: list[TruthViolation] = Field(default_factory=list)


def load_truth(path: Path) -> Truth:
    try:
        return Truth.model_validate(yaml.safe_load(path.read_text()) or {})
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read truth file: {exc.strerror or exc}") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{path}: not a valid truth file: {exc}") from None


@dataclass(frozen=True)
class Prediction:
    rule: str
    t: float
    vehicle: str


@dataclass
class RuleScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
        }


def score(predictions: list[Prediction], truth: Truth) -> dict[str, RuleScore]:
    """Greedy one-to-one matching in time order, per rule."""
    rules = sorted({p.rule for p in predictions} | {t.rule for t in truth.violations})
    scores: dict[str, RuleScore] = {}
    for rule in rules:
        wanted = sorted((t for t in truth.violations if t.rule == rule), key=lambda t: t.t_start)
        found = sorted((p for p in predictions if p.rule == rule), key=lambda p: p.t)
        used: set[int] = set()
        result = RuleScore()
        for prediction in found:
            match = next(
                (
                    i
                    for i, entry in enumerate(wanted)
                    if i not in used
                    and entry.t_start - MATCH_SLACK_S <= prediction.t <= entry.t_end + MATCH_SLACK_S
                ),
                None,
            )
            if match is None:
                result.fp += 1
            else:
                used.add(match)
                result.tp += 1
        result.fn = len(wanted) - len(used)
        scores[rule] = result
    return scores


def config_for_video(config: AppConfig, video: Path) -> AppConfig:
    """The config's first camera reading `video` once, as fast as possible."""
    if not config.cameras:
        raise ConfigError("the config has no cameras: eval needs one with a scene and rules")
    if not video.is_file():
        raise ConfigError(f"video {video} does not exist")
    camera = config.cameras[0]
    source = camera.source.model_copy(
        update={"url": str(video.resolve()), "loop": False, "realtime": False}
    )
    return config.model_copy(
        update={"cameras": [camera.model_copy(update={"source": source})], "kafka": None}
    )
