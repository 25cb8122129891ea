"""One camera's analysis: tracking, signal state, track history and rules.

The worker owns the shared detector; each camera owns one of these, so a camera
never sees another camera's tracks and one camera's failure stays its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from models.detections import Detections
from models.plate_crops import PlateCropCollector, TrackCrops
from models.rider_tracks import RiderCarry, riders_by_track
from models.tracking import build_tracker
from pipeline.config import ByteTrackConfig, CameraConfig, PlatesConfig, TrackerConfig
from pipeline.evidence.clips import PendingClip
from pipeline.geometry import anchor_point
from pipeline.rules import Rule, ViolationCandidate, build_rules
from pipeline.rules.base import FrameContext
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackHistory, TrackPoint
from pipeline.signals.feed import CameraSignals, ControllerFeed, signal_measurements
from pipeline.signals.image import SignalState
from streams.frame import Frame

SignalLog = Callable[[str, float, Mapping[str, SignalState]], None]
"""Called with (camera id, stream time, each head's state) for every analysed frame."""
_RECENT_FRAMES_S = 5.0


@dataclass(frozen=True)
class Finding:
    """A violation candidate together with the frames its evidence is cut from."""

    camera: CameraConfig
    candidate: ViolationCandidate
    before_frame: Frame
    after_frame: Frame
    signal: SignalState | None
    clip: PendingClip | None = None
    """The clip asked of the camera's ring buffer (the worker fills it in)."""
    plate_crops: TrackCrops | None = None
    """The vehicle's best crops over its track's life, still filling for a few seconds
    after the offence (closed then), for a best-of-N plate read."""


class CameraPipeline:
    """Turns one camera's frames and detections into violation findings."""

    def __init__(
        self,
        camera: CameraConfig,
        *,
        signal_feed: ControllerFeed | None = None,
        tracker: TrackerConfig | None = None,
        plates: PlatesConfig | None = None,
        signal_log: SignalLog | None = None,
    ) -> None:
        """Args:
        camera: The camera's config.
        signal_feed: Signal controllers' phases, for heads read from a feed.
        tracker: The app-wide tracker settings; the camera's own `tracker` wins.
        plates: Plate settings; when given and enabled, each track's best crops are
            kept for its plate read.
        signal_log: Optional recorder of every analysed frame's signal states (accuracy
            runs compare them with labelled timelines); off by default.
        """
        self.camera = camera
        tracking = camera.tracker or tracker or ByteTrackConfig()
        self.tracker = build_tracker(
            tracking.type, camera.analysis_fps, **tracking.tracker_settings()
        )
        # Each head's phase from its image, its controller's feed, or both (per its `source`).
        self.signals = CameraSignals(camera, signal_feed)
        self.signal_log = signal_log
        self.history = TrackHistory()
        self.geometry = SceneGeometry(camera.scene, camera.timezone)
        self.rules: list[Rule] = build_rules(camera, self.geometry)
        # Riders are linked to their motorbikes on every frame: a rider carries the
        # bike's track while the detector misses the bike, and rider counts use the links.
        self.rider_carry = RiderCarry()
        self._recent: deque[Frame] = deque()
        self._signal_history: deque[tuple[float, Mapping[str, SignalState]]] = deque()
        """Each analysed frame's head states over the same seconds as `_recent`: a rule
        may report an offence seconds after it (red_light waits for a movement)."""
        self.frames_processed = 0
        self.plate_crops = (
            PlateCropCollector(keep=plates.best_of, follow_s=plates.follow_s)
            if plates is not None and plates.enabled
            else None
        )

    def process(self, frame: Frame, detections: Detections) -> list[Finding]:
        """Advance tracking and every rule by one analysed frame."""
        self.frames_processed += 1
        self._remember(frame)
        signal_states = self.signals.update(frame)
        self._signal_history.append((frame.pts, signal_states))
        while frame.pts - self._signal_history[0][0] > _RECENT_FRAMES_S:
            self._signal_history.popleft()
        if self.signal_log is not None:
            self.signal_log(self.camera.id, frame.pts, signal_states)
        tracks = self.rider_carry.merge(
            self.tracker.update(self.rider_carry.for_tracking(frame.pts, detections), frame.image)
        )
        self._begin_from_riders()
        boxes = [(float(a), float(b), float(c), float(d)) for a, b, c, d in tracks.xyxy.tolist()]
        if self.plate_crops is not None:
            self.plate_crops.update(frame.pts, frame.image, tracks.track_ids.tolist(), tracks.xyxy)
        seen = self.history.update(
            seq=frame.seq,
            t=frame.pts,
            wall_time=frame.wall_time,
            track_ids=tracks.track_ids.tolist(),
            boxes=boxes,
            classes=tracks.class_names,
            grounds=[self.geometry.to_ground(anchor_point(box)) for box in boxes],
            settled=tracks.class_settled.tolist(),
            estimated=self.rider_carry.estimated(tracks).tolist(),
        )
        ctx = FrameContext(
            camera_id=self.camera.id,
            seq=frame.seq,
            t=frame.pts,
            image=frame.image,
            tracks=seen,
            signals=signal_states,
            wall_time=frame.wall_time,
            riders=riders_by_track(tracks, detections),
        )
        findings = []
        for rule in self.rules:
            for candidate in rule.check(ctx):
                findings.append(self._finding(candidate, frame))
        return findings

    def _finding(self, candidate: ViolationCandidate, frame: Frame) -> Finding:
        """A rule's candidate with its key frames and signal state; `frame` is the
        current one (the key frames' stand-in should they be gone)."""
        before = self._frame(candidate.before.seq) or frame
        after = self._frame(candidate.after.seq) or frame
        head = candidate.measurements.get("signal_head")
        signal = self._signal_at(head, candidate.offence_t) if isinstance(head, str) else None
        if signal is not None:
            # Which source gave the phase, and for how long it had shown, go
            # with the rule's own measurements into the row and the manifest.
            candidate = replace(
                candidate,
                measurements={
                    **candidate.measurements,
                    **signal_measurements(signal, candidate.offence_t),
                },
            )
        return Finding(
            camera=self.camera,
            candidate=candidate,
            before_frame=before,
            after_frame=after,
            signal=signal,
            plate_crops=(
                self.plate_crops.claim(candidate.track_id, frame.pts)
                if self.plate_crops is not None
                else None
            ),
        )

    def close(self) -> list[Finding]:
        """The camera's frames have ended: rules that hold judgements back until more is
        seen (red_light waiting for a movement) decide them now, and every open
        plate-crop collection closes. Returns the findings so decided."""
        findings: list[Finding] = []
        if self._recent:
            for rule in self.rules:
                finish = getattr(rule, "finish", None)
                if finish is not None:
                    findings.extend(self._finding(c, self._recent[-1]) for c in finish())
        if self.plate_crops is not None:
            self.plate_crops.close_all()
        return findings

    def _begin_from_riders(self) -> None:
        """Motorbike tracks the rider links just gave an id begin with the bike's earlier
        boxes (from its rider), so a bike first boxed at the line shows where it came from."""
        for track_id, boxes in self.rider_carry.backfill().items():
            points = []
            for t, box in boxes:
                frame = next((f for f in self._recent if abs(f.pts - t) < 1e-6), None)
                if frame is not None:
                    ground = self.geometry.to_ground(anchor_point(box))
                    points.append(
                        TrackPoint(frame.seq, t, frame.wall_time, box, ground, estimated=True)
                    )
            self.history.begin(track_id, "motorbike", points)

    def _remember(self, frame: Frame) -> None:
        # Key frames are looked up by sequence number when a rule fires; a few
        # seconds of decoded frames is all a rule ever points back to.
        self._recent.append(frame)
        while self._recent and frame.pts - self._recent[0].pts > _RECENT_FRAMES_S:
            self._recent.popleft()

    def _signal_at(self, head: str, t: float) -> SignalState | None:
        """The head's state covering stream time `t`: the latest one read whose phase
        had begun by then (the current one unless the phase changed since; a reader
        may date a phase back to before it confirmed it), else the latest one."""
        for _, states in reversed(self._signal_history):
            state = states.get(head)
            if state is not None and state.since is not None and state.since <= t:
                return state
        return self._signal_history[-1][1].get(head) if self._signal_history else None

    def _frame(self, seq: int) -> Frame | None:
        for frame in reversed(self._recent):
            if frame.seq == seq:
                return frame
        return None
