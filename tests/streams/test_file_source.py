"""StreamSource on generated video files: batch, looping, realtime and broken files."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import av
import numpy as np
import pytest

from streams.source import StreamSource
from streams.stats import SourceState
from tests.fixtures.rtsp import VideoFactory
from tests.streams.helpers import read_all, read_n, wait_until


@pytest.mark.parametrize(
    ("analysis_fps", "expected"), [(10, 40), (5, 20), (25, 100), (60, 100), (7, 28)]
)
@pytest.mark.parametrize("bframes", [0, 2])
def test_batch_file_delivers_every_sampled_frame(
    h264_mp4_factory: VideoFactory, analysis_fps: float, expected: int, bframes: int
) -> None:
    video = h264_mp4_factory(seconds=4, fps=25, bframes=bframes)
    with StreamSource("cam1", str(video), analysis_fps=analysis_fps) as source:
        frames = read_all(source)
        stats = source.stats

    assert abs(len(frames) - expected) <= 1
    pts = [f.pts for f in frames]
    assert pts[0] == 0.0
    assert all(b > a for a, b in zip(pts, pts[1:], strict=False))
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert stats.frames_decoded == 100
    assert stats.frames_delivered == len(frames)
    assert stats.dropped == 0 and stats.decode_errors == 0
    assert (stats.width, stats.height) == (320, 240)
    assert stats.input_fps is None  # no rate while offline
    assert stats.state is SourceState.OFFLINE and stats.reason == "end of file"
    first = frames[0]
    assert first.image.shape == (240, 320, 3) and first.image.dtype == np.uint8
    assert first.camera_id == "cam1" and first.wall_time.tzinfo is UTC


def test_batch_file_images_are_bgr_in_order(h264_mp4_factory: VideoFactory) -> None:
    video = h264_mp4_factory(seconds=1, fps=25)
    with StreamSource("cam1", str(video), analysis_fps=25) as source:
        frames = read_all(source)
    # make_h264_mp4 paints the top-left block with (index % 32) * 8 and a green square.
    for index, frame in enumerate(frames):
        assert abs(int(frame.image[4:12, 4:12].mean()) - index % 32 * 8) <= 6
    blue, green, red = frames[0].image[120, 20:40].mean(axis=0)
    assert green > 150 and blue < 40 and red < 100


def test_looping_file_keeps_stream_time_increasing(h264_mp4_factory: VideoFactory) -> None:
    video = h264_mp4_factory(seconds=1, fps=25)
    with StreamSource("cam1", str(video), analysis_fps=25, loop=True) as source:
        frames = read_n(source, 90)
        assert not source.finished
        assert source.stats.input_fps == pytest.approx(25.0, abs=0.5)
    pts = np.array([f.pts for f in frames])
    steps = np.diff(pts)
    assert pts[-1] > 3.0
    assert steps.min() > 0
    assert steps.max() < 0.1  # no hole at the seam either


def test_live_file_drops_stale_frames_and_hands_out_the_newest(
    h264_mp4_factory: VideoFactory,
) -> None:
    video = h264_mp4_factory(seconds=6, fps=25)
    with StreamSource("cam1", str(video), analysis_fps=25, realtime=True) as source:
        first = read_n(source, 1)[0]
        time.sleep(1.0)  # a slow consumer
        latest = read_n(source, 1)[0]
        stats = source.stats

    # Paced to its timestamps: after a 1 s stall the next frame is ~1 s of stream later,
    # not the one after `first` -- nothing queued up.
    assert latest.pts - first.pts == pytest.approx(1.0, abs=0.25)
    assert latest.seq - first.seq >= 20
    assert stats.dropped == latest.seq - first.seq - 1
    assert stats.frames_delivered == 2


def test_live_file_is_paced_to_its_timestamps(h264_mp4_factory: VideoFactory) -> None:
    video = h264_mp4_factory(seconds=2, fps=25)
    start = time.monotonic()
    with StreamSource("cam1", str(video), analysis_fps=10, realtime=True) as source:
        frames = read_all(source)
    elapsed = time.monotonic() - start
    assert 1.7 < elapsed < 3.5
    assert abs(len(frames) - 20) <= 1


def _corrupt_packets(good: Path, bad: Path, indices: set[int]) -> None:
    """Copy ``good`` to ``bad`` replacing the payload of some packets with noise."""
    with av.open(str(good)) as src, av.open(str(bad), "w") as dst:
        stream = src.streams.video[0]
        out = dst.add_stream_from_template(stream)
        for index, packet in enumerate(src.demux(stream)):
            if packet.dts is None:
                continue  # the demuxer's end-of-stream marker
            if index in indices:
                noise = av.Packet(os.urandom(packet.size))
                noise.pts, noise.dts, noise.time_base = packet.pts, packet.dts, packet.time_base
                packet = noise
            packet.stream = out
            dst.mux(packet)


def test_undecodable_packets_are_counted_and_skipped(
    h264_mp4_factory: VideoFactory, tmp_path: Path
) -> None:
    good = h264_mp4_factory(seconds=3, fps=25)
    bad = tmp_path / "bad.mp4"
    _corrupt_packets(good, bad, {30, 31, 32})
    with StreamSource("cam1", str(bad), analysis_fps=25) as source:
        frames = read_all(source)
        stats = source.stats
    assert stats.decode_errors == 3
    assert len(frames) >= 60  # the rest of the file still comes through
    assert frames[-1].pts > 2.5


def test_missing_file_goes_offline_and_finishes(tmp_path: Path) -> None:
    source = StreamSource("cam1", str(tmp_path / "nope.mp4"), analysis_fps=5)
    with source:
        wait_until(lambda: source.finished, timeout=5)
        assert source.read(timeout=0.1) is None
        stats = source.stats
    assert stats.state is SourceState.OFFLINE
    assert "FileNotFoundError" in stats.reason


def test_stop_ends_a_blocked_batch_reader(h264_mp4_factory: VideoFactory) -> None:
    video = h264_mp4_factory(seconds=4, fps=25)
    source = StreamSource("cam1", str(video), analysis_fps=25).start()
    read_n(source, 1)  # the reader is now blocked on the full queue
    started = time.monotonic()
    source.stop()
    assert time.monotonic() - started < 2.0
    assert source.finished or source.read(timeout=0.1) is not None
    assert source.stats.reason == "stopped"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"analysis_fps": 0},
        {"analysis_fps": 5, "rtsp_transport": "http"},
        {"analysis_fps": 5, "read_timeout_s": 0},
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        StreamSource("cam1", "x.mp4", **kwargs)  # type: ignore[arg-type]


def test_recorded_at_stamps_frames_with_the_time_the_video_shows(
    h264_mp4_factory: VideoFactory,
) -> None:
    video = h264_mp4_factory(seconds=1, fps=25)
    recorded_at = datetime(2026, 5, 4, 16, 29, 58, tzinfo=timezone(timedelta(hours=7)))
    before = datetime.now(UTC)
    with StreamSource("cam1", str(video), analysis_fps=5, recorded_at=recorded_at) as source:
        frames = read_all(source)
        stats = source.stats
    assert len(frames) == 5
    for frame in frames:
        assert frame.wall_time.tzinfo is UTC
        assert frame.wall_time == recorded_at + timedelta(seconds=frame.pts)
    assert frames[1].wall_time == datetime(2026, 5, 4, 9, 29, 58, 200000, tzinfo=UTC)
    # The source's own health still reports when it last decoded a frame.
    assert stats.last_frame_wall_time is not None and stats.last_frame_wall_time >= before


def test_recorded_at_needs_a_file_and_an_aware_time() -> None:
    with pytest.raises(ValueError, match="recorded_at"):
        StreamSource(
            "cam1",
            "rtsp://127.0.0.1:8554/cam",
            analysis_fps=5,
            recorded_at=datetime(2026, 5, 4, tzinfo=UTC),
        )
    with pytest.raises(ValueError, match="recorded_at"):
        StreamSource("cam1", "clip.mp4", analysis_fps=5, recorded_at=datetime(2026, 5, 4))
