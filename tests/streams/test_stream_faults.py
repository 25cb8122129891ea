"""StreamSource against a real RTSP server behind a misbehaving proxy: garbage on the
socket, the camera's clock jumping an hour either way, and a served file cut short.
Each time the source keeps running (no exception leaves a thread) and frames flow
again. bench/stream_faults.py runs a hundred such faults on several cameras."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.source import StreamSource
from streams.stats import SourceState
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.rtsp import RtspServerFactory, VideoFactory
from tests.streams.helpers import read_n, wait_until

READ_TIMEOUT_S = 2.0
# Generous for a loaded 2-core machine: the bench measures the real recovery times.
BACK_WITHIN_S = 20.0


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException | None]:
    errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    return errors


@pytest.fixture
def proxied(
    rtsp_server_factory: RtspServerFactory, h264_mp4_factory: VideoFactory
) -> Iterator[tuple[FaultProxy, Path]]:
    clip = h264_mp4_factory("clip.mp4", seconds=3, fps=25, width=320, height=240)
    server = rtsp_server_factory({"/cam": clip}, loop=True)
    proxy = FaultProxy(server.port)
    yield proxy, clip
    proxy.close()


def _source(proxy: FaultProxy) -> StreamSource:
    return StreamSource(
        "cam",
        f"rtsp://127.0.0.1:{proxy.port}/cam",
        analysis_fps=25,
        read_timeout_s=READ_TIMEOUT_S,
        open_timeout_s=READ_TIMEOUT_S,
    )


def test_garbage_on_the_socket_is_survived(
    proxied: tuple[FaultProxy, Path], thread_errors: list[BaseException | None]
) -> None:
    proxy, _ = proxied
    rng = random.Random(5)
    with _source(proxy) as source:
        read_n(source, 5)
        for _ in range(3):
            proxy.inject_garbage(rng.randbytes(4096))
            after = read_n(source, 5, deadline_s=BACK_WITHIN_S)
            assert len(after) == 5
    assert thread_errors == []


@pytest.mark.parametrize("jump_s", [3600.0, -3600.0])
def test_a_camera_clock_jump_does_not_stop_the_frames(
    proxied: tuple[FaultProxy, Path], thread_errors: list[BaseException | None], jump_s: float
) -> None:
    proxy, _ = proxied
    with _source(proxy) as source:
        before = read_n(source, 10)
        proxy.jump_clock(jump_s)
        after = read_n(source, 25, deadline_s=BACK_WITHIN_S)
    assert len(after) == 25
    seqs = [f.seq for f in before + after]
    assert all(b > a for a, b in zip(seqs, seqs[1:], strict=False))
    # Stream time stays monotonic whatever the camera's clock does.
    times = [f.pts for f in before + after]
    assert all(b >= a for a, b in zip(times, times[1:], strict=False))
    assert thread_errors == []


def test_a_truncated_file_then_restored_comes_back(
    proxied: tuple[FaultProxy, Path], thread_errors: list[BaseException | None]
) -> None:
    proxy, clip = proxied
    original = clip.read_bytes()
    with _source(proxy) as source:
        read_n(source, 5)
        with clip.open("r+b") as handle:
            handle.truncate(len(original) // 2)
        proxy.drop_connections()
        time.sleep(2.0)
        clip.write_bytes(original)
        restored = time.time()
        after = read_n(source, 5, deadline_s=BACK_WITHIN_S)
        last = source.stats.last_frame_wall_time
    assert len(after) == 5
    assert last is not None and last.timestamp() > restored
    assert thread_errors == []


def test_a_stream_that_delivered_retries_at_once_after_earlier_outages(
    rtsp_server_factory: RtspServerFactory,
    h264_mp4_factory: VideoFactory,
    thread_errors: list[BaseException | None],
) -> None:
    """The reconnect delay starts over once a connection delivers frames, even when that
    connection then fails with an error (a stall, garbage) rather than ending cleanly:
    before, a camera that had been down for a while waited its longest delay again."""
    clip = h264_mp4_factory("clip.mp4", seconds=3, fps=25, width=320, height=240)
    server = rtsp_server_factory({"/cam": clip}, loop=True)
    source = StreamSource(
        "cam",
        server.url("/cam"),
        analysis_fps=25,
        read_timeout_s=1.0,
        open_timeout_s=1.0,
        backoff_initial_s=0.25,
        backoff_max_s=8.0,
    )
    with source:
        read_n(source, 5)
        server.kill()
        time.sleep(8.0)  # refused attempts after 0.25, 0.5, 1, 2 and 4 s: the next waits 8 s
        server = rtsp_server_factory({"/cam": clip}, port=server.port, loop=True)
        assert len(read_n(source, 5, deadline_s=BACK_WITHIN_S)) == 5
        os.killpg(server.pid, signal.SIGSTOP)  # a stall: the read times out, an error
        try:
            wait_until(lambda: source.stats.state is SourceState.OFFLINE, timeout=5.0)
        finally:
            os.killpg(server.pid, signal.SIGCONT)
        resumed = time.monotonic()
        back = wait_until(lambda: source.stats.state is SourceState.ONLINE, timeout=15.0)
    assert source.stats.reconnects >= 2
    # 0.25 s of delay plus the reconnect, not 6.4 to 8 s.
    assert back < 4.0, f"back after {back:.1f} s"
    assert time.monotonic() - resumed < 15.0
    assert thread_errors == []


def test_a_dropped_connection_that_was_delivering_is_reopened_at_once(
    proxied: tuple[FaultProxy, Path], thread_errors: list[BaseException | None]
) -> None:
    """No backoff before the first retry of a connection that was delivering: with a
    5 s initial backoff the camera would be gone for at least 4 s."""
    proxy, _ = proxied
    source = StreamSource(
        "cam",
        f"rtsp://127.0.0.1:{proxy.port}/cam",
        analysis_fps=25,
        read_timeout_s=READ_TIMEOUT_S,
        open_timeout_s=READ_TIMEOUT_S,
        backoff_initial_s=5.0,
        backoff_max_s=5.0,
    )
    with source:
        read_n(source, 5)
        dropped = time.monotonic()
        proxy.drop_connections()
        wait_until(lambda: source.stats.reconnects >= 1, timeout=BACK_WITHIN_S)
        back = time.monotonic() - dropped
    assert back < 3.0, f"back after {back:.1f} s"
    assert thread_errors == []


class _LateDemux:
    """A container whose demuxer hands back a packet only after the read timeout, as
    FFmpeg does when its read is interrupted while it is lost in garbage."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def demux(self, _stream: object) -> Iterator[str]:
        yield "on time"
        time.sleep(self.delay_s)
        yield "late"


def test_a_packet_handed_back_only_after_the_read_timeout_counts_as_a_stall() -> None:
    source = StreamSource("cam", "rtsp://127.0.0.1:9/cam", analysis_fps=5, read_timeout_s=0.2)
    packets = source._packets(_LateDemux(0.25), None)  # type: ignore[arg-type]
    assert next(packets) == "on time"
    with pytest.raises(TimeoutError, match="no data for 0.2 s"):
        next(packets)
    on_time = source._packets(_LateDemux(0.05), None)  # type: ignore[arg-type]
    assert list(on_time) == ["on time", "late"]
