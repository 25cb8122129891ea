"""Per-camera health: one state with a reason, the figures behind it, and alerts.

:class:`HealthTracker` turns what a source reports (:class:`SourceStats`) and
its newest frame into a :class:`CameraHealth` every few seconds:

* ``starting`` until the first frame, ``offline`` while the source is down or
  no frame came for ``stale_after_s`` (liveness is the last frame's age, never
  "the thread is alive");
* ``degraded`` while frames arrive but something is wrong: a frozen, black,
  washed-out or blurred picture, a view that no longer matches the reference
  snapshot, a frame rate below the configured one, decode errors, or analysis
  that cannot keep up;
* ``online`` otherwise.

A picture problem must last ``persist_s`` before it counts (a lorry parked in
front of the lens for two seconds is traffic, not tampering). Each change of
state, or of the reason while degraded or offline, is an :class:`HealthAlert`.

The tracker is not thread-safe; call it from one thread (the worker loop).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from streams.frame import Frame
from streams.image_checks import ImageMeasure, difference, measure, view_similarity
from streams.stats import SourceState, SourceStats


class HealthState(enum.StrEnum):
    """A camera's health as an operator sees it."""

    STARTING = "starting"
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"


class Problem(enum.StrEnum):
    """Why a camera that delivers frames is ``degraded``."""

    FROZEN = "frozen picture"
    BLACK = "black picture"
    WASHED_OUT = "washed-out picture"
    BLURRED = "blurred picture"
    VIEW_CHANGED = "view moved or obstructed"
    LOW_FPS = "low frame rate"
    DECODE_ERRORS = "decode errors"
    ANALYSIS_BEHIND = "analysis behind"


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    """Limits of the health checks (defaults suit city CCTV checked every 5 s).

    Attributes:
        stale_after_s: A source that says online but delivered no frame for
            this long is offline.
        frozen_after_s: Frames keep coming but the picture has not changed for this long.
        frozen_difference: Mean grey difference (0-255) below which two frames
            count as the same picture.
        black_brightness: Mean grey below this, with little contrast: black.
        washed_out_brightness: Mean grey above this, with little contrast: washed out.
        flat_contrast: Grey standard deviation below which a picture is flat.
        blur_ratio: Sharper than this fraction of the reference, or blurred.
        view_similarity: Structure correlation with the reference below this:
            view moved or obstructed.
        persist_s: How long a black, washed-out, blurred or changed view must
            last before it is reported.
        low_fps_ratio: Measured input rate below this fraction of the expected
            rate is ``low frame rate`` (only when an expected rate is configured).
        decode_error_ratio: Decode errors per decoded frame above this is a problem.
        dropped_ratio: Frames dropped for analysis per frame sampled above this
            is ``analysis behind``.
    """

    stale_after_s: float = 10.0
    frozen_after_s: float = 10.0
    frozen_difference: float = 0.5
    black_brightness: float = 25.0
    washed_out_brightness: float = 230.0
    flat_contrast: float = 12.0
    blur_ratio: float = 0.35
    view_similarity: float = 0.5
    persist_s: float = 10.0
    low_fps_ratio: float = 0.7
    decode_error_ratio: float = 0.02
    dropped_ratio: float = 0.2


@dataclass(frozen=True, slots=True)
class CameraHealth:
    """One health sample of one camera.

    Attributes:
        camera_id: The camera.
        at: UTC time of the sample.
        state: ``starting``, ``online``, ``degraded`` or ``offline``.
        reason: Why, when not ``online`` (the source's error, or the problems).
        problems: The degraded checks, e.g. ``("frozen picture",)``.
        expected_fps: The configured input rate, else the header's claim, else None.
        input_fps: Measured input rate (stream timestamps), or None.
        analysis_fps: Frames per second taken by analysis since the last sample.
        last_frame_age_s: Seconds since the newest decoded frame, None before any.
        reconnects: Reconnections so far.
        decode_errors: Packets the decoder rejected so far.
        dropped: Frames dropped for analysis (analysis too slow) so far.
        bitrate_kbps: Encoded input rate since the last sample, or None.
        width: Frame width, once known.
        height: Frame height, once known.
        clock_sync: Whether the host clock stamping frames is NTP synchronised.
        brightness: Mean grey of the newest frame checked, or None.
        contrast: Grey standard deviation of that frame, or None.
        sharpness_ratio: Its sharpness relative to the reference, or None.
        view_similarity: Its structure correlation with the reference, or None.
    """

    camera_id: str
    at: datetime
    state: HealthState
    reason: str
    problems: tuple[str, ...]
    expected_fps: float | None
    input_fps: float | None
    analysis_fps: float | None
    last_frame_age_s: float | None
    reconnects: int
    decode_errors: int
    dropped: int
    bitrate_kbps: float | None
    width: int | None
    height: int | None
    clock_sync: str
    brightness: float | None = None
    contrast: float | None = None
    sharpness_ratio: float | None = None
    view_similarity: float | None = None


@dataclass(frozen=True, slots=True)
class HealthAlert:
    """A camera changed state (or its reason changed while not online)."""

    camera_id: str
    at: datetime
    previous: HealthState
    state: HealthState
    reason: str


@dataclass
class _Persisting:
    """Reports a condition only once it has held continuously for ``after_s``."""

    after_s: float
    since: float | None = None

    def update(self, active: bool, now: float) -> bool:
        if not active:
            self.since = None
            return False
        if self.since is None:
            self.since = now
        return now - self.since >= self.after_s


@dataclass
class _Previous:
    at: float
    stats: SourceStats
    frame_seq: int | None = None
    picture: ImageMeasure | None = None


@dataclass
class _Checks:
    black: _Persisting
    washed_out: _Persisting
    blurred: _Persisting
    view: _Persisting
    unchanged_since: float | None = None
    values: dict[str, float] = field(default_factory=dict)


class HealthTracker:
    """Health of one camera from its source's stats and newest frame.

    Args:
        camera_id: The camera.
        analysis_fps: The configured analysis rate (for ``analysis behind``).
        expected_fps: The rate the camera should deliver; None to only report
            the header's claim (real cameras' headers lie, so a low measured
            rate against the header alone is not a problem).
        thresholds: Limits of the checks.
    """

    def __init__(
        self,
        camera_id: str,
        *,
        analysis_fps: float,
        expected_fps: float | None = None,
        thresholds: HealthThresholds | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.analysis_fps = analysis_fps
        self.expected_fps = expected_fps
        self.thresholds = thresholds or HealthThresholds()
        persist = self.thresholds.persist_s
        self._checks = _Checks(
            _Persisting(persist), _Persisting(persist), _Persisting(persist), _Persisting(persist)
        )
        self._previous: _Previous | None = None
        self._reference: ImageMeasure | None = None
        self.state = HealthState.STARTING
        self.reason = ""

    # -- reference view --------------------------------------------------------

    @property
    def reference(self) -> ImageMeasure | None:
        """The measured reference snapshot, or None until one is set."""
        return self._reference

    def set_reference(self, image: np.ndarray) -> None:
        """Compare later frames' view and sharpness with this one."""
        self._reference = measure(image)

    def usable_as_reference(self, image: np.ndarray) -> bool:
        """True if a frame is exposed well enough to serve as the reference view."""
        picture = measure(image)
        return not (self._is_black(picture) or self._is_washed_out(picture))

    # -- sampling --------------------------------------------------------------

    def update(
        self, stats: SourceStats, frame: Frame | None, *, now: float, at: datetime
    ) -> tuple[CameraHealth, HealthAlert | None]:
        """Take one sample.

        Args:
            stats: The source's stats now.
            frame: Its newest sampled frame (``StreamSource.latest_frame``), or None.
            now: A monotonic clock reading (``time.monotonic()``).
            at: The UTC time of the sample.

        Returns:
            The sample, and an alert when the state or its reason changed.
        """
        previous = self._previous
        dt = now - previous.at if previous is not None else 0.0
        last = stats.last_frame_wall_time
        # A frame decoded between taking `at` and reading the stats is "now", not the future.
        age = max(0.0, (at - last).total_seconds()) if last is not None else None
        problems: list[str] = []
        picture = None
        new_frame = frame is not None and (previous is None or previous.frame_seq != frame.seq)
        if stats.state is SourceState.ONLINE and frame is not None:
            picture = measure(frame.image)
            problems += self._picture_problems(picture, new_frame, previous, now)
        else:
            self._reset_picture_checks()
        if previous is not None and dt > 0 and stats.state is SourceState.ONLINE:
            problems += self._rate_problems(stats, previous.stats)

        state, reason = self._classify(stats, age, problems)
        sample = self._sample(stats, previous, dt, at, age, state, reason, problems, picture)
        self._previous = _Previous(
            now,
            stats,
            frame.seq if frame is not None else (previous.frame_seq if previous else None),
            picture or (previous.picture if previous else None),
        )
        return sample, self._transition(state, reason, at)

    def _sample(
        self,
        stats: SourceStats,
        previous: _Previous | None,
        dt: float,
        at: datetime,
        age: float | None,
        state: HealthState,
        reason: str,
        problems: list[str],
        picture: ImageMeasure | None,
    ) -> CameraHealth:
        """The sample's record; rates over `dt` since `previous` (None on the first)."""
        return CameraHealth(
            camera_id=self.camera_id,
            at=at,
            state=state,
            reason=reason,
            problems=tuple(problems),
            expected_fps=self.expected_fps or stats.header_fps,
            input_fps=_rounded(stats.input_fps),
            analysis_fps=(
                _rounded((stats.frames_delivered - previous.stats.frames_delivered) / dt)
                if previous is not None and dt > 0
                else None
            ),
            last_frame_age_s=_rounded(age),
            reconnects=stats.reconnects,
            decode_errors=stats.decode_errors,
            dropped=stats.dropped,
            bitrate_kbps=(
                _rounded((stats.bytes_received - previous.stats.bytes_received) * 8 / dt / 1000)
                if previous is not None and dt > 0
                else None
            ),
            width=stats.width,
            height=stats.height,
            clock_sync=str(stats.clock_sync),
            brightness=_rounded(picture.brightness) if picture else None,
            contrast=_rounded(picture.contrast) if picture else None,
            sharpness_ratio=_rounded(self._checks.values.get("sharpness_ratio")),
            view_similarity=_rounded(self._checks.values.get("view_similarity")),
        )

    def _transition(self, state: HealthState, reason: str, at: datetime) -> HealthAlert | None:
        """Move to `state`; an alert when the state, or a problem state's reason, changed."""
        alert = None
        changed_reason = reason != self.reason and state in (
            HealthState.DEGRADED,
            HealthState.OFFLINE,
        )
        if state is not self.state or changed_reason:
            alert = HealthAlert(self.camera_id, at, self.state, state, reason)
        self.state, self.reason = state, reason
        return alert

    def _classify(
        self, stats: SourceStats, age: float | None, problems: list[str]
    ) -> tuple[HealthState, str]:
        if stats.state is SourceState.STARTING:
            return HealthState.STARTING, "connecting"
        if stats.state is SourceState.OFFLINE:
            return HealthState.OFFLINE, stats.reason or "offline"
        if age is not None and age > self.thresholds.stale_after_s:
            return HealthState.OFFLINE, f"stalled: no frame for {age:.0f} s"
        if problems:
            return HealthState.DEGRADED, "; ".join(problems)
        return HealthState.ONLINE, ""

    def _is_black(self, picture: ImageMeasure) -> bool:
        t = self.thresholds
        return picture.brightness < t.black_brightness and picture.contrast < t.flat_contrast

    def _is_washed_out(self, picture: ImageMeasure) -> bool:
        t = self.thresholds
        return picture.brightness > t.washed_out_brightness and picture.contrast < t.flat_contrast

    def _reset_picture_checks(self) -> None:
        checks = self._checks
        for check in (checks.black, checks.washed_out, checks.blurred, checks.view):
            check.since = None
        checks.unchanged_since = None
        checks.values.clear()

    def _picture_problems(
        self, picture: ImageMeasure, new_frame: bool, previous: _Previous | None, now: float
    ) -> list[str]:
        t, checks = self.thresholds, self._checks
        problems: list[str] = []
        # Frozen: new frames keep arriving, yet they show the same picture.
        if new_frame and previous is not None and previous.picture is not None:
            if difference(picture, previous.picture) < t.frozen_difference:
                if checks.unchanged_since is None:
                    checks.unchanged_since = previous.at
            else:
                checks.unchanged_since = None
        if checks.unchanged_since is not None and now - checks.unchanged_since >= t.frozen_after_s:
            problems.append(f"{Problem.FROZEN} for {now - checks.unchanged_since:.0f} s")

        black = self._is_black(picture)
        washed_out = self._is_washed_out(picture)
        if checks.black.update(black, now):
            problems.append(str(Problem.BLACK))
        if checks.washed_out.update(washed_out, now):
            problems.append(str(Problem.WASHED_OUT))
        reference = self._reference
        if reference is None or black or washed_out:
            # A black frame is also "blurred" and "moved"; report the cause only.
            checks.blurred.update(False, now)
            checks.view.update(False, now)
            checks.values.clear()
            return problems
        sharpness_ratio = picture.sharpness / max(reference.sharpness, 1e-6)
        similarity = view_similarity(picture, reference)
        checks.values = {"sharpness_ratio": sharpness_ratio, "view_similarity": similarity}
        if checks.view.update(similarity < t.view_similarity, now):
            problems.append(f"{Problem.VIEW_CHANGED} (similarity {similarity:.2f})")
        elif checks.blurred.update(sharpness_ratio < t.blur_ratio, now):
            problems.append(f"{Problem.BLURRED} ({sharpness_ratio:.0%} of reference sharpness)")
        return problems

    def _rate_problems(self, stats: SourceStats, before: SourceStats) -> list[str]:
        t = self.thresholds
        problems: list[str] = []
        if (
            self.expected_fps
            and stats.input_fps is not None
            and stats.input_fps < t.low_fps_ratio * self.expected_fps
        ):
            measured = f"{stats.input_fps:.1f} of {self.expected_fps:g} fps"
            problems.append(f"{Problem.LOW_FPS}: {measured}")
        decoded = stats.frames_decoded - before.frames_decoded
        errors = stats.decode_errors - before.decode_errors
        if errors > 0 and errors > t.decode_error_ratio * max(decoded, 1):
            problems.append(f"{Problem.DECODE_ERRORS}: {errors} since last check")
        dropped = stats.dropped - before.dropped
        sampled = dropped + stats.frames_delivered - before.frames_delivered
        if dropped > 0 and dropped > t.dropped_ratio * sampled:
            problems.append(f"{Problem.ANALYSIS_BEHIND}: {dropped} of {sampled} frames dropped")
        return problems


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)
