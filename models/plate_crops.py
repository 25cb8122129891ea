"""The best vehicle crops of each live track, kept as tracks go, for best-of-N plate reads.

Reading a plate costs a plate-detector pass and one or two OCR passes (tens of
milliseconds); doing that for every track on every frame would stall the frame loop.
Scoring a crop's sharpness and size costs a fraction of a millisecond, so each frame
the collector scores every track's crop and keeps only the `keep` best per track. When
a track triggers a rule, its kept crops are claimed and followed for a few more
seconds (the plate often comes into view as the vehicle passes the camera); the plate
reader then runs on those few crops only, off the frame loop.

Example:
    >>> collector = PlateCropCollector(keep=4, follow_s=2.0)
    >>> collector.update(t, frame, tracks.track_ids, tracks.xyxy)   # every frame
    >>> crops = collector.claim(track_id, t)                        # on a violation
    >>> crops.wait(5.0)                                             # elsewhere
    >>> images = [c.image for c in crops.best()]
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from models.plates import crop_quality


@dataclass(frozen=True)
class VehicleCrop:
    """One kept crop of a track.

    Attributes:
        image: BGR crop of the vehicle (a copy, owned by this object).
        quality: `models.plates.crop_quality`: sharpness (variance of the Laplacian,
            capped) times the square root of the area; larger, sharper crops rank higher.
        t: Stream time of the frame it was cut from (seconds).
    """

    image: np.ndarray = field(repr=False)
    quality: float
    t: float


class TrackCrops:
    """The best crops of one track; filled by the frame loop, read by another thread.

    Closed once the collector stops adding to it (the follow window ended or the
    track was lost); readers may `wait` for that.
    """

    def __init__(self, track_id: int, keep: int) -> None:
        self.track_id = track_id
        self.keep = keep
        self._crops: list[VehicleCrop] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def offer(self, crop: np.ndarray, quality: float, t: float) -> bool:
        """Keep `crop` if it ranks among the best so far; copies it only then.

        Returns:
            Whether it was kept.
        """
        with self._lock:
            if self._closed.is_set():
                return False
            if len(self._crops) >= self.keep and quality <= self._crops[-1].quality:
                return False
            self._crops.append(VehicleCrop(crop.copy(), quality, t))
            self._crops.sort(key=lambda c: -c.quality)
            del self._crops[self.keep :]
            return True

    def best(self) -> list[VehicleCrop]:
        """The kept crops, best first."""
        with self._lock:
            return list(self._crops)

    def close(self) -> None:
        """No more crops will be added."""
        self._closed.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wait(self, timeout: float) -> bool:
        """Block until closed or `timeout` seconds passed; return whether it closed."""
        return self._closed.wait(timeout)


class PlateCropCollector:
    """Per camera: the best crops of every live track, claimed when a track offends.

    Crops touching the frame edge are skipped (the plate may be cut off), as are crops
    smaller than `min_side` pixels on either side (no plate is legible there).
    """

    def __init__(
        self,
        keep: int = 4,
        follow_s: float = 2.0,
        forget_after_s: float = 2.0,
        min_side: int = 32,
        edge_px: int = 2,
    ) -> None:
        """Args:
        keep: Crops kept per track.
        follow_s: After a claim, how long the track's crops keep being collected.
        forget_after_s: A track unseen this long is forgotten (its claim, if any, closes).
        min_side: Smallest crop width and height considered.
        edge_px: Crops this close to the frame edge are skipped.

        Raises:
            ValueError: For a non-positive `keep` or a negative duration.
        """
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        if follow_s < 0 or forget_after_s < 0:
            raise ValueError("follow_s and forget_after_s must not be negative")
        self.keep = keep
        self.follow_s = follow_s
        self.forget_after_s = forget_after_s
        self.min_side = min_side
        self.edge_px = edge_px
        self._tracks: dict[int, TrackCrops] = {}
        self._last_seen: dict[int, float] = {}
        self._follow_until: dict[int, float] = {}

    def update(
        self, t: float, image: np.ndarray, track_ids: Sequence[int], boxes: np.ndarray
    ) -> None:
        """Score this frame's crop of every track and keep it where it ranks.

        Args:
            t: Stream time of the frame (seconds).
            image: The BGR frame.
            track_ids: Track ids of this frame's tracks.
            boxes: Their `x1, y1, x2, y2` boxes in frame pixels, one row per track.
        """
        height, width = image.shape[:2]
        for track_id, box in zip(track_ids, np.asarray(boxes).reshape(-1, 4), strict=True):
            track_id = int(track_id)
            self._last_seen[track_id] = t
            if not np.isfinite(box).all():
                continue
            x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
            x2, y2 = int(np.ceil(box[2])), int(np.ceil(box[3]))
            e = self.edge_px
            if x1 < e or y1 < e or x2 > width - e or y2 > height - e:
                continue
            if min(x2 - x1, y2 - y1) < self.min_side:
                continue
            crop = image[y1:y2, x1:x2]
            crops = self._tracks.get(track_id)
            if crops is None:
                crops = self._tracks[track_id] = TrackCrops(track_id, self.keep)
            crops.offer(crop, crop_quality(crop), t)
        self._retire(t)

    def claim(self, track_id: int, t: float) -> TrackCrops:
        """The track's crops so far; they keep being collected until `t + follow_s`.

        Claiming the same track again before then returns the same object.
        """
        crops = self._tracks.get(track_id)
        if crops is None:
            crops = self._tracks[track_id] = TrackCrops(track_id, self.keep)
            self._last_seen.setdefault(track_id, t)
        self._follow_until[track_id] = max(self._follow_until.get(track_id, t), t + self.follow_s)
        if self.follow_s == 0:
            self._retire(t)
        return crops

    def close_all(self) -> None:
        """Close every claim, e.g. when the camera's stream ends."""
        for crops in self._tracks.values():
            crops.close()
        self._tracks.clear()
        self._last_seen.clear()
        self._follow_until.clear()

    def _retire(self, t: float) -> None:
        for track_id in list(self._tracks):
            until = self._follow_until.get(track_id)
            lost = t - self._last_seen.get(track_id, t) > self.forget_after_s
            if lost or (until is not None and t >= until):
                # A claimed track's crops go to its reader; a later offence of the
                # same track starts a fresh collection.
                self._tracks.pop(track_id).close()
                self._follow_until.pop(track_id, None)
                if lost:
                    self._last_seen.pop(track_id, None)
