"""How well the signal reader agrees with a labelled signal timeline.

A labelled clip's `NAME.yaml` (see the footage labels' README) carries a
`signal_timeline`: each head's phases with their start and end times, written by
watching the clip frame by frame. The reader's phases are compared with it on
every analysed frame:

- The phase the reader reports on a frame may still be the old one while a new
  colour waits for confirmation; once confirmed, the new phase's `since` is the
  moment the colour was first seen. A frame is judged by the phase the reader
  settled on for that moment, i.e. each change is back-dated to its `since`, as
  the rules use it.
- Dark spells of an amber lamp are labelled amber; a reader that says unknown
  there disagrees.
- Spans labelled with a state that is no phase (a red-to-green blend frame) are
  not counted either way.

Example:
    >>> spans = [LabelledSpan("h1", "red", 0.0, 2.0), LabelledSpan("h1", "green", 2.0, 4.0)]
    >>> samples = [(t / 2, SignalState(Phase.RED, 0.0)) for t in range(4)]
    >>> samples += [(t / 2, SignalState(Phase.GREEN, 2.0)) for t in range(4, 8)]
    >>> agreement(samples, spans).share
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline.config import ConfigError
from pipeline.signals.image import Phase, SignalState

SCORED_STATES = frozenset(p.value for p in (Phase.RED, Phase.AMBER, Phase.GREEN))
"""Labelled states a reader can agree with; others (blend frames) are not scored."""


@dataclass(frozen=True)
class LabelledSpan:
    """One labelled phase of one head: `state` from `t_start` (inclusive) to `t_end`."""

    head: str
    state: str
    t_start: float
    t_end: float

    @property
    def scored(self) -> bool:
        return self.state in SCORED_STATES


@dataclass(frozen=True)
class Disagreement:
    """A run of consecutive frames where the reader's phase differs from the label."""

    t_start: float
    t_end: float
    expected: str
    read: str
    frames: int


@dataclass
class HeadAgreement:
    """Agreement of one head's readings with its labelled timeline."""

    head: str
    frames: int = 0
    """Frames inside a scored labelled span."""
    matched: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.matched / self.frames if self.frames else 1.0

    def as_dict(self) -> dict[str, object]:
        return {
            "head": self.head,
            "frames": self.frames,
            "matched": self.matched,
            "share": round(self.share, 4),
            "disagreements": [
                {
                    "t_start": round(d.t_start, 3),
                    "t_end": round(d.t_end, 3),
                    "expected": d.expected,
                    "read": d.read,
                    "frames": d.frames,
                }
                for d in self.disagreements
            ],
        }


def load_signal_timeline(label_yaml: Path) -> dict[str, list[LabelledSpan]]:
    """Each head's labelled spans from a clip's label file, in time order.

    Raises:
        ConfigError: naming the file and the entry, for an unreadable file or an
            entry without head, state, t_start and t_end.
    """
    try:
        data = yaml.safe_load(Path(label_yaml).read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"{label_yaml}: cannot read label file: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label_yaml}: not valid YAML: {exc}") from None
    scene = data.get("scene") if isinstance(data, dict) else None
    entries = scene.get("signal_timeline", []) if isinstance(scene, dict) else []
    if not isinstance(entries, list):
        raise ConfigError(f"{label_yaml}: scene.signal_timeline must be a list")
    timeline: dict[str, list[LabelledSpan]] = {}
    for index, entry in enumerate(entries):
        where = f"{label_yaml}: scene.signal_timeline.{index}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping with head, state, t_start, t_end")
        missing = [k for k in ("head", "state", "t_start", "t_end") if k not in entry]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        try:
            span = LabelledSpan(
                str(entry["head"]),
                str(entry["state"]),
                float(entry["t_start"]),
                float(entry["t_end"]),
            )
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: t_start and t_end must be numbers") from None
        if span.t_end < span.t_start:
            raise ConfigError(f"{where}: t_end {span.t_end} is before t_start {span.t_start}")
        timeline.setdefault(span.head, []).append(span)
    for spans in timeline.values():
        spans.sort(key=lambda s: s.t_start)
    return timeline


def settled_phases(samples: Sequence[tuple[float, SignalState]]) -> list[tuple[float, Phase]]:
    """The phase the reader settled on for each sampled frame.

    Each change of state is placed at its `since` (when the new colour was first
    seen), or at the frame itself for an unknown state, which has none. A change
    back-dated before an earlier one replaces it.
    """
    ordered = sorted(samples, key=lambda s: s[0])
    changes: list[tuple[float, Phase]] = []
    previous: SignalState | None = None
    for t, state in ordered:
        if previous is not None and (state.phase, state.since) == (previous.phase, previous.since):
            continue
        at = state.since if state.since is not None else t
        while changes and changes[-1][0] >= at:
            changes.pop()
        changes.append((at, state.phase))
        previous = state
    phases = []
    index = -1
    for t, _ in ordered:
        while index + 1 < len(changes) and changes[index + 1][0] <= t:
            index += 1
        phases.append((t, changes[index][1] if index >= 0 else Phase.UNKNOWN))
    return phases


def _span_at(spans: Sequence[LabelledSpan], t: float) -> LabelledSpan | None:
    for span in spans:
        if span.t_start <= t < span.t_end:
            return span
    # The last span's end is the clip's last frame: count that frame too.
    if spans and t == spans[-1].t_end:
        return spans[-1]
    return None


def agreement(
    samples: Sequence[tuple[float, SignalState]], spans: Sequence[LabelledSpan]
) -> HeadAgreement:
    """Share of sampled frames, inside scored labelled spans, whose settled phase
    matches the label.

    Args:
        samples: (stream time of the frame, the head's state the pipeline reported
            on it), one per analysed frame.
        spans: The head's labelled spans (`load_signal_timeline`).
    """
    result = HeadAgreement(spans[0].head if spans else "")
    run: list[tuple[float, str, str]] = []

    def close_run() -> None:
        if run:
            result.disagreements.append(
                Disagreement(run[0][0], run[-1][0], run[0][1], run[0][2], len(run))
            )
            run.clear()

    for t, phase in settled_phases(samples):
        span = _span_at(spans, t)
        if span is None or not span.scored:
            continue
        result.frames += 1
        if phase.value == span.state:
            result.matched += 1
            close_run()
            continue
        if run and (run[-1][1], run[-1][2]) != (span.state, phase.value):
            close_run()
        run.append((t, span.state, phase.value))
    close_run()
    return result
