"""Multi-object tracking over `Detections`: Ultralytics' ByteTrack and BoT-SORT.

One tracker per camera: it keeps state between frames and its track ids are its own
(two trackers may both issue id 1). `ByteTracker` associates by box overlap and
motion only; `BotSortTracker` adds BoT-SORT's box-size-aware Kalman filter and,
optionally, camera-motion compensation (sparse optical flow between frames), for
cameras on poles that sway or pan. BoT-SORT's appearance model (ReID) is never used:
it would need weights fetched from the internet and a network pass per box.

Example:
    >>> tracker = build_tracker("bytetrack", frame_rate=10)
    >>> for frame in frames:
    ...     [dets] = detector.detect([frame])
    ...     tracks = tracker.update(dets, frame)
"""

from __future__ import annotations

import os

# Must be set before Ultralytics is imported: it reads these once, at import time.
# Its trackers pip-install `lap` at run time when it is missing, and its import
# probes DNS to decide whether it is online; neither belongs in a pipeline run.
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("YOLO_OFFLINE", "true")

from dataclasses import dataclass  # noqa: E402
from types import SimpleNamespace  # noqa: E402
from typing import Any, Literal  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from ultralytics.trackers.bot_sort import BOTSORT  # noqa: E402
from ultralytics.trackers.byte_tracker import BYTETracker  # noqa: E402

from models.detections import Detections, Tracks, class_id  # noqa: E402

_REFERENCE_FPS = 30.0  # ByteTrack's `track_buffer` is defined in frames at 30 fps
_FOUR_WHEELED_IDS = np.array([class_id(name) for name in ("car", "truck", "bus")])

TrackerType = Literal["bytetrack", "botsort"]
CameraMotion = Literal["none", "sparse_optical_flow"]
TRACKER_TYPES: tuple[TrackerType, ...] = ("bytetrack", "botsort")

# Ultralytics' names for the camera-motion methods offered here. Its other methods are
# left out on purpose: ORB and SIFT cost several times more per frame, and ECC can take
# hundreds of milliseconds on a 720p frame.
_GMC_METHODS: dict[CameraMotion, str] = {"none": "none", "sparse_optical_flow": "sparseOptFlow"}


@dataclass(frozen=True)
class _TrackerInput:
    """The slice of Ultralytics' `Boxes` API that `BYTETracker.update` reads."""

    xyxy: np.ndarray
    conf: np.ndarray
    cls: np.ndarray

    @property
    def xywh(self) -> np.ndarray:
        centre = (self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2
        size = self.xyxy[:, 2:] - self.xyxy[:, :2]
        return np.concatenate([centre, size], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index: np.ndarray) -> _TrackerInput:
        return _TrackerInput(self.xyxy[index], self.conf[index], self.cls[index])


def _check_tracker_settings(
    frame_rate: float,
    track_buffer: int,
    duplicate_iou: float | None,
    nested_containment: float | None,
    class_settle_s: float,
) -> None:
    """Raise ValueError for a tracker setting out of its range (see `ByteTracker`)."""
    if frame_rate <= 0:
        raise ValueError(f"frame_rate must be positive, got {frame_rate}")
    if track_buffer <= 0:
        raise ValueError(f"track_buffer must be positive, got {track_buffer}")
    if duplicate_iou is not None and not 0 < duplicate_iou <= 1:
        raise ValueError(f"duplicate_iou must be in (0, 1], got {duplicate_iou}")
    if nested_containment is not None and not 0 < nested_containment <= 1:
        raise ValueError(f"nested_containment must be in (0, 1], got {nested_containment}")
    if class_settle_s < 0:
        raise ValueError(f"class_settle_s must not be negative, got {class_settle_s}")


def _tracker_args(
    frame_rate: float,
    track_high_thresh: float,
    track_low_thresh: float,
    new_track_thresh: float,
    track_buffer: int,
    match_thresh: float,
) -> SimpleNamespace:
    """The settings Ultralytics' trackers read, with `track_buffer` in frames as called."""
    # Ultralytics takes the buffer in frames as called, so convert from ByteTrack's
    # 30 fps convention; otherwise a 10 fps camera would keep lost tracks 3 s.
    buffer_frames = max(1, round(frame_rate / _REFERENCE_FPS * track_buffer))
    return SimpleNamespace(
        track_high_thresh=track_high_thresh,
        track_low_thresh=track_low_thresh,
        new_track_thresh=new_track_thresh,
        track_buffer=buffer_frames,
        match_thresh=match_thresh,
        fuse_score=True,
    )


class ByteTracker:
    """ByteTrack over framework-neutral `Detections`.

    Two guarantees on top of Ultralytics' tracker (`BotSortTracker` shares them):
    - a track's class is a score-weighted vote over its sightings, which may change
      only while the track is young (its first `class_settle_s` worth of sightings) and
      then stays fixed for the track's life, even if the detector later flips between,
      say, `car` and `truck`: one id is one vehicle of one class. `Tracks.class_settled`
      says which tracks' classes are final;
    - boxes are the detector's boxes for the frame, not the Kalman prediction, so
      line-crossing decisions rest on what was measured.
    """

    def __init__(
        self,
        frame_rate: float = 10.0,
        track_high_thresh: float = 0.25,
        track_low_thresh: float = 0.1,
        new_track_thresh: float = 0.25,
        track_buffer: int = 30,
        match_thresh: float = 0.8,
        duplicate_iou: float | None = 0.6,
        class_settle_s: float = 1.0,
        nested_containment: float | None = 0.9,
    ) -> None:
        """Create a tracker for one camera.

        Args:
            frame_rate: Rate at which `update` is called (the analysis rate, not the
                camera's). Scales `track_buffer`.
            track_high_thresh: Detections at or above this score are matched first.
            track_low_thresh: Detections between this and `track_high_thresh` are used
                only to keep existing tracks alive.
            new_track_thresh: Minimum score of an unmatched detection to start a track.
            track_buffer: How long a lost track may be re-found, in frames at 30 fps
                (ByteTrack's convention): 30 means one second at any `frame_rate`.
            match_thresh: Maximum association cost (1 - IoU, fused with score).
            duplicate_iou: A detection overlapping a higher-scoring one of another class
                by more than this IoU is the same object seen twice and is dropped before
                tracking; None keeps every detection. Detectors suppress overlaps only
                within a class, and yolov3-tiny boxes one pickup as both `car` and
                `truck`: two tracks then take turns on one vehicle, which reads as id
                switches. Only pass one kind of object (vehicles, say): a rider and the
                motorbike under them overlap too.
            class_settle_s: A track's class is the score-weighted vote of its sightings
                and may change until it has been seen on this many seconds' worth of
                frames (`class_settle_s * frame_rate` sightings, at least one); then it is
                fixed. A vehicle entering at the image edge is often half in view and
                misclassed for a frame or two (a motorbike as `truck`); the vote lets the
                following sightings correct that.
            nested_containment: A car, truck or bus box lying at least this share inside
                a larger car, truck or bus box is a part of that vehicle (detectors box a
                van's rear or a pickup's cab as a second, smaller `car` whose IoU with the
                whole is too low for NMS) and is dropped before tracking; as its own track
                it would cross a line a moment after the whole and be reported twice.
                None keeps both.

        Raises:
            ValueError: For a non-positive `frame_rate` or `track_buffer`, a
                `duplicate_iou` or `nested_containment` outside (0, 1] or a negative
                `class_settle_s`.
        """
        _check_tracker_settings(
            frame_rate, track_buffer, duplicate_iou, nested_containment, class_settle_s
        )
        self.frame_rate = frame_rate
        self.duplicate_iou = duplicate_iou
        self.nested_containment = nested_containment
        self.class_settle_frames = max(1, round(class_settle_s * frame_rate))
        args = _tracker_args(
            frame_rate,
            track_high_thresh,
            track_low_thresh,
            new_track_thresh,
            track_buffer,
            match_thresh,
        )
        self._tracker = self._build(args)
        # Per track id while its class may still change: summed score per class, and
        # how many sightings have voted. Then only its settled class is kept.
        self._votes: dict[int, dict[int, float]] = {}
        self._sightings: dict[int, int] = {}
        self._settled: dict[int, int] = {}

    def _build(self, args: SimpleNamespace) -> BYTETracker:
        """Create the Ultralytics tracker from the shared settings."""
        return BYTETracker(args)

    def _frame_for_tracker(self, frame: np.ndarray | None) -> np.ndarray | None:
        """The image Ultralytics' tracker gets; ByteTrack is motion-only."""
        del frame
        return None

    def update(self, detections: Detections, frame: np.ndarray | None = None) -> Tracks:
        """Advance the tracker by one frame.

        Args:
            detections: This frame's detections (an empty one when nothing was seen;
                every analysed frame must be passed, or tracks age wrongly).
            frame: The BGR frame. Unused by ByteTrack; BoT-SORT with camera-motion
                compensation estimates the motion from it (without one it assumes a
                still camera for this frame).

        Returns:
            The tracks matched in this frame, with their ids, the detector's boxes, each
            track's class as voted so far and whether that class is settled.
        """
        detections = self._without_duplicates(detections)
        tracker_input = _TrackerInput(
            detections.xyxy.astype(np.float32),
            detections.scores.astype(np.float32),
            detections.class_ids.astype(np.float32),
        )
        rows = np.asarray(
            self._tracker.update(tracker_input, self._frame_for_tracker(frame)), dtype=np.float64
        ).reshape(-1, 8)
        self._remember_classes(detections)
        if rows.shape[0] == 0:
            return Tracks(**_empty_track_fields())

        # Row layout: x1, y1, x2, y2, track_id, score, cls, detection index.
        track_ids = rows[:, 4].astype(np.int64)
        det_idx = rows[:, 7].astype(np.int64)
        class_ids = np.array(
            [self._class_of(int(t), int(c)) for t, c in zip(track_ids, rows[:, 6], strict=True)],
            dtype=np.int64,
        )
        return Tracks(
            xyxy=detections.xyxy[det_idx],
            scores=detections.scores[det_idx],
            class_ids=class_ids,
            track_ids=track_ids,
            class_settled=np.array([int(t) in self._settled for t in track_ids], dtype=bool),
        )

    def reset(self) -> None:
        """Forget every track and restart ids at 1 (e.g. after the camera moved)."""
        self._tracker.reset()
        self._votes.clear()
        self._sightings.clear()
        self._settled.clear()

    def _without_duplicates(self, detections: Detections) -> Detections:
        """Drop detections that repeat a higher-scoring one under another class, and
        parts of a vehicle boxed inside the whole."""
        detections = self._without_nested_parts(detections)
        if self.duplicate_iou is None or len(detections) < 2:
            return detections
        xyxy = detections.xyxy.astype(np.float64)
        xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
        kept = cv2.dnn.NMSBoxes(
            xywh.tolist(), detections.scores.astype(float).tolist(), 0.0, self.duplicate_iou
        )
        keep = np.sort(np.asarray(kept, dtype=np.int64).reshape(-1))
        return detections if len(keep) == len(detections) else detections.select(keep)

    def _without_nested_parts(self, detections: Detections) -> Detections:
        """Drop car/truck/bus boxes lying `nested_containment` inside a larger one."""
        if self.nested_containment is None or len(detections) < 2:
            return detections
        four_wheeled = np.isin(detections.class_ids, _FOUR_WHEELED_IDS)
        if np.count_nonzero(four_wheeled) < 2:
            return detections
        xyxy = detections.xyxy.astype(np.float64)
        area = np.prod(np.clip(xyxy[:, 2:] - xyxy[:, :2], 0, None), axis=1)
        top_left = np.maximum(xyxy[:, None, :2], xyxy[None, :, :2])
        bottom_right = np.minimum(xyxy[:, None, 2:], xyxy[None, :, 2:])
        inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
        # inside[i, j]: share of box i inside box j, for a box j larger than i.
        inside = inter / np.maximum(area[:, None], 1e-9)
        larger = area[None, :] > area[:, None]
        pairs = four_wheeled[:, None] & four_wheeled[None, :] & larger
        nested = np.any(pairs & (inside >= self.nested_containment), axis=1)
        return detections if not nested.any() else detections.select(np.flatnonzero(~nested))

    def _remember_classes(self, detections: Detections) -> None:
        """Count this frame's sightings towards unsettled classes; forget removed tracks."""
        alive = set()
        for track in (*self._tracker.tracked_stracks, *self._tracker.lost_stracks):
            alive.add(track.track_id)
            # Unconfirmed tracks are not reported yet, but their detections still count
            # towards the class they will be reported with.
            if track.track_id in self._settled or track.frame_id != self._tracker.frame_id:
                continue
            idx = int(track.idx)
            if 0 <= idx < len(detections):
                votes = self._votes.setdefault(track.track_id, {})
                cls = int(detections.class_ids[idx])
                votes[cls] = votes.get(cls, 0.0) + float(detections.scores[idx])
                self._sightings[track.track_id] = self._sightings.get(track.track_id, 0) + 1
        for table in (self._votes, self._sightings, self._settled):
            for gone in set(table) - alive:
                del table[gone]

    def _class_of(self, track_id: int, reported: int) -> int:
        """The track's class on this frame; settles it once enough sightings voted."""
        settled = self._settled.get(track_id)
        if settled is not None:
            return settled
        votes = self._votes.get(track_id)
        if not votes:
            return reported
        # Score-weighted majority of the sightings so far; ties go to the class
        # Ultralytics reports, which is the latest detection's.
        best = max(votes.values())
        leaders = {c for c, v in votes.items() if v == best}
        leader = reported if reported in leaders else min(leaders)
        if self._sightings.get(track_id, 0) >= self.class_settle_frames:
            self._settled[track_id] = leader
            del self._votes[track_id], self._sightings[track_id]
        return leader


class BotSortTracker(ByteTracker):
    """BoT-SORT over framework-neutral `Detections`, with ByteTracker's guarantees.

    Differs from ByteTrack in its Kalman state (box width and height instead of aspect
    ratio and height, steadier for vehicles that grow as they approach), in gating
    matches by a minimum overlap (`proximity_thresh`), and in optional camera-motion
    compensation. No ReID: the appearance model needs downloaded weights.
    """

    def __init__(
        self,
        frame_rate: float = 10.0,
        track_high_thresh: float = 0.25,
        track_low_thresh: float = 0.1,
        new_track_thresh: float = 0.25,
        track_buffer: int = 30,
        match_thresh: float = 0.8,
        camera_motion: CameraMotion = "sparse_optical_flow",
        proximity_thresh: float = 0.5,
        duplicate_iou: float | None = 0.6,
        class_settle_s: float = 1.0,
        nested_containment: float | None = 0.9,
    ) -> None:
        """Create a tracker for one camera.

        Args:
            frame_rate, track_high_thresh, track_low_thresh, new_track_thresh,
                track_buffer, match_thresh, duplicate_iou, class_settle_s,
                nested_containment: As for `ByteTracker`.
            camera_motion: `sparse_optical_flow` (BoT-SORT's usual setting) estimates the
                frame-to-frame camera motion (a few milliseconds per 720p frame) and moves
                every track with it, for swaying poles and PTZ cameras; it needs the
                frame passed to `update`. `none` for a fixed camera.
            proximity_thresh: Minimum IoU between a track's predicted box and a
                detection for them to be matched at all.

        Raises:
            ValueError: For an unknown `camera_motion` or a bad threshold.
        """
        if camera_motion not in _GMC_METHODS:
            raise ValueError(
                f"camera_motion must be one of {sorted(_GMC_METHODS)}, got {camera_motion!r}"
            )
        if not 0.0 <= proximity_thresh <= 1.0:
            raise ValueError(f"proximity_thresh must be in [0, 1], got {proximity_thresh}")
        self.camera_motion = camera_motion
        self._proximity_thresh = proximity_thresh
        super().__init__(
            frame_rate=frame_rate,
            track_high_thresh=track_high_thresh,
            track_low_thresh=track_low_thresh,
            new_track_thresh=new_track_thresh,
            track_buffer=track_buffer,
            match_thresh=match_thresh,
            duplicate_iou=duplicate_iou,
            class_settle_s=class_settle_s,
            nested_containment=nested_containment,
        )

    def _build(self, args: SimpleNamespace) -> BYTETracker:
        args.gmc_method = _GMC_METHODS[self.camera_motion]
        args.proximity_thresh = self._proximity_thresh
        args.appearance_thresh = 0.8  # unused without ReID, but read at construction
        args.with_reid = False
        args.model = "auto"
        return BOTSORT(args)

    def _frame_for_tracker(self, frame: np.ndarray | None) -> np.ndarray | None:
        return frame if self.camera_motion != "none" else None


def build_tracker(kind: TrackerType, frame_rate: float, **settings: Any) -> ByteTracker:
    """Create a tracker by type name, as the config names it.

    Args:
        kind: `bytetrack` or `botsort`.
        frame_rate: The rate `update` will be called at.
        **settings: The tracker's keyword settings (see `ByteTracker`, `BotSortTracker`).

    Raises:
        ValueError: For an unknown `kind` or a setting the tracker does not take.
    """
    classes: dict[str, type[ByteTracker]] = {"bytetrack": ByteTracker, "botsort": BotSortTracker}
    if kind not in classes:
        raise ValueError(f"tracker type must be one of {TRACKER_TYPES}, got {kind!r}")
    try:
        return classes[kind](frame_rate=frame_rate, **settings)
    except TypeError as exc:  # an unknown keyword: name it rather than a stack trace
        raise ValueError(f"tracker {kind!r}: {exc}") from exc


def _empty_track_fields() -> dict[str, np.ndarray]:
    return {
        "xyxy": np.zeros((0, 4), dtype=np.float32),
        "scores": np.zeros((0,), dtype=np.float32),
        "class_ids": np.zeros((0,), dtype=np.int64),
        "track_ids": np.zeros((0,), dtype=np.int64),
        "class_settled": np.zeros((0,), dtype=bool),
    }
