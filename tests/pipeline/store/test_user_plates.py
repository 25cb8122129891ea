"""`trafficcam users plates NAME [--revoke]`: an analyst's permission to see plates whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from pipeline.store.db import open_database
from pipeline.store.repository import audit_log
from pipeline.store.users import add_user, find_user


def trafficcam(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_plate_access_is_granted_revoked_and_audited(tmp_path: Path) -> None:
    config = tmp_path / "trafficcam.yaml"
    config.write_text(yaml.safe_dump({"database_url": "sqlite:///users.db"}))
    engine, sessions = open_database(f"sqlite:///{tmp_path / 'users.db'}")
    with sessions.begin() as db:
        add_user(db, "counter", "correct horse battery", "analyst")
    cfg = ["--config", str(config)]

    def access() -> bool:
        with sessions() as db:
            user = find_user(db, "counter")
            assert user is not None
            return user.plate_access

    assert access() is False  # masked unless granted
    granted = trafficcam("users", "plates", "counter", *cfg)
    assert granted.returncode == 0, granted.stderr
    assert access() is True
    assert trafficcam("users", "plates", "counter", "--revoke", *cfg).returncode == 0
    assert access() is False
    missing = trafficcam("users", "plates", "nobody", *cfg)
    assert missing.returncode == 1 and "no user 'nobody'" in missing.stderr
    with sessions() as db:
        entries = audit_log(db, subject="user:counter")
    assert [(e.action, e.detail["allowed"]) for e in entries] == [
        ("user.plate_access", True),
        ("user.plate_access", False),
    ]
    engine.dispose()
