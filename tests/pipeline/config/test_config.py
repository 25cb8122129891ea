"""Config loading: good files load with resolved paths; bad ones name file, camera, field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.config import ConfigError, load_config


def camera(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "cam-1",
        "name": "Junction",
        "location": {"text": "Hang Bai", "lat": 21.02, "lon": 105.85},
        "source": {"url": "video.mp4"},
        "analysis_fps": 10,
        "scene": {
            "stop_line": {"points": [[0, 500], [1280, 500]], "junction_side": [640, 100]},
            "signal_heads": [{"id": "main", "region": [1100, 40, 1160, 200]}],
        },
        "rules": [{"type": "red_light"}],
    }
    entry.update(overrides)
    return entry


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "trafficcam.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_valid_config_resolves_relative_paths(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, {"database_url": "sqlite:///db.sqlite", "cameras": [camera()]})
    )
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'db.sqlite'}"
    assert config.cameras[0].source.url == str(tmp_path.resolve() / "video.mp4")
    assert config.evidence.path == tmp_path.resolve() / "evidence"
    assert len(config.cameras[0].scene_version) == 64


def test_scene_version_changes_with_the_scene(tmp_path: Path) -> None:
    a = load_config(write(tmp_path, {"cameras": [camera()]})).cameras[0]
    moved = camera()
    moved["scene"]["stop_line"]["points"] = [[0, 510], [1280, 510]]
    b = load_config(write(tmp_path, {"cameras": [moved]})).cameras[0]
    assert a.scene_version != b.scene_version


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"cameras": [camera(analysis_fsp=5)]}, "camera 'cam-1', field analysis_fsp: unknown key"),
        (
            {"cameras": [camera(source={"url": "rtps://10.0.0.1/stream"})]},
            "camera 'cam-1', field source.url",
        ),
        ({"cameras": [camera(source={"url": "rtsp:///stream"})]}, "has no host"),
        ({"databse_url": "sqlite:///x.db"}, "field databse_url: unknown key"),
        ({"kafka": {"bootstrap_servers": ["localhost"]}}, "field kafka.bootstrap_servers"),
        ({"cameras": [camera(), camera()]}, "used twice"),
        (
            {"cameras": [camera(rules=[{"type": "red_light", "signal_head": "east"}])]},
            "names signal head 'east'",
        ),
        ({"cameras": [camera(rules=[{"type": "red_lite"}])]}, "camera 'cam-1', field rules.0"),
    ],
)
def test_bad_config_names_file_camera_and_field(
    tmp_path: Path, data: dict[str, Any], expected: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert expected in message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (camera(analysis_fsp=5), "field analysis_fsp: unknown key"),
        (camera(source={"url": "ftp://10.0.0.1/x"}), "unsupported URL scheme 'ftp'"),
    ],
)
def test_run_with_bad_config_exits_1_with_message(
    tmp_path: Path, entry: dict[str, Any], expected: str
) -> None:
    path = write(tmp_path, {"cameras": [entry]})
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert expected in result.stderr
    assert "camera 'cam-1'" in result.stderr
    assert "Traceback" not in result.stderr
