"""Camera health in the worker: checks at a low rate, samples and alerts to the DB and Kafka.

`HealthMonitor.tick` is called from the worker loop every `health.check_every_s`
(never per frame). Each camera's `streams.health.HealthTracker` turns its
source's stats and newest frame into a sample; a sample is stored every
`health.sample_every_s`, and at once when the state changes, in which case an
alert row is stored too. Samples and alerts go to the outbox in the same
transaction as their rows, for the relay to publish on the `camera-health` topic.

Reference snapshots for the moved/obstructed-view check are taken from the first
well-exposed frame a camera delivers under a scene version, and kept under
`<evidence>/_references/<camera>/<scene version>.png`:

* per scene version, because re-drawing a camera's stop line or zones is what an
  installer does after re-aiming it: the new configuration gets a new reference;
* on disk and never overwritten, so a worker restarted after the camera was
  bumped compares with the view that was configured, not the bumped one;
* under the evidence directory, the one durable, backed-up store every
  deployment already has. An operator who re-aims a camera on purpose deletes
  the file and the next good frame becomes the reference.

A small JPEG of each camera's newest frame (long side `THUMBNAIL_LONG_SIDE` px) is
written at a health check at most every `health.thumbnail_every_s`, to
`<evidence>/_thumbnails/<camera>.jpg`, for the operators' camera page. Its mtime
is the frame's wall-clock time, so the age the page shows is the picture's age.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import AppConfig, CameraConfig, HealthConfig
from pipeline.events.relay import utc_iso
from pipeline.evidence.package import write_atomic
from pipeline.store.camera_health import add_alert, add_sample, prune_samples, thumbnail_uri
from pipeline.store.models import CameraAlert, CameraHealthSample
from pipeline.store.repository import (
    EVENT_SCHEMA_VERSION,
    PendingEvent,
    enqueue_event,
    register_cameras,
)
from streams.health import CameraHealth, HealthAlert, HealthThresholds, HealthTracker
from streams.source import StreamSource

log = logging.getLogger(__name__)

REFERENCES_DIR = "_references"
THUMBNAIL_LONG_SIDE = 320
_THUMBNAIL_QUALITY = 80
_PRUNE_EVERY_S = 3600.0


def thresholds(config: HealthConfig) -> HealthThresholds:
    """The check limits `streams.health` uses, from the `health:` config section."""
    return HealthThresholds(
        stale_after_s=config.stale_after_s,
        frozen_after_s=config.frozen_after_s,
        persist_s=config.persist_s,
        view_similarity=config.view_similarity,
        blur_ratio=config.blur_ratio,
    )


def health_event(sample: CameraHealth, event_id: str) -> dict[str, Any]:
    """A `camera_health` event (schema version 1) for one sample."""
    data = asdict(sample)
    data.update(
        schema_version=EVENT_SCHEMA_VERSION,
        event_id=event_id,
        type="camera_health",
        at=utc_iso(sample.at),
        state=str(sample.state),
        problems=list(sample.problems),
    )
    return data


def alert_event(alert: HealthAlert, event_id: str) -> dict[str, Any]:
    """A `camera_alert` event (schema version 1) for one change of state."""
    return {
        "schema_version": EVENT_SCHEMA_VERSION,
        "event_id": event_id,
        "type": "camera_alert",
        "camera_id": alert.camera_id,
        "at": utc_iso(alert.at),
        "previous_state": str(alert.previous),
        "state": str(alert.state),
        "reason": alert.reason,
    }


class ReferenceStore:
    """Reference snapshots, one PNG per camera and scene version (see the module notes)."""

    def __init__(self, evidence_root: Path) -> None:
        self.root = Path(evidence_root) / REFERENCES_DIR

    def path(self, camera_id: str, scene_version: str) -> Path:
        return self.root / camera_id / f"{scene_version}.png"

    def load(self, camera_id: str, scene_version: str) -> np.ndarray | None:
        path = self.path(camera_id, scene_version)
        if not path.is_file():
            return None
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            log.warning("camera %s: reference snapshot %s is unreadable; ignored", camera_id, path)
        return image

    def save(self, camera_id: str, scene_version: str, image: np.ndarray) -> Path:
        """Store a reference; an existing one is kept (it is never replaced silently)."""
        path = self.path(camera_id, scene_version)
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, png = cv2.imencode(".png", image)  # lossless: compression must not look like blur
        if not ok:
            raise ValueError(f"camera {camera_id}: cannot encode the reference snapshot")
        write_atomic(path, png.tobytes())
        return path


def thumbnail(image: np.ndarray, long_side: int = THUMBNAIL_LONG_SIDE) -> np.ndarray:
    """`image` scaled down so its longer side is `long_side` px; a smaller one is kept as is."""
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


class ThumbnailStore:
    """Each camera's newest-frame thumbnail, `<evidence>/_thumbnails/<camera>.jpg`."""

    def __init__(self, evidence_root: Path) -> None:
        self.evidence_root = Path(evidence_root)

    def path(self, camera_id: str) -> Path:
        return self.evidence_root / thumbnail_uri(camera_id)

    def save(self, camera_id: str, image: np.ndarray, taken: datetime) -> Path:
        """Replace the camera's thumbnail with `image` scaled down, dated `taken` (its mtime).

        A live preview, not evidence: nothing hashes or keeps it, so replacing it is
        right (unlike `pipeline.evidence.package.write_atomic`, which never overwrites). The
        temp file + `os.replace` means a reader gets the old picture or the new one,
        never part of one.
        """
        path = self.path(camera_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, jpeg = cv2.imencode(
            ".jpg", thumbnail(image), [cv2.IMWRITE_JPEG_QUALITY, _THUMBNAIL_QUALITY]
        )
        if not ok:
            raise ValueError(f"camera {camera_id}: cannot encode the thumbnail")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(jpeg.tobytes())
            stamp = taken.timestamp()
            os.utime(tmp, (stamp, stamp))
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return path


class HealthMonitor:
    """Checks every camera of a worker, stores and publishes samples and alerts.

    Args:
        config: The app config (`health`, `cameras`, `evidence.path`, `kafka`).
        session_factory: Sessions on the migrated trafficcam database.
        clock: Monotonic clock (seconds).
    """

    def __init__(
        self,
        config: AppConfig,
        session_factory: sessionmaker[Session],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.settings = config.health
        self.session_factory = session_factory
        self.references = ReferenceStore(config.evidence.path)
        self.thumbnails = ThumbnailStore(config.evidence.path)
        self.topic = config.kafka.topics.camera_health if config.kafka else None
        self._clock = clock
        self._cameras: dict[str, CameraConfig] = {c.id: c for c in config.cameras}
        self._sources: dict[str, StreamSource] = {}
        self._trackers: dict[str, HealthTracker] = {}
        self._last_stored: dict[str, float] = {}
        # camera -> (monotonic time, wall time of the frame) of its newest thumbnail
        self._thumbnailed: dict[str, tuple[float, datetime]] = {}
        self._next_prune = 0.0
        self.latest: dict[str, CameraHealth] = {}

    def attach(self, sources: Mapping[str, StreamSource]) -> None:
        """Watch these sources (the worker's, keyed by camera id); registers the cameras."""
        self._sources = dict(sources)
        with self.session_factory.begin() as session:
            register_cameras(
                session, [self._cameras[cid] for cid in self._sources if cid in self._cameras]
            )
        for camera_id, source in self._sources.items():
            camera = self._cameras.get(camera_id)
            tracker = HealthTracker(
                camera_id,
                analysis_fps=source.analysis_fps,
                expected_fps=camera.source.expected_fps if camera else None,
                thresholds=thresholds(self.settings),
            )
            if camera is not None:
                reference = self.references.load(camera_id, camera.scene_version)
                if reference is not None:
                    tracker.set_reference(reference)
            self._trackers[camera_id] = tracker

    def tick(self) -> list[CameraHealth]:
        """Check every camera once; store and publish what is due. Never raises.

        Returns:
            This round's samples (stored or not).
        """
        now = self._clock()
        at = datetime.now(UTC)
        samples: list[CameraHealth] = []
        rows: list[tuple[CameraHealth | None, HealthAlert | None]] = []
        for camera_id, source in self._sources.items():
            try:
                sample, alert = self._check(camera_id, source, now, at)
            except Exception:  # one camera's failure must not stop the others' checks
                log.exception("camera %s: health check failed", camera_id)
                continue
            samples.append(sample)
            self.latest[camera_id] = sample
            try:
                self._refresh_thumbnail(camera_id, source, now)
            except Exception as error:  # a preview must never cost the health sample
                log.warning("camera %s: thumbnail not written: %s", camera_id, error)
            if alert is not None:
                log.log(
                    logging.WARNING if alert.state in ("offline", "degraded") else logging.INFO,
                    "camera %s: %s -> %s %s",
                    camera_id,
                    alert.previous,
                    alert.state,
                    alert.reason,
                )
            due = now - self._last_stored.get(camera_id, -float("inf"))
            if alert is not None or due >= self.settings.sample_every_s:
                rows.append((sample, alert))
                self._last_stored[camera_id] = now
        if rows:
            self._store(rows)
        if now >= self._next_prune:
            self._prune(at)
            self._next_prune = now + _PRUNE_EVERY_S
        return samples

    def _check(
        self, camera_id: str, source: StreamSource, now: float, at: datetime
    ) -> tuple[CameraHealth, HealthAlert | None]:
        tracker = self._trackers[camera_id]
        frame = source.latest_frame
        if tracker.reference is None and frame is not None and source.stats.state == "online":
            self._capture_reference(camera_id, tracker, frame.image)
        return tracker.update(source.stats, frame, now=now, at=at)

    def _refresh_thumbnail(self, camera_id: str, source: StreamSource, now: float) -> None:
        """Write a thumbnail of the newest frame when one is due and the frame is new."""
        frame = source.latest_frame
        if frame is None:
            return
        last = self._thumbnailed.get(camera_id)
        if last is not None and (
            now - last[0] < self.settings.thumbnail_every_s or last[1] == frame.wall_time
        ):
            return
        self.thumbnails.save(camera_id, frame.image, frame.wall_time)
        self._thumbnailed[camera_id] = (now, frame.wall_time)

    def _capture_reference(self, camera_id: str, tracker: HealthTracker, image: np.ndarray) -> None:
        camera = self._cameras.get(camera_id)
        if camera is None or not tracker.usable_as_reference(image):
            return
        path = self.references.path(camera_id, camera.scene_version)
        if not path.exists():
            self.references.save(camera_id, camera.scene_version, image)
            log.info("camera %s: reference snapshot taken: %s", camera_id, path)
        stored = self.references.load(camera_id, camera.scene_version)
        tracker.set_reference(stored if stored is not None else image)

    def _store(self, rows: list[tuple[CameraHealth | None, HealthAlert | None]]) -> None:
        try:
            with self.session_factory.begin() as session:
                for sample, alert in rows:
                    if sample is not None:
                        self._store_sample(session, sample)
                    if alert is not None:
                        self._store_alert(session, alert)
        except Exception:  # the database may be briefly away; health goes on
            log.exception("camera health: could not store %d sample(s)", len(rows))

    def _store_sample(self, session: Session, sample: CameraHealth) -> None:
        add_sample(
            session,
            CameraHealthSample(
                camera_id=sample.camera_id,
                at=sample.at,
                state=str(sample.state),
                reason=sample.reason,
                expected_fps=sample.expected_fps,
                input_fps=sample.input_fps,
                analysis_fps=sample.analysis_fps,
                last_frame_age_s=sample.last_frame_age_s,
                reconnects=sample.reconnects,
                decode_errors=sample.decode_errors,
                dropped=sample.dropped,
                bitrate_kbps=sample.bitrate_kbps,
                detail={
                    "problems": list(sample.problems),
                    "width": sample.width,
                    "height": sample.height,
                    "clock_sync": sample.clock_sync,
                    "brightness": sample.brightness,
                    "contrast": sample.contrast,
                    "sharpness_ratio": sample.sharpness_ratio,
                    "view_similarity": sample.view_similarity,
                },
            ),
        )
        if self.topic:
            event_id = str(uuid.uuid4())
            payload = health_event(sample, event_id)
            enqueue_event(session, PendingEvent(self.topic, sample.camera_id, payload, event_id))

    def _store_alert(self, session: Session, alert: HealthAlert) -> None:
        event_id = str(uuid.uuid4())
        add_alert(
            session,
            CameraAlert(
                event_id=event_id,
                camera_id=alert.camera_id,
                at=alert.at,
                previous_state=str(alert.previous),
                state=str(alert.state),
                reason=alert.reason,
            ),
        )
        if self.topic:
            enqueue_event(
                session,
                PendingEvent(self.topic, alert.camera_id, alert_event(alert, event_id), event_id),
            )

    def _prune(self, at: datetime) -> None:
        try:
            with self.session_factory.begin() as session:
                removed = prune_samples(
                    session, before=at - timedelta(days=self.settings.retention_days)
                )
        except Exception:
            log.exception("camera health: could not prune old samples")
            return
        if removed:
            log.info("camera health: removed %d sample(s) past retention", removed)
