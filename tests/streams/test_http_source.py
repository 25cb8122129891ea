"""StreamSource over HTTP, against a real (in-process) HTTP file server."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from streams.source import StreamSource
from tests.fixtures.rtsp import VideoFactory
from tests.streams.helpers import read_n


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        pass


@pytest.fixture
def http_base_url(tmp_path: Path) -> Iterator[str]:
    """Serves the test's tmp dir on 127.0.0.1 and a free port."""
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_http_stream_delivers_and_reopens_at_its_end(
    h264_mp4_factory: VideoFactory, http_base_url: str
) -> None:
    h264_mp4_factory("clip.mp4", seconds=1, fps=25)
    with StreamSource("cam", f"{http_base_url}/clip.mp4", analysis_fps=25) as source:
        frames = read_n(source, 40)  # more than the file holds: it was reopened
        assert not source.finished
        stats = source.stats
    assert frames[0].image.shape == (240, 320, 3)
    assert stats.reconnects >= 1
    pts = [f.pts for f in frames]
    assert all(b > a for a, b in zip(pts, pts[1:], strict=False))
