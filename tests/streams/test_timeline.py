"""Stream time, sampling, backoff and hand-over: the pieces under StreamSource."""

from __future__ import annotations

import threading

import pytest

from streams.backoff import Backoff
from streams.channel import Channel
from streams.stats import FpsMeter
from streams.timeline import Sampler, Timeline


@pytest.mark.parametrize(
    ("input_fps", "analysis_fps", "expected"),
    [(25, 10, 40), (25, 5, 20), (25, 25, 100), (25, 50, 100), (12.5, 6, 24), (30, 7, 28)],
)
def test_sampler_keeps_the_analysis_rate(
    input_fps: float, analysis_fps: float, expected: int
) -> None:
    sampler = Sampler(analysis_fps)
    kept = sum(sampler.take(i / input_fps) for i in range(round(4 * input_fps)))
    assert abs(kept - expected) <= 1


def test_sampler_follows_uneven_real_spacing() -> None:
    # A city camera: ~6 fps alternating 0.16 s and 0.24 s under a 12.5 fps header.
    times, t = [], 0.0
    for i in range(60):
        times.append(t)
        t += 0.16 if i % 2 else 0.24
    sampler = Sampler(2.0)
    kept = [t for t in times if sampler.take(t)]
    assert abs(len(kept) - 2 * times[-1]) <= 1.5


def test_sampler_does_not_burst_after_a_gap() -> None:
    sampler = Sampler(10.0)
    kept = [t for t in (0.0, 0.1, 5.0, 5.04, 5.08, 5.1) if sampler.take(t)]
    assert kept == [0.0, 0.1, 5.0, 5.1]


def test_timeline_is_monotonic_over_restarts_repeats_and_missing_times() -> None:
    timeline = Timeline()
    out = [timeline.map(t, now=0.0) for t in (None, 0.0, 0.04, 0.08, 0.08, 0.12)]
    timeline.restart(follow_wall_clock=False)
    out += [timeline.map(t, now=0.0) for t in (0.0, 0.04)]
    assert all(b > a for a, b in zip(out, out[1:], strict=False))
    assert out[0] == 0.0


def test_timeline_reconnect_gap_follows_the_wall_clock() -> None:
    timeline = Timeline()
    timeline.map(100.0, now=10.0)
    timeline.map(100.04, now=10.04)
    timeline.restart(follow_wall_clock=True)
    assert timeline.map(3.0, now=13.04) == pytest.approx(3.04)
    assert timeline.map(3.04, now=13.08) == pytest.approx(3.08)


def test_timeline_reconnect_gap_survives_a_first_frame_without_timestamp() -> None:
    # FFmpeg's RTSP demuxer hands out the first frame of a connection without a pts.
    timeline = Timeline()
    timeline.map(None, now=10.0)
    timeline.map(0.0, now=10.0)
    timeline.map(0.04, now=10.04)
    timeline.restart(follow_wall_clock=True)
    # Before the outage: None -> 0.0, 0.0 -> 0.04 (one guessed spacing), 0.04 -> 0.08.
    assert timeline.map(None, now=13.04) == pytest.approx(3.08)  # 3 s of wall clock later
    assert timeline.map(0.0, now=13.04) == pytest.approx(3.12)
    assert timeline.map(0.04, now=13.08) == pytest.approx(3.16)


def test_backoff_doubles_up_to_the_cap_with_jitter_below() -> None:
    backoff = Backoff(0.5, 4.0, jitter=0.2)
    delays = [backoff.next_delay() for _ in range(8)]
    for delay, nominal in zip(delays, [0.5, 1, 2, 4, 4, 4, 4, 4], strict=True):
        assert 0.8 * nominal <= delay <= nominal


def test_fps_meter_measures_stream_time() -> None:
    meter = FpsMeter(window_s=2.0)
    for i in range(100):
        meter.add(i / 25)
    assert meter.fps == pytest.approx(25.0)


def test_latest_channel_drops_oldest_and_stays_bounded() -> None:
    channel: Channel[int] = Channel(capacity=1, drop_oldest=True)
    for i in range(100):
        assert channel.put(i)
    assert len(channel) == 1
    assert channel.dropped == 99
    assert channel.get(timeout=0) == 99


def test_batch_channel_blocks_the_producer_until_read() -> None:
    channel: Channel[int] = Channel(capacity=2, drop_oldest=False)
    produced: list[int] = []

    def produce() -> None:
        for i in range(5):
            channel.put(i)
            produced.append(i)
        channel.close()

    thread = threading.Thread(target=produce)
    thread.start()
    thread.join(timeout=0.3)
    assert thread.is_alive() and len(produced) == 2
    got = []
    while not channel.drained:
        item = channel.get(timeout=1.0)
        if item is not None:
            got.append(item)
    thread.join()
    assert got == [0, 1, 2, 3, 4] and channel.dropped == 0
