"""Signal reader agreement with a labelled timeline (pipeline.evaluation.signal_agreement)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import ConfigError
from pipeline.evaluation.signal_agreement import (
    LabelledSpan,
    agreement,
    load_signal_timeline,
    settled_phases,
)
from pipeline.signals.image import Phase, SignalState

FPS = 10


def _frames(t0: float, t1: float) -> list[float]:
    return [round(i / FPS, 3) for i in range(int(t0 * FPS), int(t1 * FPS))]


def test_a_change_is_back_dated_to_when_the_colour_was_first_seen() -> None:
    # The reader confirms green two frames late; the change counts from its `since`.
    samples = [(t, SignalState(Phase.RED, 0.0)) for t in _frames(0, 2.2)]
    samples += [(t, SignalState(Phase.GREEN, 2.0)) for t in _frames(2.2, 4)]
    phases = dict(settled_phases(samples))
    assert phases[1.9] is Phase.RED
    assert phases[2.0] is Phase.GREEN and phases[2.1] is Phase.GREEN
    spans = [LabelledSpan("h1", "red", 0, 2.0), LabelledSpan("h1", "green", 2.0, 4.0)]
    assert agreement(samples, spans).share == 1.0


def test_unknown_spells_and_wrong_phases_count_against_the_reader() -> None:
    samples = [(t, SignalState(Phase.RED, 0.0)) for t in _frames(0, 1)]
    samples += [(t, SignalState(Phase.UNKNOWN, None)) for t in _frames(1, 1.5)]
    samples += [(t, SignalState(Phase.GREEN, 1.5)) for t in _frames(1.5, 2)]
    spans = [LabelledSpan("h1", "red", 0, 1.0), LabelledSpan("h1", "amber", 1.0, 2.0)]
    result = agreement(samples, spans)
    assert (result.frames, result.matched) == (20, 10)
    assert result.share == pytest.approx(0.5)
    # Two runs: unknown where amber was labelled, then green where amber was labelled.
    assert [(d.expected, d.read, d.frames) for d in result.disagreements] == [
        ("amber", "unknown", 5),
        ("amber", "green", 5),
    ]


def test_unscored_spans_and_frames_outside_the_timeline_are_not_counted() -> None:
    samples = [(t, SignalState(Phase.RED, 0.0)) for t in _frames(0, 3)]
    spans = [
        LabelledSpan("h1", "red", 0.5, 1.0),
        LabelledSpan("h1", "red_to_green_transition", 1.0, 2.0),
    ]
    result = agreement(samples, spans)
    assert result.frames == 5 and result.share == 1.0


def test_load_signal_timeline_groups_heads_in_time_order(tmp_path: Path) -> None:
    label = tmp_path / "clip.yaml"
    label.write_text(
        "scene:\n  signal_timeline:\n"
        "    - {head: h1, state: green, t_start: 5, t_end: 9}\n"
        "    - {head: h1, state: red, t_start: 0, t_end: 5}\n"
        "    - {head: h2, state: red, t_start: 0, t_end: 9}\n"
    )
    timeline = load_signal_timeline(label)
    assert [s.state for s in timeline["h1"]] == ["red", "green"]
    assert [s.head for s in timeline["h2"]] == ["h2"]


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ("{head: h1, state: red, t_start: 0}", "missing t_end"),
        ("{head: h1, state: red, t_start: x, t_end: 2}", "must be numbers"),
        ("{head: h1, state: red, t_start: 3, t_end: 2}", "before t_start"),
    ],
)
def test_a_bad_timeline_entry_names_the_file_and_entry(
    tmp_path: Path, entry: str, named: str
) -> None:
    label = tmp_path / "clip.yaml"
    label.write_text(f"scene:\n  signal_timeline:\n    - {entry}\n")
    with pytest.raises(ConfigError, match=rf"clip.yaml: scene.signal_timeline.0: .*{named}"):
        load_signal_timeline(label)
