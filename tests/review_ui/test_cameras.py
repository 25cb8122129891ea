"""The operators' camera-health page against a real RTSP camera and the worker's monitor."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from pipeline.config import parse_config
from pipeline.ops.health import HealthMonitor
from pipeline.runtime.worker import open_source
from pipeline.store.db import open_database
from pipeline.store.users import add_user
from review_ui.app import create_app
from streams.source import StreamSource
from tests.fixtures.rtsp import RtspServerFactory, VideoFactory
from tests.review_ui.conftest import PASSWORD, serve, shot

pytestmark = pytest.mark.browser

# Generous waits: the page changes as soon as the monitor stores the change (a read
# timeout, 1.5 s, plus a tick); the limit only bounds a broken run.
CHANGE_TIMEOUT_MS = 30_000


class Worker:
    """The worker's health part: the camera's source, a reader and the monitor's ticks."""

    def __init__(self, source: StreamSource, monitor: HealthMonitor) -> None:
        self.source = source
        self.monitor = monitor
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._tick, daemon=True),
        ]

    def _read(self) -> None:
        # Frames not taken would count as "analysis behind" and degrade the camera.
        while not self.stopping.is_set():
            self.source.read(0.5)

    def _tick(self) -> None:
        while not self.stopping.wait(0.5):
            self.monitor.tick()

    def start(self) -> None:
        self.source.start()
        self.monitor.attach({self.source.camera_id: self.source})
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.source.stop()


def test_operator_sees_a_camera_go_offline_and_come_back(
    chromium: Browser,
    rtsp_server_factory: RtspServerFactory,
    h264_mp4_factory: VideoFactory,
    tmp_path: Path,
) -> None:
    video = h264_mp4_factory("street.mp4", seconds=2, fps=15)
    server = rtsp_server_factory({"/cam": video}, loop=True)
    database_url = f"sqlite:///{tmp_path / 'trafficcam.db'}"
    config = parse_config(
        {
            "database_url": database_url,
            "evidence": {"path": str(tmp_path / "evidence")},
            # The test video is synthetic noise: picture checks wait longer than the test runs.
            "health": {"sample_every_s": 1, "persist_s": 60, "frozen_after_s": 60},
            "cameras": [
                {
                    "id": "kim-ma",
                    "name": "Kim Ma - Nguyen Thai Hoc",
                    "location": {"text": "Kim Ma x Nguyen Thai Hoc", "lat": 21.03, "lon": 105.82},
                    "source": {
                        "url": server.url("/cam"),
                        "read_timeout_s": 1.5,
                        "open_timeout_s": 1.5,
                    },
                }
            ],
        },
        base=tmp_path,
    )
    engine, sessions = open_database(config.database_url)
    with sessions.begin() as db:
        add_user(db, "watcher", PASSWORD, "operator")
    worker = Worker(open_source(config.cameras[0]), HealthMonitor(config, sessions))
    worker.start()
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        with serve(create_app(config, session_factory=sessions)) as live:
            page = context.new_page()
            page.goto(f"{live.url}/language/en")
            page.goto(f"{live.url}/login")
            page.fill("input[name=username]", "watcher")
            page.fill("input[name=password]", PASSWORD)
            page.click("form[action='/login'] button[type=submit]")
            page.click("#nav-cameras")
            row = page.locator("table.cameras tr[data-camera-id='kim-ma']")
            expect(row).to_have_attribute("data-state", "online", timeout=CHANGE_TIMEOUT_MS)
            # The newest frame's thumbnail, from the monitor through the thumbnail route.
            page.wait_for_function(
                """() => {
                    const img = document.querySelector(
                        "table.cameras tr[data-camera-id='kim-ma'] img.camera-thumb");
                    return img !== null && img.complete && img.naturalWidth > 0;
                }""",
                timeout=CHANGE_TIMEOUT_MS,
            )
            expect(row.locator(".camera-thumb-age")).to_contain_text(" s")
            shot(page, "cameras-online")

            server.kill()
            # No reload: the page refreshes itself.
            expect(row).to_have_attribute("data-state", "offline", timeout=CHANGE_TIMEOUT_MS)
            alerts = page.locator("table.alerts tr[data-camera-id='kim-ma'][data-state='offline']")
            expect(alerts.first).to_be_visible()
            shot(page, "cameras-offline")

            rtsp_server_factory({"/cam": video}, port=server.port, loop=True)
            expect(row).to_have_attribute("data-state", "online", timeout=CHANGE_TIMEOUT_MS)
            shot(page, "cameras-back-online")
    finally:
        context.close()
        worker.stop()
        engine.dispose()
