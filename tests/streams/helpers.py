"""Small helpers shared by the stream tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from streams.frame import Frame
from streams.source import StreamSource


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> float:
    """Poll until ``predicate()`` is true; returns seconds waited, or fails the test."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout:.1f} s")
        time.sleep(interval)
    return time.monotonic() - start


def read_all(source: StreamSource, deadline_s: float = 30.0) -> list[Frame]:
    """Every frame of a finite source, in order (fails if it does not finish in time)."""
    frames: list[Frame] = []
    end = time.monotonic() + deadline_s
    while not source.finished:
        assert time.monotonic() < end, "source did not finish"
        frame = source.read(timeout=1.0)
        if frame is not None:
            frames.append(frame)
    return frames


def read_n(source: StreamSource, count: int, deadline_s: float = 15.0) -> list[Frame]:
    """The next ``count`` frames (fails if they do not come in time)."""
    frames: list[Frame] = []
    end = time.monotonic() + deadline_s
    while len(frames) < count:
        assert time.monotonic() < end, f"got {len(frames)} of {count} frames; {source.stats}"
        frame = source.read(timeout=0.5)
        if frame is not None:
            frames.append(frame)
    return frames
