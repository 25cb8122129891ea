"""Fixtures for the review UI: a seeded SQLite database with real JPEG evidence,
and the real app served by uvicorn on 127.0.0.1 and a free port."""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import AppConfig, EvidenceConfig
from pipeline.events.broker import free_port
from pipeline.store import repository
from pipeline.store.camera_health import thumbnail_uri
from pipeline.store.db import open_database
from pipeline.store.models import Violation
from pipeline.store.repository import EvidenceFile
from pipeline.store.users import add_user
from review_ui.app import create_app
from tests.factories import make_violation

PASSWORD = "correct horse battery"
USERS = {
    "officer": "police",
    "deputy": "police",
    "chief": "admin",
    "watcher": "operator",
    "counter": "analyst",
}
IMAGE_KINDS = ("frame_before", "frame_after", "vehicle_crop", "overview")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@dataclass(frozen=True)
class Seed:
    config: AppConfig
    session_factory: sessionmaker[Session]
    evidence_root: Path
    violation_id: str
    other_violation_id: str


def _scene_jpeg(path: Path, *, width: int, height: int, label: str, seed: int) -> bytes:
    """A small synthetic street scene: grey road, white stop line, a box for the vehicle."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 90, np.uint8)
    image += rng.integers(0, 25, image.shape, dtype=np.uint8)
    cv2.line(image, (0, height * 2 // 3), (width, height * 2 // 3), (255, 255, 255), 4)
    top_left, bottom_right = (width // 3, height // 3), (width // 2, height * 3 // 4)
    cv2.rectangle(image, top_left, bottom_right, (30, 30, 200), -1)
    cv2.putText(image, label, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 0), 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path.read_bytes()


def _add_violation(
    db: Session, root: Path, violation_id: str, *, camera_id: str, minutes: int
) -> None:
    offence = datetime(2025, 3, 14, 1, 30, tzinfo=UTC) + timedelta(minutes=minutes)
    files = []
    for index, kind in enumerate(IMAGE_KINDS):
        uri = f"{violation_id}/{kind}.jpg"
        size = (160, 200) if kind == "vehicle_crop" else (640, 360)
        data = _scene_jpeg(
            root / uri, width=size[0], height=size[1], label=kind, seed=minutes * 10 + index
        )
        files.append(EvidenceFile(kind, uri, hashlib.sha256(data).hexdigest(), len(data)))
    violation = make_violation(
        id=violation_id,
        camera_id=camera_id,
        track_id=17 + minutes,
        offence_time=offence,
        measurements={"signal_phase": "red", "time_into_red_s": 3.2},
        explanation="Crossed the stop line 3.2 s after the signal turned red.",
        scene_version="abc123",
        plate="29A-123.45",
    )
    repository.record_violation(db, violation, files, [])


VIOLATION_ID = "11111111-1111-4111-8111-111111111111"
OTHER_VIOLATION_ID = "22222222-2222-4222-8222-222222222222"


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the seeded database and evidence once; argon2 makes each user cost ~0.2 s."""
    root = tmp_path_factory.mktemp("review-ui-template")
    engine, factory = open_database(f"sqlite:///{root / 'trafficcam.db'}")
    with factory() as db:
        repository.upsert_camera(
            db,
            camera_id="cam-1",
            name="Kim Ma - Nguyen Thai Hoc",
            location_text="Kim Ma x Nguyen Thai Hoc, Ba Dinh, Ha Noi",
            lat=21.0313,
            lon=105.8262,
        )
        db.flush()
        _add_violation(db, root / "evidence", VIOLATION_ID, camera_id="cam-1", minutes=0)
        _add_violation(db, root / "evidence", OTHER_VIOLATION_ID, camera_id="cam-1", minutes=5)
        for username, role in USERS.items():
            add_user(db, username, PASSWORD, role)
        db.commit()
    # Closing the last connection checkpoints the WAL, so the .db file alone is complete.
    engine.dispose()
    # A file in the evidence directory that no evidence row names: must never be served.
    (root / "evidence" / VIOLATION_ID / "unregistered.jpg").write_bytes(b"not evidence")
    # cam-1's newest-frame thumbnail, where the worker's health monitor keeps it.
    _scene_jpeg(
        root / "evidence" / thumbnail_uri("cam-1"), width=320, height=180, label="cam-1", seed=7
    )
    return root


@pytest.fixture
def seed(seeded_template: Path, tmp_path: Path) -> Iterator[Seed]:
    """A private copy of the seeded database and evidence for one test."""
    shutil.copy2(seeded_template / "trafficcam.db", tmp_path / "trafficcam.db")
    shutil.copytree(seeded_template / "evidence", tmp_path / "evidence")
    config = AppConfig(
        database_url=f"sqlite:///{tmp_path / 'trafficcam.db'}",
        evidence=EvidenceConfig(path=tmp_path / "evidence"),
    )
    engine, factory = open_database(config.database_url)
    yield Seed(config, factory, tmp_path / "evidence", VIOLATION_ID, OTHER_VIOLATION_ID)
    engine.dispose()


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: FastAPI


@pytest.fixture
def app(seed: Seed) -> FastAPI:
    return create_app(seed.config, session_factory=seed.session_factory)


@contextmanager
def serve(app: FastAPI) -> Iterator[LiveServer]:
    """Run `app` under uvicorn in a thread on a free port until the block ends."""
    port = free_port()
    uv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", app)
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def server(app: FastAPI) -> Iterator[LiveServer]:
    with serve(app) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=10) as http:
        yield http


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def log_in(http: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    """Log in through the real form: fetch it for the token, then post it."""
    page = http.get("/login")
    return http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
    )


def page_csrf(http: httpx.Client, path: str = "/violations") -> str:
    response = http.get(path)
    assert response.status_code == 200, response.text
    return csrf_from(response.text)


def add_plain_violation(
    db: Session,
    violation_id: str,
    *,
    offence: datetime,
    camera_id: str = "cam-1",
    rule_type: str = "red_light",
    vehicle_class: str = "motorbike",
    plate: str | None = "29A-123.45",
    status: str = "pending",
) -> Violation:
    """A violation row without evidence files, for queue and history tests."""
    violation = make_violation(
        id=violation_id,
        camera_id=camera_id,
        rule_type=rule_type,
        track_id=1,
        vehicle_class=vehicle_class,
        offence_time=offence,
        stream_time_s=1.0,
        first_evidence_time=offence,
        last_evidence_time=offence,
        measurements={},
        explanation="test",
        scene_version="v1",
        plate=plate,
        plate_confidence=0.9 if plate else None,
        status=status,
    )
    db.add(violation)
    return violation


def add_camera(db: Session, camera_id: str, name: str) -> None:
    repository.upsert_camera(
        db, camera_id=camera_id, name=name, location_text=f"{name}, Ha Noi", lat=21.0, lon=105.8
    )


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"review_ui-{name}.png"), full_page=True)
