"""Packet ring buffer: clips by stream copy from files and from a live RTSP camera."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from streams.ringbuffer import ClipError, PacketRing
from streams.source import StreamSource
from tests.fixtures.rtsp import RtspServerFactory, VideoFactory
from tests.streams.helpers import read_all, read_n, wait_until

FPS = 15
GOP = 15  # one keyframe a second, like many city cameras


def decode_clip(path: Path) -> list[np.ndarray]:
    """Every frame of a clip; raises if any packet fails to decode."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def frame_index(image: np.ndarray) -> int:
    """The counter the synthetic videos paint into their top-left block (mod 32)."""
    return round(float(image[:16, :16].mean()) / 8) % 32


def test_ring_keeps_ten_seconds_of_720p_in_a_few_megabytes(
    h264_mp4_factory: VideoFactory,
) -> None:
    video = h264_mp4_factory("hd.mp4", seconds=14, fps=FPS, width=1280, height=720, gop=GOP)
    with StreamSource("cam", str(video), analysis_fps=1, buffer_seconds=10.0) as source:
        read_all(source)
        assert source.ring is not None
        span = source.ring.span
        held = source.ring.nbytes
    assert span is not None
    oldest, newest = span
    # Whole GOPs are kept, so the history reaches back at least 10 s and at most one GOP more.
    assert 10.0 <= newest - oldest <= 10.0 + GOP / FPS + 1e-6
    decoded_equivalent = (newest - oldest) * FPS * 1280 * 720 * 3
    assert held < 8 * 2**20
    assert held * 50 < decoded_equivalent


def test_clip_from_a_file_starts_at_a_keyframe_and_decodes(
    h264_mp4_factory: VideoFactory, tmp_path: Path
) -> None:
    video = h264_mp4_factory("clip.mp4", seconds=6, fps=FPS, gop=GOP)
    with StreamSource("cam", str(video), analysis_fps=FPS, buffer_seconds=10.0) as source:
        read_all(source)
        clip = source.clip(2.5, 4.0, tmp_path / "event.mp4").result(timeout=10)
    frames = decode_clip(clip.path)
    assert clip.complete
    assert 2.5 - GOP / FPS <= clip.t_start <= 2.5
    assert clip.t_end >= 4.0 - 1 / FPS
    assert len(frames) == clip.packets
    indices = [frame_index(f) for f in frames]
    assert all((b - a) % 32 == 1 for a, b in zip(indices, indices[1:], strict=False))
    assert indices[0] == round(clip.t_start * FPS) % 32  # the keyframe at 2 s: frame 30


def test_clip_of_a_span_no_longer_buffered_fails_clearly(
    h264_mp4_factory: VideoFactory, tmp_path: Path
) -> None:
    video = h264_mp4_factory("clip.mp4", seconds=6, fps=FPS, gop=GOP)
    with StreamSource("cam", str(video), analysis_fps=5, buffer_seconds=2.0) as source:
        read_all(source)
        with pytest.raises(ClipError, match="nothing buffered"):
            source.clip(0.0, 1.0, tmp_path / "old.mp4").result(timeout=10)


def test_clip_waits_for_its_end_without_blocking_the_reader(
    rtsp_server_factory: RtspServerFactory, h264_mp4_factory: VideoFactory, tmp_path: Path
) -> None:
    video = h264_mp4_factory("live.mp4", seconds=4, fps=FPS, width=640, height=360, gop=GOP)
    server = rtsp_server_factory({"/cam": video}, loop=True)
    with StreamSource("cam", server.url("/cam"), analysis_fps=FPS, read_timeout_s=3) as source:
        frames = read_n(source, 3 * FPS)  # three seconds of history
        event_t = frames[-1].pts
        future = source.clip(event_t - 2.0, event_t + 2.0, tmp_path / "event.mp4")
        assert not future.done()  # its end has not happened yet
        after = read_n(source, FPS)  # frames keep coming while the clip waits
        clip = future.result(timeout=10)
        assert source.stats.state == "online"
    frames_in_clip = decode_clip(clip.path)
    # It waited for the span to pass (not done when asked; ends past the span). A
    # wall-clock bound would be wrong: a reader that fell behind catches up faster
    # than real time.
    assert after[-1].pts > event_t
    assert clip.complete
    assert event_t - 2.0 - GOP / FPS <= clip.t_start <= event_t - 2.0
    assert clip.t_end >= event_t + 2.0 - 1 / FPS
    assert len(frames_in_clip) == clip.packets
    assert frames_in_clip[0].shape == (360, 640, 3)
    # About (t_end - t_start) * fps frames: nothing lost in the copy.
    assert abs(len(frames_in_clip) - (clip.t_end - clip.t_start) * FPS - 1) <= 2


def test_clip_is_written_when_the_stream_is_lost_before_its_end(
    rtsp_server_factory: RtspServerFactory, h264_mp4_factory: VideoFactory, tmp_path: Path
) -> None:
    video = h264_mp4_factory("live.mp4", seconds=4, fps=FPS, gop=GOP)
    server = rtsp_server_factory({"/cam": video}, loop=True)
    with StreamSource("cam", server.url("/cam"), analysis_fps=FPS, read_timeout_s=1) as source:
        frames = read_n(source, 2 * FPS)
        future = source.clip(frames[-1].pts - 1.0, frames[-1].pts + 30.0, tmp_path / "cut.mp4")
        server.kill()
        wait_until(future.done, timeout=5.0)
        clip = future.result()
    assert not clip.complete
    assert len(decode_clip(clip.path)) == clip.packets


def test_ring_rejects_a_non_positive_length() -> None:
    with pytest.raises(ValueError, match="positive"):
        PacketRing(seconds=0)


def test_codec_that_cannot_be_stream_copied_keeps_the_camera_without_clips(
    tmp_path: Path,
) -> None:
    """An AVI camera in MS-MPEG4 v2 (no modern container takes it) still delivers frames."""
    video = tmp_path / "old.avi"
    with av.open(str(video), "w") as out:
        stream = out.add_stream("msmpeg4v2", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(3 * FPS):
            image = np.full((240, 320, 3), (i * 8) % 256, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode(None))
    with StreamSource("cam", str(video), analysis_fps=FPS, buffer_seconds=10.0) as source:
        frames = read_all(source)
        assert len(frames) == 3 * FPS
        assert source.ring is not None and "msmpeg4v2" in (source.ring.unsupported or "")
        with pytest.raises(ClipError, match="clips unavailable: codec 'msmpeg4v2'"):
            source.clip(0.5, 1.5, tmp_path / "event.mp4").result(timeout=10)
