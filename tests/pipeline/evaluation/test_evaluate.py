"""Scoring predictions against a truth file: the +-1 s window, one-to-one matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import ConfigError
from pipeline.evaluation.accuracy import Prediction, Truth, TruthViolation, load_truth, score


def truth(*windows: tuple[float, float]) -> Truth:
    return Truth(
        violations=[TruthViolation(rule="red_light", t_start=a, t_end=b) for a, b in windows]
    )


def test_window_is_widened_by_one_second_each_side() -> None:
    t = truth((10.0, 11.0))
    assert score([Prediction("red_light", 9.1, "car")], t)["red_light"].tp == 1
    assert score([Prediction("red_light", 11.9, "car")], t)["red_light"].tp == 1
    s = score([Prediction("red_light", 12.2, "car")], t)["red_light"]
    assert (s.tp, s.fp, s.fn) == (0, 1, 1)


def test_matching_is_one_to_one() -> None:
    s = score(
        [Prediction("red_light", 10.2, "car"), Prediction("red_light", 10.4, "car")],
        truth((10.0, 11.0)),
    )["red_light"]
    assert (s.tp, s.fp, s.fn) == (1, 1, 0)
    assert s.precision == 0.5 and s.recall == 1.0


def test_overlapping_windows_are_paired_as_a_whole() -> None:
    # A queue jumping the light: first-come pairing would give the 38.2 s prediction
    # to the long first window and leave the 40.8 s one, which fits only that, unpaired.
    t = truth((38.5, 40.0), (39.0, 39.3))
    found = [Prediction("red_light", 38.2, "car"), Prediction("red_light", 40.8, "car")]
    s = score(found, t)["red_light"]
    assert (s.tp, s.fp, s.fn) == (2, 0, 0)


def test_a_prediction_goes_to_the_entry_of_its_own_class_where_both_fit() -> None:
    t = Truth(
        violations=[
            TruthViolation(rule="red_light", t_start=40.0, t_end=40.7, vehicle="car"),
            TruthViolation(rule="red_light", t_start=40.9, t_end=41.5, vehicle="motorbike"),
        ]
    )
    s = score([Prediction("red_light", 40.8, "motorbike")], t)["red_light"]
    assert s.tp == 1 and [m.vehicle for m in s.misses] == ["car"]


def test_rules_are_scored_apart() -> None:
    scores = score([Prediction("speeding", 10.2, "car")], truth((10.0, 11.0)))
    assert scores["red_light"].fn == 1 and scores["speeding"].fp == 1


def test_truth_file_with_unknown_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "truth.yaml"
    path.write_text("violations:\n  - {rule: red_light, t_start: 1, t_end: 2, colour: red}\n")
    with pytest.raises(ConfigError, match="truth.yaml"):
        load_truth(path)
    path.write_text("violations:\n  - {rule: red_light, t_start: 1, t_end: 2, vehicle: car}\n")
    assert load_truth(path).violations[0].vehicle == "car"


def test_misses_and_false_alarms_are_listed_with_their_times() -> None:
    alarm = Prediction("red_light", 30.5, "bus", "bus crossed the stop line 2.0 s after red", 7)
    s = score([Prediction("red_light", 10.2, "car"), alarm], truth((10.0, 11.0), (20.0, 21.0)))[
        "red_light"
    ]
    assert [(m.t_start, m.t_end) for m in s.misses] == [(20.0, 21.0)]
    assert s.false_alarms == [alarm]
    report = s.as_dict()
    assert report["misses"] == [{"t_start": 20.0, "t_end": 21.0, "vehicle": None}]
    assert report["false_alarms"][0]["t"] == 30.5
    assert report["false_alarms"][0]["track_id"] == 7
    lines = s.report_lines("red_light")
    assert any("miss" in line and "20.00-21.00 s" in line for line in lines)
    assert any("false alarm" in line and "30.50 s" in line and "track 7" in line for line in lines)
