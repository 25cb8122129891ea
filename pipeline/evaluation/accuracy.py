"""Accuracy against known answers: run the pipeline over a video, match to a truth file.

A predicted violation may match a truth entry of the same rule when its offence
time (seconds from the start of the video) falls within
`[t_start - 1 s, t_end + 1 s]`; each truth entry matches at most one prediction.
Where offences cluster (a queue jumping the light), windows overlap, so the
pairing is chosen as a whole: as many matches as possible, then the nearest in
time, with a vehicle class that agrees preferred. A first-come pairing could give a
prediction to the wrong neighbour and count a miss and a false alarm that are not.
Every miss and false alarm is kept with its time, so a person can look at the video
there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from scipy.optimize import linear_sum_assignment

from pipeline.config import AppConfig, ConfigError, RuleConfig

if TYPE_CHECKING:
    from models.detector import Detector
    from pipeline.runtime.camera_pipeline import SignalLog

MATCH_SLACK_S = 1.0
RULE_TYPES = tuple(rule.model_fields["type"].default for rule in get_args(get_args(RuleConfig)[0]))
"""The rule types a config can turn on; a truth entry naming another could never match."""
# About 115 days of video: a larger time is a unit mistake (milliseconds, a timestamp).
MAX_VIDEO_TIME_S = 1e7


class TruthViolation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: str = Field(max_length=40, description="The rule type, as in the config's rules.")
    t_start: float = Field(
        ge=0, le=MAX_VIDEO_TIME_S, allow_inf_nan=False, description="Offence start, video s."
    )
    t_end: float = Field(
        ge=0, le=MAX_VIDEO_TIME_S, allow_inf_nan=False, description="Offence end, video s."
    )
    vehicle: str | None = Field(default=None, max_length=40, description="Vehicle class.")

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, rule: str) -> str:
        if rule not in RULE_TYPES:
            raise ValueError(f"unknown rule {rule!r}; known: {', '.join(RULE_TYPES)}")
        return rule

    @model_validator(mode="after")
    def _ordered(self) -> TruthViolation:
        if self.t_end < self.t_start:
            raise ValueError(f"t_end {self.t_end} is before t_start {self.t_start}")
        return self


class Truth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    violations: list[TruthViolation] = Field(default_factory=list)


def load_truth(path: Path) -> Truth:
    """Read a truth file; any problem is a ConfigError naming the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read truth file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (offset {exc.start})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not a valid truth file: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a valid truth file: the top level must be a mapping")
    try:
        return Truth.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{path}: field {'.'.join(str(p) for p in error['loc']) or '(top level)'}: "
            + ("unknown key" if error["type"] == "extra_forbidden" else error["msg"])
            for error in exc.errors()
        ]
        raise ConfigError("\n".join(problems)) from None


@dataclass(frozen=True)
class Prediction:
    rule: str
    t: float
    vehicle: str
    explanation: str = ""
    track_id: int | None = None


@dataclass
class RuleScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[TruthViolation] = field(default_factory=list)
    """Truth entries no prediction matched, for a person to look at."""
    false_alarms: list[Prediction] = field(default_factory=list)
    """Predictions that matched no truth entry."""

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
            "misses": [
                {"t_start": m.t_start, "t_end": m.t_end, "vehicle": m.vehicle} for m in self.misses
            ],
            "false_alarms": [
                {
                    "t": round(p.t, 2),
                    "vehicle": p.vehicle,
                    "track_id": p.track_id,
                    "explanation": p.explanation,
                }
                for p in self.false_alarms
            ],
        }

    def report_lines(self, rule: str) -> list[str]:
        """One line per miss and false alarm, with times, for the console."""
        lines = [
            f"  miss        {rule}: {m.vehicle or 'vehicle'} expected "
            f"{m.t_start:.2f}-{m.t_end:.2f} s, not reported"
            for m in self.misses
        ]
        lines += [
            f"  false alarm {rule}: {p.vehicle} at {p.t:.2f} s"
            + (f" (track {p.track_id})" if p.track_id is not None else "")
            + (f": {p.explanation}" if p.explanation else "")
            for p in self.false_alarms
        ]
        return lines


_UNMATCHABLE = 1e6
"""Cost of a pair outside the time window: more than any set of real pairs."""
_OTHER_CLASS_COST = 0.5
"""Extra cost (in seconds' worth) of pairing a prediction with an entry of another class."""


def _pair_cost(prediction: Prediction, entry: TruthViolation) -> float:
    if not entry.t_start - MATCH_SLACK_S <= prediction.t <= entry.t_end + MATCH_SLACK_S:
        return _UNMATCHABLE
    outside = max(entry.t_start - prediction.t, prediction.t - entry.t_end, 0.0)
    other_class = entry.vehicle is not None and entry.vehicle != prediction.vehicle
    return outside + (_OTHER_CLASS_COST if other_class else 0.0)


def _matches(found: list[Prediction], wanted: list[TruthViolation]) -> dict[int, int]:
    """Prediction index -> truth index: the most pairs within their windows, then the
    least summed distance from the windows (an optimal assignment)."""
    if not found or not wanted:
        return {}
    costs = np.array([[_pair_cost(p, entry) for entry in wanted] for p in found])
    rows, cols = linear_sum_assignment(costs)
    return {int(r): int(c) for r, c in zip(rows, cols, strict=True) if costs[r, c] < _UNMATCHABLE}


def score(predictions: list[Prediction], truth: Truth) -> dict[str, RuleScore]:
    """One-to-one matching of predictions to truth entries, per rule (see the module)."""
    rules = sorted({p.rule for p in predictions} | {t.rule for t in truth.violations})
    scores: dict[str, RuleScore] = {}
    for rule in rules:
        wanted = sorted((t for t in truth.violations if t.rule == rule), key=lambda t: t.t_start)
        found = sorted((p for p in predictions if p.rule == rule), key=lambda p: p.t)
        pairs = _matches(found, wanted)
        result = RuleScore(tp=len(pairs), fp=len(found) - len(pairs))
        result.false_alarms = [p for i, p in enumerate(found) if i not in pairs]
        used = set(pairs.values())
        result.fn = len(wanted) - len(used)
        result.misses = [entry for i, entry in enumerate(wanted) if i not in used]
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


@dataclass
class ClipRun:
    """What one pass of the pipeline over a video found, and how long it took."""

    predictions: list[Prediction]
    frames: int
    """Frames analysed."""
    seconds: float
    """Wall-clock seconds of the run."""

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def run_clip(
    config: AppConfig, detector: Detector, *, signal_log: SignalLog | None = None
) -> ClipRun:
    """Run `config`'s cameras (from `config_for_video`) to the end of their video.

    Args:
        config: The config, its first camera reading the video once.
        detector: The detector the config names (built by the caller).
        signal_log: Optional recorder of every analysed frame's signal states.
    """
    # The worker pulls in video decoding; importing it here keeps scoring light.
    from pipeline.runtime.worker import CollectingSink, Worker

    sink = CollectingSink()
    stats = Worker(config, detector, sink, signal_log=signal_log).run()
    predictions = [
        Prediction(
            f.candidate.rule_type,
            f.candidate.offence_t,
            f.candidate.vehicle_class,
            f.candidate.explanation,
            f.candidate.track_id,
        )
        for f in sink.findings
    ]
    return ClipRun(predictions, stats.frames, stats.seconds)
