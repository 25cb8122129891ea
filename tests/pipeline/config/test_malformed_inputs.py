"""Malformed config and truth files: wrong types, huge values, unicode and path tricks
get a ConfigError naming the file and the field, never a traceback, and write nothing."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.config import ConfigError, load_config
from pipeline.evaluation.accuracy import load_truth
from tests.pipeline.config.test_config import camera


def _scene(**stop_line: Any) -> dict[str, Any]:
    line = {"points": [[0, 500], [1280, 500]], "junction_side": [640, 100]}
    line.update(stop_line)
    return {"stop_line": line, "signal_heads": [{"id": "main", "region": [1100, 40, 1160, 200]}]}


def _files(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"cameras": [camera(analysis_fps="ten")]}, "camera 'cam-1', field analysis_fps"),
        ({"cameras": [camera(analysis_fps=math.inf)]}, "camera 'cam-1', field analysis_fps"),
        ({"cameras": [camera(analysis_fps=10**30)]}, "camera 'cam-1', field analysis_fps"),
        ({"cameras": [camera(id="../../etc")]}, "field id: String should match pattern"),
        ({"cameras": [camera(id="cám-1")]}, "field id: String should match pattern"),
        ({"cameras": [camera(id="cam\x00")]}, "field id: String should match pattern"),
        ({"cameras": [camera(id="x" * 100_000)]}, "field id: String should have at most 64"),
        (
            {"cameras": [camera(scene=_scene(points=[[0, math.nan], [1280, 500]]))]},
            "field scene.stop_line.points.0.1: Input should be a finite number",
        ),
        (
            {"cameras": [camera(scene=_scene(points=[[0, math.inf], [1280, 500]]))]},
            "field scene.stop_line.points.0.1: Input should be a finite number",
        ),
        (
            {"cameras": [camera(scene=_scene(junction_side=[640, 1e300]))]},
            "field scene.stop_line.junction_side.1: Input should be less than or equal to 100000",
        ),
        ({"cameras": [camera(rules="red_light")]}, "field rules: Input should be a valid list"),
        ({"cameras": {"cam-1": camera()}}, "field cameras: Input should be a valid list"),
        ({"cameras": [camera(source={"url": [[1]]})]}, "field source.url"),
        ({"database_url": 5}, "field database_url"),
    ],
)
def test_bad_config_values_name_the_field(tmp_path: Path, data: dict[str, Any], expected: str):
    path = tmp_path / "trafficcam.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    before = _files(tmp_path)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)
    assert len(str(error.value)) < 2000  # a huge value is not echoed back whole
    assert _files(tmp_path) == before


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"cameras: [\xff\xfe]\n", "not UTF-8 text"),  # was a UnicodeDecodeError traceback
        (b"cameras: []\x00\n", "not valid YAML"),
        (b"- 1\n", "the top level must be a mapping"),
        (b"cameras: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
        (b"1: 2\n", "field 1"),
    ],
)
def test_unreadable_config_files_are_refused(tmp_path: Path, raw: bytes, expected: str) -> None:
    path = tmp_path / "trafficcam.yaml"
    path.write_bytes(raw)
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"rule": "red_light", "t_start": "soon", "t_end": 2}, "violations.0.t_start"),
        ({"rule": "red_light", "t_start": math.inf, "t_end": math.inf}, "violations.0.t_start"),
        ({"rule": "red_light", "t_start": math.nan, "t_end": 2}, "violations.0.t_start"),
        ({"rule": "red_light", "t_start": 1, "t_end": 1e300}, "violations.0.t_end"),
        ({"rule": "red_light", "t_start": 5, "t_end": 2}, "t_end 2.0 is before t_start 5.0"),
        ({"rule": "red_lihgt", "t_start": 1, "t_end": 2}, "unknown rule 'red_lihgt'"),
        ({"rule": "réd_light", "t_start": 1, "t_end": 2}, "violations.0.rule"),
        ({"rule": ["red_light"], "t_start": 1, "t_end": 2}, "violations.0.rule"),
        ({"rule": "red_light", "t_start": 1, "t_end": 2, "colour": 1}, "violations.0.colour"),
        ({"rule": "red_light", "t_start": 1, "t_end": 2, "vehicle": "v" * 1000}, "vehicle"),
    ],
)
def test_bad_truth_entries_name_the_field(
    tmp_path: Path, entry: dict[str, Any], expected: str
) -> None:
    path = tmp_path / "clip.truth.yaml"
    path.write_text(yaml.safe_dump({"violations": [entry]}, allow_unicode=True))
    with pytest.raises(ConfigError) as error:
        load_truth(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"violations: [\xff]\n", "not UTF-8 text"),  # was a UnicodeDecodeError traceback
        (b"- rule: red_light\n", "the top level must be a mapping"),
        (b"violations: {rule: red_light}\n", "field violations"),
        (b"violations: [}\n", "not a valid truth file"),
    ],
)
def test_unreadable_truth_files_are_refused(tmp_path: Path, raw: bytes, expected: str) -> None:
    path = tmp_path / "clip.truth.yaml"
    path.write_bytes(raw)
    with pytest.raises(ConfigError, match=expected):
        load_truth(path)


def test_a_good_truth_file_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "clip.truth.yaml"
    path.write_text("violations:\n  - {rule: red_light, t_start: 1, t_end: 2, vehicle: car}\n")
    assert load_truth(path).violations[0].t_end == 2
