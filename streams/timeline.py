"""Stream time: one monotonic clock over reconnects and loops, and sampling on it."""

from __future__ import annotations

# Guess for the spacing of frames until two frames have been seen.
_DEFAULT_INTERVAL_S = 0.04
# Spacings outside this range are gaps or glitches, not the frame rate.
_MIN_INTERVAL_S = 0.001
_MAX_INTERVAL_S = 1.0


class Timeline:
    """Maps the timestamps of successive connections to one monotonic clock.

    Each connection (or each pass over a looping file) starts its timestamps
    anew, some frames come without one, and real streams repeat or step back a
    timestamp. The first frame ever maps to 0.0; a new segment continues after
    the last frame, either one frame spacing later (a loop) or as much later as
    the wall clock moved (a reconnect, so stream time keeps tracking real time
    over an outage). A timestamp that would not move forward starts a new
    segment too, so the result always increases.

    Example:
        >>> tl = Timeline()
        >>> [tl.map(t, now=0.0) for t in (5.0, 5.5, 6.0)]
        [0.0, 0.5, 1.0]
        >>> tl.restart(follow_wall_clock=False)
        >>> tl.map(0.0, now=0.0)
        1.5
    """

    def __init__(self) -> None:
        self._base: float | None = None  # source timestamp that maps to _offset
        self._offset = 0.0
        self._last: float | None = None
        self._last_now: float | None = None
        self._interval = _DEFAULT_INTERVAL_S
        self._interval_measured = False
        self._follow_wall_clock = False

    def restart(self, follow_wall_clock: bool) -> None:
        """Begin a new segment at the next frame (a reconnect or a loop)."""
        self._base = None
        self._follow_wall_clock = follow_wall_clock

    def peek(self, source_time: float | None) -> float | None:
        """Stream time a timestamp of the current segment maps to, changing nothing.

        For packets, which are timed on the clock their frames set; None when
        the segment has no anchor yet or the packet has no timestamp.
        """
        if self._base is None or source_time is None:
            return None
        return self._offset + source_time - self._base

    @property
    def last(self) -> float | None:
        """The latest stream time handed out, or None before the first frame."""
        return self._last

    def map(self, source_time: float | None, now: float) -> float:
        """Stream time in seconds for a frame.

        Args:
            source_time: The frame's own timestamp in seconds, or None if it has none.
            now: A monotonic wall clock reading (``time.monotonic()``).

        Returns:
            Seconds since the stream's first frame; greater than any earlier result.
        """
        mapped = None
        if self._base is not None and source_time is not None:
            mapped = self._offset + source_time - self._base
        if self._last is None:
            out = 0.0
        elif mapped is not None and mapped > self._last:
            out = mapped
            spacing = out - self._last
            if _MIN_INTERVAL_S <= spacing <= _MAX_INTERVAL_S:
                # Smoothed, so one odd spacing does not set the gap for a loop.
                weight = 0.2 if self._interval_measured else 1.0
                self._interval += weight * (spacing - self._interval)
                self._interval_measured = True
        else:
            # A new segment, a frame without a timestamp, or time that did not
            # move forward: continue after the last frame.
            step = self._interval
            if self._follow_wall_clock and self._last_now is not None:
                step = max(step, now - self._last_now)
                self._follow_wall_clock = False
            out = self._last + step
            if source_time is not None:
                self._base = None  # re-anchored just below
        if self._base is None and source_time is not None:
            self._base, self._offset = source_time, out
        self._last, self._last_now = out, now
        return out


class Sampler:
    """Keeps frames at a target rate, judged by stream time, never a header's fps.

    A frame is kept when its time reaches the next due time; the due time then
    advances by one period, or restarts from the frame after a gap, so an
    outage does not cause a burst of catch-up frames.

    Example:
        >>> s = Sampler(fps=10.0)
        >>> sum(s.take(i / 25) for i in range(50))  # 2 s of 25 fps video
        20
    """

    # Slack for float error: 0.1 summed ten times is not exactly 1.0.
    _EPSILON_S = 1e-4

    def __init__(self, fps: float) -> None:
        if fps <= 0:
            raise ValueError("analysis fps must be positive")
        self._period = 1.0 / fps
        self._due: float | None = None

    def take(self, pts: float) -> bool:
        """True if the frame at ``pts`` (seconds, increasing) should be kept."""
        if self._due is not None and pts + self._EPSILON_S < self._due:
            return False
        self._due = pts + self._period if self._due is None else self._due + self._period
        if self._due <= pts:
            self._due = pts + self._period
        return True
