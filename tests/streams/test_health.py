"""Camera health against real RTSP servers: outages, stalls, bad pictures, bad input."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from pipeline.events.broker import free_port
from streams.health import CameraHealth, HealthState, HealthThresholds, HealthTracker
from streams.source import StreamSource
from tests.fixtures.rtsp import RtspServerFactory
from tests.streams.helpers import wait_until

READ_TIMEOUT_S = 1.5
FAST = HealthThresholds(frozen_after_s=1.5, persist_s=0.5, stale_after_s=5.0)


def scene(seed: int, width: int = 320, height: int = 240) -> np.ndarray:
    """A street-like still: grey ground and random blocks (kerbs, cars, walls)."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 90, np.uint8)
    for _ in range(30):
        x, y = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
        w, h = int(rng.integers(10, width // 4)), int(rng.integers(10, height // 4))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(image, (x, y), (x + w, y + h), colour, -1)
    return image


def write_video(path: Path, frames: Iterator[np.ndarray], fps: int = 15) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(
            "libx264", rate=fps, options={"g": "15", "bf": "0", "tune": "zerolatency"}
        )
        for index, image in enumerate(frames):
            if index == 0:
                stream.height, stream.width = image.shape[:2]
                stream.pix_fmt = "yuv420p"
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def moving(background: np.ndarray, count: int = 45) -> Iterator[np.ndarray]:
    """A square driving across a fixed background, like traffic in front of the camera."""
    for index in range(count):
        image = background.copy()
        x = 10 + index * 5
        cv2.rectangle(image, (x, 150), (x + 30, 180), (0, 200, 60), -1)
        yield image


def still(image: np.ndarray, count: int = 45) -> Iterator[np.ndarray]:
    for _ in range(count):
        yield image


class Watch:
    """A source and its health tracker, sampled by the test as the worker would."""

    def __init__(self, url: str, thresholds: HealthThresholds = FAST, **options: float) -> None:
        kwargs: dict[str, float] = {"read_timeout_s": READ_TIMEOUT_S, "open_timeout_s": 1.5}
        kwargs.update(options)
        self.source = StreamSource("cam", url, analysis_fps=5, **kwargs)  # type: ignore[arg-type]
        self.tracker = HealthTracker("cam", analysis_fps=5, thresholds=thresholds)
        self.last: CameraHealth | None = None
        # Takes every frame, as the worker's analysis would; unread frames count as dropped.
        self._consumer = threading.Thread(target=self._consume, daemon=True)

    def start(self) -> None:
        self.source.start()
        self._consumer.start()

    def _consume(self) -> None:
        while not self.source.finished:
            self.source.read(timeout=0.5)

    def sample(self) -> CameraHealth:
        self.last, _ = self.tracker.update(
            self.source.stats,
            self.source.latest_frame,
            now=time.monotonic(),
            at=datetime.now(UTC),
        )
        return self.last

    def until(self, state: HealthState, timeout: float, problem: str = "") -> float:
        seen: list[tuple[str, str]] = []

        def reached() -> bool:
            health = self.sample()
            if not seen or seen[-1] != (health.state.value, health.reason):
                seen.append((health.state.value, health.reason))
            return health.state is state and problem in health.reason

        try:
            return wait_until(reached, timeout=timeout, interval=0.2)
        except AssertionError as missed:
            raise AssertionError(f"{missed}; states seen: {seen}") from None


@pytest.fixture
def watches() -> Iterator[list[Watch]]:
    created: list[Watch] = []
    yield created
    for watch in created:
        watch.source.stop()


def watch(watches: list[Watch], url: str, **options: object) -> Watch:
    item = Watch(url, **options)  # type: ignore[arg-type]
    item.start()
    watches.append(item)
    return item


def test_killed_camera_goes_offline_and_comes_back_while_the_others_carry_on(
    rtsp_server_factory: RtspServerFactory, tmp_path: Path, watches: list[Watch]
) -> None:
    video = write_video(tmp_path / "street.mp4", moving(scene(1)))
    servers = [rtsp_server_factory({"/cam": video}, loop=True) for _ in range(3)]
    cams = [watch(watches, server.url("/cam")) for server in servers]
    for cam in cams:
        cam.until(HealthState.ONLINE, timeout=10)

    seqs_before = [cam.source.latest_frame.seq for cam in cams[1:]]  # type: ignore[union-attr]
    servers[0].kill()
    went_offline = cams[0].until(HealthState.OFFLINE, timeout=2 * READ_TIMEOUT_S + 0.5)
    assert cams[0].last is not None and cams[0].last.reason
    for cam, before in zip(cams[1:], seqs_before, strict=True):
        assert cam.sample().state is HealthState.ONLINE
        # Their frames keep coming at 5 per second: a new one within a second.
        wait_until(lambda c=cam, b=before: c.source.latest_frame.seq > b, timeout=1.0)  # type: ignore[misc]

    time.sleep(2.0)
    rtsp_server_factory({"/cam": video}, port=servers[0].port, loop=True)
    came_back = cams[0].until(HealthState.ONLINE, timeout=5.0)
    assert went_offline <= 2 * READ_TIMEOUT_S + 0.5
    assert came_back < 5.0
    assert cams[0].source.stats.reconnects >= 1
    assert all(cam.source.stats.reconnects == 0 for cam in cams[1:])


def test_frozen_server_is_stalled_then_recovers(
    rtsp_server_factory: RtspServerFactory, tmp_path: Path, watches: list[Watch]
) -> None:
    video = write_video(tmp_path / "street.mp4", moving(scene(1)))
    server = rtsp_server_factory({"/cam": video}, loop=True)
    cam = watch(watches, server.url("/cam"))
    cam.until(HealthState.ONLINE, timeout=10)
    os.killpg(server.pid, signal.SIGSTOP)
    try:
        cam.until(HealthState.OFFLINE, timeout=2 * READ_TIMEOUT_S + 1, problem="no data")
    finally:
        os.killpg(server.pid, signal.SIGCONT)
    cam.until(HealthState.ONLINE, timeout=10)


@pytest.mark.parametrize(
    ("frames", "problem"),
    [
        (lambda: still(scene(3)), "frozen picture"),
        (lambda: still(np.zeros((240, 320, 3), np.uint8)), "black picture"),
        (lambda: still(np.full((240, 320, 3), 250, np.uint8)), "washed-out picture"),
    ],
    ids=["still", "black", "washed-out"],
)
def test_picture_problems_degrade_the_camera(
    rtsp_server_factory: RtspServerFactory,
    tmp_path: Path,
    watches: list[Watch],
    frames: object,
    problem: str,
) -> None:
    video = write_video(tmp_path / "picture.mp4", frames())  # type: ignore[operator]
    server = rtsp_server_factory({"/cam": video}, loop=True)
    cam = watch(watches, server.url("/cam"))
    cam.until(HealthState.DEGRADED, timeout=10, problem=problem)
    assert cam.source.stats.state == "online"  # frames do arrive: it is the picture


def test_swapped_scene_is_a_moved_view(
    rtsp_server_factory: RtspServerFactory, tmp_path: Path, watches: list[Watch]
) -> None:
    first = write_video(tmp_path / "a.mp4", moving(scene(1)))
    other = write_video(tmp_path / "b.mp4", moving(scene(2)))
    server = rtsp_server_factory({"/cam": first}, loop=True)
    cam = watch(watches, server.url("/cam"))
    wait_until(lambda: cam.source.latest_frame is not None, timeout=10)
    cam.tracker.set_reference(cam.source.latest_frame.image)  # type: ignore[union-attr]
    time.sleep(1.0)
    assert cam.sample().state is HealthState.ONLINE  # traffic in the same view is fine
    assert cam.last is not None and (cam.last.view_similarity or 0) > 0.5

    server.stop()
    rtsp_server_factory({"/cam": other}, port=server.port, loop=True)
    cam.until(HealthState.DEGRADED, timeout=15, problem="view moved")


@pytest.fixture
def garbage_port() -> Iterator[int]:
    """A TCP port that answers every connection with bytes that are no protocol at all."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        rng = np.random.default_rng(0)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.sendall(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    listener.close()


def test_bad_sources_report_clearly_without_crashing_or_spinning(
    rtsp_server_factory: RtspServerFactory,
    tmp_path: Path,
    watches: list[Watch],
    garbage_port: int,
) -> None:
    video = write_video(tmp_path / "street.mp4", moving(scene(1)))
    server = rtsp_server_factory({"/cam": video}, loop=True)
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("this is not a video\n" * 100)
    urls = {
        "unreachable": "rtsp://10.255.255.1:554/cam",
        "refused": f"rtsp://127.0.0.1:{free_port()}/cam",
        "bad mount": server.url("/no-such-mount"),
        "garbage": f"rtsp://127.0.0.1:{garbage_port}/cam",
        "http garbage": f"http://127.0.0.1:{garbage_port}/cam.mjpg",
    }
    cams = {name: watch(watches, url) for name, url in urls.items()}
    file_cam = watch(watches, str(not_video))
    cpu_before, wall_before = time.process_time(), time.monotonic()
    time.sleep(6.0)  # several reconnect rounds
    cpu = time.process_time() - cpu_before
    wall = time.monotonic() - wall_before
    for name, cam in cams.items():
        sample = cam.sample()
        assert sample.state is HealthState.OFFLINE, name
        assert sample.reason and sample.reason != "offline", name
        assert not cam.source.finished, name  # still trying
    file_sample = file_cam.sample()
    assert file_sample.state is HealthState.OFFLINE
    assert "InvalidDataError" in file_sample.reason or "Invalid data" in file_sample.reason
    assert file_cam.source.finished  # a broken file will not heal: no retrying
    assert cpu < 0.25 * wall, f"{cpu:.2f} s CPU in {wall:.1f} s while retrying"
