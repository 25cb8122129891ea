"""The command line: users, models listing, and clear errors for bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.store.db import open_database
from pipeline.store.users import authenticate

TRAFFICCAM = [sys.executable, "-m", "pipeline.cli"]


def trafficcam(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TRAFFICCAM, *args], input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "trafficcam.yaml"
    path.write_text(yaml.safe_dump({"database_url": "sqlite:///users.db"}))
    return path


def test_users_add_passwd_disable(config_path: Path) -> None:
    cfg = ["--config", str(config_path)]
    added = trafficcam(
        "users", "add", "lan", "--role", "police", *cfg, "--password-stdin", stdin="first-secret\n"
    )
    assert added.returncode == 0, added.stderr
    _, sessions = open_database(f"sqlite:///{config_path.parent / 'users.db'}")
    with sessions() as session:
        user = authenticate(session, "lan", "first-secret")
        assert user is not None and user.role == "police"

    again = trafficcam(
        "users", "add", "lan", "--role", "police", *cfg, "--password-stdin", stdin="first-secret\n"
    )
    assert again.returncode == 1 and "already exists" in again.stderr

    changed = trafficcam(
        "users", "passwd", "lan", *cfg, "--password-stdin", stdin="second-secret\n"
    )
    assert changed.returncode == 0, changed.stderr
    with sessions() as session:
        assert authenticate(session, "lan", "first-secret") is None
        assert authenticate(session, "lan", "second-secret") is not None

    assert trafficcam("users", "disable", "lan", *cfg).returncode == 0
    with sessions() as session:
        assert authenticate(session, "lan", "second-secret") is None


def test_users_add_refuses_bad_role_and_short_password(config_path: Path) -> None:
    bad_role = trafficcam("users", "add", "x", "--role", "chief", "--config", str(config_path))
    assert bad_role.returncode == 2 and "invalid choice: 'chief'" in bad_role.stderr
    short = trafficcam(
        "users",
        "add",
        "x",
        "--role",
        "analyst",
        "--config",
        str(config_path),
        "--password-stdin",
        stdin="short\n",
    )
    assert short.returncode == 1 and "at least 8 characters" in short.stderr


def test_models_list_names_the_registry() -> None:
    listed = trafficcam("models", "list")
    assert listed.returncode == 0
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert {"yolov3-tiny", "plate-yolov8n"} <= set(names)


def test_unknown_scenario_is_a_clear_error(tmp_path: Path) -> None:
    result = trafficcam("scenario", "red_lite", "--out", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "red_lite" in result.stderr and "red_light" in result.stderr


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    result = trafficcam("run", "--config", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1 and "nope.yaml: cannot read config" in result.stderr


def test_eval_names_a_missing_video(tmp_path: Path, config_path: Path) -> None:
    config_path.write_text(
        yaml.safe_dump(
            {
                "cameras": [
                    {
                        "id": "c",
                        "name": "c",
                        "location": {"text": "t", "lat": 0, "lon": 0},
                        "source": {"url": "v.mp4"},
                    }
                ]
            }
        )
    )
    truth = tmp_path / "truth.yaml"
    truth.write_text("violations: []\n")
    result = trafficcam(
        "eval",
        "--config",
        str(config_path),
        "--video",
        str(tmp_path / "no.mp4"),
        "--truth",
        str(truth),
    )
    assert result.returncode == 1 and "no.mp4 does not exist" in result.stderr
