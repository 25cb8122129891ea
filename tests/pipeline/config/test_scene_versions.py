"""Scene versions: the scene each violation was judged under is kept, on both databases."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import parse_config
from pipeline.store.db import open_database
from pipeline.store.models import SceneVersion
from pipeline.store.repository import register_cameras

CONFIG = Path(__file__).parents[1] / "scene_configs" / "kerbside_street.yaml"


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = open_database(database_url)
    try:
        yield factory
    finally:
        engine.dispose()


def test_each_scene_is_kept_once_under_its_version(sessions: sessionmaker[Session]) -> None:
    data = yaml.safe_load(CONFIG.read_text())
    first = parse_config(data).cameras[0]
    data["cameras"][0]["scene"]["zones"][0]["max_dwell_s"] = 8
    second = parse_config(data).cameras[0]
    assert first.scene_version != second.scene_version

    for camera in (first, first, second):  # a restart registers the same scene again
        with sessions.begin() as session:
            register_cameras(session, [camera])

    with sessions() as session:
        rows = {r.version: r for r in session.scalars(select(SceneVersion)).all()}
        assert set(rows) == {first.scene_version, second.scene_version}
        for row in rows.values():
            # The stored scene is exactly what the version hashes.
            canonical = json.dumps(row.scene, sort_keys=True, separators=(",", ":"))
            assert hashlib.sha256(canonical.encode()).hexdigest() == row.version
        assert rows[second.scene_version].scene["scene"]["zones"][0]["max_dwell_s"] == 8
