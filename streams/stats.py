"""Counters and state a source reports about itself (a snapshot, never live)."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from streams.clock import ClockSync


class SourceState(enum.StrEnum):
    """Where a source stands; ``offline`` always comes with a reason."""

    STARTING = "starting"
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class SourceStats:
    """A point-in-time view of a :class:`~streams.source.StreamSource`.

    Attributes:
        state: ``starting`` until the first frame decodes, ``online`` while
            frames arrive, ``offline`` after an error, end of file or ``stop()``.
        reason: Why the source is offline (the error text), else ``""``.
        frames_decoded: Frames decoded, before sampling to the analysis rate.
        frames_delivered: Frames handed out by ``read()``.
        dropped: Sampled frames replaced by a newer one before anyone read them
            (live mode only; batch mode never drops).
        reconnects: Times the stream was opened again after it was lost.
        decode_errors: Packets the decoder rejected (skipped, not fatal).
        last_frame_wall_time: UTC time of the last decoded frame, or None.
            Liveness is the age of this value, not whether the thread runs.
        input_fps: Frame rate measured from the stream's own timestamps over
            the last few seconds (not the header's claim), or None.
        width: Decoded frame width, once known.
        height: Decoded frame height, once known.
        header_fps: The frame rate the stream's header claims, or None. Shown
            next to ``input_fps``; never used for timing (cameras lie).
        bytes_received: Encoded bytes read over all connections (for bitrate).
        clock_sync: Whether the host clock that stamps ``wall_time`` was NTP
            synchronised when the source started.
    """

    state: SourceState
    reason: str
    frames_decoded: int
    frames_delivered: int
    dropped: int
    reconnects: int
    decode_errors: int
    last_frame_wall_time: datetime | None
    input_fps: float | None
    width: int | None
    height: int | None
    header_fps: float | None = None
    bytes_received: int = 0
    clock_sync: ClockSync = ClockSync.UNKNOWN


class FpsMeter:
    """Frame rate over a sliding window of stream timestamps.

    Stream time rather than arrival time: a file decoded as fast as possible
    should still report the camera's rate, and network jitter should not.

    Example:
        >>> m = FpsMeter(window_s=2.0)
        >>> for i in range(11):
        ...     m.add(i * 0.1)
        >>> round(m.fps or 0, 1)
        10.0
    """

    def __init__(self, window_s: float = 5.0) -> None:
        self._window_s = window_s
        self._times: deque[float] = deque()

    def add(self, pts: float) -> None:
        """Record one frame's stream time (seconds, non-decreasing)."""
        self._times.append(pts)
        while self._times and pts - self._times[0] > self._window_s:
            self._times.popleft()

    def reset(self) -> None:
        """Forget the window (after a gap in the stream, e.g. a reconnect)."""
        self._times.clear()

    @property
    def fps(self) -> float | None:
        """Frames per second in the window, or None with fewer than two frames."""
        if len(self._times) < 2:
            return None
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else None
