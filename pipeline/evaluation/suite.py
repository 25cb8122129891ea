"""Accuracy over a folder of labelled clips: `trafficcam eval --suite LABELS_DIR`.

A labels folder holds, per clip, `NAME.yaml` (the clip's file name under `clip:`,
its scene and each signal head's labelled `signal_timeline`) and `NAME.truth.yaml`
(the scored offences, in the format of `trafficcam eval --truth`; its first line
says which rules it labels, e.g. "Rules labelled in this file: red_light only").
The clips themselves sit in the labels folder's parent.

For each labelled clip the config is the one in the configs folder whose first
camera reads a file of the clip's name. The clip is run exactly as `trafficcam
eval` runs one video, with only the labelled rules on (findings of other rules
would be neither right nor wrong against this truth, and they cost time), and
scored per rule; every analysed frame's signal states are compared with the
labelled timeline of each head the config and the labels both name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.config import AppConfig, ConfigError, load_config
from pipeline.evaluation.accuracy import (
    RuleScore,
    Truth,
    config_for_video,
    load_truth,
    run_clip,
    score,
)
from pipeline.evaluation.signal_agreement import (
    HeadAgreement,
    LabelledSpan,
    agreement,
    load_signal_timeline,
)
from pipeline.signals.image import SignalState

if TYPE_CHECKING:
    from models.detector import Detector

log = logging.getLogger(__name__)

TRUTH_SUFFIX = ".truth.yaml"
_LABELLED_RULES = re.compile(r"rules labell?ed in this file:\s*(?P<rules>[^.\n]*)", re.IGNORECASE)


class _LabelHead(BaseModel):
    """The part of a clip's label file the suite needs besides its signal timeline."""

    model_config = ConfigDict(extra="ignore")
    clip: str = Field(min_length=1, description="File name of the clip, in the labels' parent.")


@dataclass(frozen=True)
class LabelledClip:
    """One clip's labels: where they are, the clip's name, truth and signal timeline."""

    name: str
    label_path: Path
    truth_path: Path
    clip: str
    truth: Truth
    rules: tuple[str, ...]
    """Rules the truth file labels (scored); the others are switched off."""
    timeline: dict[str, list[LabelledSpan]]


def labelled_rules(truth_path: Path, truth: Truth) -> tuple[str, ...]:
    """The rules a truth file labels: those its header names, plus any it lists.

    A header "Rules labelled in this file: red_light only" labels red_light even
    when the file lists no offence (a clip where nobody ran the red).
    """
    rules = {v.rule for v in truth.violations}
    text = truth_path.read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        match = _LABELLED_RULES.search(line)
        if match:
            named = re.sub(r"\bonly\b", "", match.group("rules"))
            rules |= {r for r in re.split(r"[\s,]+|\band\b", named) if r}
    return tuple(sorted(rules))


def load_labelled_clip(label_path: Path) -> LabelledClip:
    """Read `NAME.yaml` and `NAME.truth.yaml`.

    Raises:
        ConfigError: naming the file and the field that is missing or wrong.
    """
    try:
        data = yaml.safe_load(label_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{label_path}: cannot read label file: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label_path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{label_path}: expected a mapping with clip, scene, violations")
    try:
        head = _LabelHead.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(f"{label_path}: {problems}") from None
    truth_path = label_path.with_name(label_path.name.removesuffix(".yaml") + TRUTH_SUFFIX)
    truth = load_truth(truth_path)
    return LabelledClip(
        name=label_path.name.removesuffix(".yaml"),
        label_path=label_path,
        truth_path=truth_path,
        clip=head.clip,
        truth=truth,
        rules=labelled_rules(truth_path, truth),
        timeline=load_signal_timeline(label_path),
    )


def find_labelled_clips(labels_dir: Path) -> list[LabelledClip]:
    """Every `NAME.yaml` in `labels_dir` that has a `NAME.truth.yaml`, by name.

    Raises:
        ConfigError: when the folder is missing, or a label or truth file is bad.
    """
    if not labels_dir.is_dir():
        raise ConfigError(f"labels folder {labels_dir} does not exist")
    return [
        load_labelled_clip(path)
        for path in sorted(labels_dir.glob("*.yaml"))
        if not path.name.endswith(TRUTH_SUFFIX)
        and path.with_name(path.name.removesuffix(".yaml") + TRUTH_SUFFIX).is_file()
    ]


def _first_source_name(config_path: Path) -> str | None:
    """File name of the first camera's source, read without validating the config."""
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        url = data["cameras"][0]["source"]["url"]
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return None
    return Path(str(url)).name if isinstance(url, str) else None


def config_for_clip(configs_dir: Path, clip: str) -> Path | None:
    """The first config (by file name) whose first camera reads a file named `clip`."""
    for path in sorted(configs_dir.glob("*.yaml")) + sorted(configs_dir.glob("*.yml")):
        if _first_source_name(path) == clip:
            return path
    return None


def only_rules(config: AppConfig, rules: tuple[str, ...]) -> AppConfig:
    """`config` with only `rules` on for its first camera, and no plate reading."""
    camera = config.cameras[0]
    kept = [rule for rule in camera.rules if rule.type in rules]
    return config.model_copy(
        update={
            "cameras": [camera.model_copy(update={"rules": kept})],
            "plates": config.plates.model_copy(update={"enabled": False}),
        }
    )


@dataclass
class ClipResult:
    """One labelled clip's scores, or why it could not be run."""

    name: str
    clip: str
    config: Path | None = None
    problem: str | None = None
    """Why the clip was not run (no config for it, the clip is missing, ...)."""
    scores: dict[str, RuleScore] = field(default_factory=dict)
    heads: dict[str, HeadAgreement] = field(default_factory=dict)
    frames: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "clip": self.clip,
            "config": str(self.config) if self.config is not None else None,
            "problem": self.problem,
            "frames": self.frames,
            "seconds": round(self.seconds, 2),
            "rules": {rule: s.as_dict() for rule, s in self.scores.items()},
            "signal_agreement": {head: a.as_dict() for head, a in self.heads.items()},
        }


@dataclass
class SuiteResult:
    """Every labelled clip's result, and the totals over the clips that ran."""

    clips: list[ClipResult]

    def totals(self) -> dict[str, RuleScore]:
        out: dict[str, RuleScore] = {}
        for clip in self.clips:
            for rule, s in clip.scores.items():
                total = out.setdefault(rule, RuleScore())
                total.tp += s.tp
                total.fp += s.fp
                total.fn += s.fn
        return out

    def as_dict(self) -> dict[str, Any]:
        totals = self.totals()
        return {
            "clips": [clip.as_dict() for clip in self.clips],
            "total": {
                "rules": {
                    rule: {
                        "tp": s.tp,
                        "fp": s.fp,
                        "fn": s.fn,
                        "precision": round(s.precision, 4),
                        "recall": round(s.recall, 4),
                    }
                    for rule, s in totals.items()
                },
                "frames": sum(c.frames for c in self.clips),
                "seconds": round(sum(c.seconds for c in self.clips), 2),
                "clips_run": sum(1 for c in self.clips if c.problem is None),
                "clips_not_run": [c.name for c in self.clips if c.problem is not None],
            },
        }

    def report_lines(self) -> list[str]:
        """A table per clip and in total, then each clip's misses, false alarms and
        signal agreement, for the console."""
        header = (
            f"{'clip':36} {'rule':12} {'tp':>3} {'fp':>3} {'fn':>3} "
            f"{'precision':>9} {'recall':>6} {'frames':>6} {'seconds':>7}"
        )
        lines = [header]
        for clip in self.clips:
            if clip.problem is not None:
                lines.append(f"{clip.name:36} not run: {clip.problem}")
                continue
            for rule, s in clip.scores.items():
                lines.append(
                    f"{clip.name:36} {rule:12} {s.tp:3} {s.fp:3} {s.fn:3} "
                    f"{s.precision:9.3f} {s.recall:6.3f} {clip.frames:6} {clip.seconds:7.1f}"
                )
        for rule, s in self.totals().items():
            lines.append(
                f"{'total':36} {rule:12} {s.tp:3} {s.fp:3} {s.fn:3} "
                f"{s.precision:9.3f} {s.recall:6.3f} "
                f"{sum(c.frames for c in self.clips):6} {sum(c.seconds for c in self.clips):7.1f}"
            )
        for clip in self.clips:
            if clip.problem is not None:
                continue
            lines.append(f"{clip.name} ({clip.config}):")
            for head, a in clip.heads.items():
                lines.append(
                    f"  signal {head}: {a.matched}/{a.frames} frames agree ({100 * a.share:.1f} %)"
                )
                lines += [
                    f"    {d.t_start:.2f}-{d.t_end:.2f} s: read {d.read}, labelled {d.expected} "
                    f"({d.frames} frames)"
                    for d in a.disagreements
                ]
            for rule, s in clip.scores.items():
                lines += s.report_lines(rule)
        return lines


def evaluate_clip(
    labelled: LabelledClip,
    labels_dir: Path,
    configs_dir: Path,
    detector_for: Callable[[AppConfig], Detector],
) -> ClipResult:
    """Run one labelled clip with its config and score it."""
    result = ClipResult(labelled.name, labelled.clip)
    result.config = config_for_clip(configs_dir, labelled.clip)
    if result.config is None:
        result.problem = f"no config in {configs_dir} whose first camera reads {labelled.clip}"
        return result
    config = load_config(result.config)
    # The clip sits beside the labels folder; the config's own path is the fallback.
    video = labels_dir.parent / labelled.clip
    if not video.is_file():
        video = Path(config.cameras[0].source.url)
    if not video.is_file():
        result.problem = f"clip {labelled.clip} not found beside {labels_dir} nor at {video}"
        return result
    config = only_rules(config_for_video(config, video), labelled.rules)
    missing = [
        r for r in labelled.rules if r not in {rule.type for rule in config.cameras[0].rules}
    ]
    if missing:
        # Scored anyway: every labelled offence of a rule the camera does not check is a miss.
        log.warning("%s: config %s has no %s rule", labelled.name, result.config, missing)

    samples: dict[str, list[tuple[float, SignalState]]] = {}
    compared = [h.id for h in config.cameras[0].scene.signal_heads if h.id in labelled.timeline]

    def record(_camera_id: str, t: float, states: Mapping[str, SignalState]) -> None:
        for head in compared:
            state = states.get(head)
            if state is not None:
                samples.setdefault(head, []).append((t, state))

    run = run_clip(config, detector_for(config), signal_log=record)
    scores = score([p for p in run.predictions if p.rule in labelled.rules], labelled.truth)
    result.scores = {rule: scores.get(rule, RuleScore()) for rule in labelled.rules}
    result.heads = {
        head: agreement(samples.get(head, []), labelled.timeline[head]) for head in compared
    }
    result.frames, result.seconds = run.frames, run.seconds
    return result


def run_suite(
    labels_dir: Path,
    configs_dir: Path,
    detector_for: Callable[[AppConfig], Detector],
) -> SuiteResult:
    """Evaluate every labelled clip in `labels_dir` with its config from `configs_dir`.

    Every label and truth file is read before any clip runs, so a bad one stops
    the suite at once with the file and field named.

    Args:
        labels_dir: Folder of `NAME.yaml` + `NAME.truth.yaml`; the clips are in its parent.
        configs_dir: Folder of camera configs.
        detector_for: Builds the detector a config names; one per distinct
            detector section is built and reused.

    Raises:
        ConfigError: for a missing folder or a bad label, truth or matched config file.
    """
    if not configs_dir.is_dir():
        raise ConfigError(f"configs folder {configs_dir} does not exist")
    labelled = find_labelled_clips(labels_dir)
    detectors: dict[str, Detector] = {}

    def detector(config: AppConfig) -> Detector:
        key = config.detector.model_dump_json()
        if key not in detectors:
            detectors[key] = detector_for(config)
        return detectors[key]

    results = []
    for clip in labelled:
        log.info("eval suite: %s", clip.name)
        results.append(evaluate_clip(clip, labels_dir, configs_dir, detector))
    return SuiteResult(results)
