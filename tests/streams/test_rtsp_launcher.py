"""The RTSP server launcher: readiness, failure reporting, clean shutdown."""

from __future__ import annotations

import os
from pathlib import Path

import av
import pytest

from streams.rtsp_launcher import RtspServerError, rtsp_server_available, start_rtsp_server
from streams.source import is_network_url, redact_url
from tests.fixtures.rtsp import RtspServerFactory, VideoFactory

# fpsprobesize=0: FFmpeg would otherwise read ~2 s of every stream to guess its rate.
CLIENT_OPTIONS = {"rtsp_transport": "tcp", "fpsprobesize": "0"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_server_is_available_here() -> None:
    assert rtsp_server_available()


def test_stop_ends_the_whole_process_group(
    rtsp_server_factory: RtspServerFactory, h264_mp4_factory: VideoFactory
) -> None:
    server = rtsp_server_factory({"/cam1": h264_mp4_factory()}, live_test=True)
    assert os.getpgid(server.pid) == server.pid  # its own group, so killpg is safe
    assert server.url("/cam1") == f"rtsp://127.0.0.1:{server.port}/cam1"
    server.stop()
    assert not server.running() and not _alive(server.pid)
    server.stop()  # idempotent


def test_missing_file_fails_with_the_servers_message(tmp_path: Path) -> None:
    with pytest.raises(RtspServerError, match="no such file"):
        start_rtsp_server({"/cam1": tmp_path / "missing.mp4"})


def test_busy_port_fails_clearly(
    rtsp_server_factory: RtspServerFactory, h264_mp4_factory: VideoFactory
) -> None:
    video = h264_mp4_factory()
    first = rtsp_server_factory({"/cam1": video})
    with pytest.raises(RtspServerError, match="cannot listen"):
        start_rtsp_server({"/cam1": video}, port=first.port)


@pytest.mark.parametrize(
    ("url", "network"),
    [
        ("rtsp://10.0.0.5/ch1", True),
        ("RTSP://10.0.0.5/ch1", True),
        ("https://cam.example/stream.m3u8", True),
        ("/data/clip.mp4", False),
        ("clip.mp4", False),
    ],
)
def test_network_urls_are_told_from_files(url: str, network: bool) -> None:
    assert is_network_url(url) is network


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("rtsp://admin:secret@10.0.0.5:554/ch1", "rtsp://admin:***@10.0.0.5:554/ch1"),
        ("rtsp://10.0.0.5/ch1", "rtsp://10.0.0.5/ch1"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_looping_mount_survives_many_clients_in_a_row(
    rtsp_server_factory: RtspServerFactory, h264_mp4_factory: VideoFactory
) -> None:
    # Every client of a looping mount gets a pipeline that seeks at preparation;
    # a PLAY answered before that seek settled used to abort the whole server.
    server = rtsp_server_factory({"/cam1": h264_mp4_factory(seconds=1)}, loop=True)
    for client in range(30):
        with av.open(server.url("/cam1"), options=CLIENT_OPTIONS, timeout=5) as stream:
            frame = next(stream.decode(video=0))
        assert frame.width == 320, f"client {client}"
        assert server.running(), f"the server died after client {client}:\n{server.output}"
