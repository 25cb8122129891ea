"""Turns findings into stored violations: evidence package, then one DB transaction.

Order matters for durability: the evidence files (manifest last) are complete on
disk before the transaction that references them commits, and the violation row,
its evidence rows and its outbox event commit together. A crash in between
leaves at worst an unreferenced directory, never a row pointing at a missing file.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from models.detector import Detector
from models.plates import PlateRead, PlateReader, PlateVote
from pipeline.config import AppConfig
from pipeline.events.relay import violation_event
from pipeline.evidence.clips import CLIP_NAME, collect_clip
from pipeline.evidence.leftovers import EvidenceRootLease
from pipeline.evidence.package import annotate_overview, crop, open_evidence_store
from pipeline.runtime.camera_pipeline import Finding
from pipeline.store.models import Violation
from pipeline.store.repository import PendingEvent, record_violation
from streams.clock import clock_sync_status

log = logging.getLogger(__name__)

_PLATE_WAIT_SLACK_S = 3.0  # beyond `plates.follow_s`, for a live stream's delivery lag


class ViolationRecorder:
    """A `FindingSink` that stores each finding with its evidence and event."""

    def __init__(
        self,
        config: AppConfig,
        session_factory: sessionmaker[Session],
        detector: Detector,
        plates: PlateReader | None = None,
    ) -> None:
        self.config = config
        self.session_factory = session_factory
        self.detector = detector
        self.plates = plates
        self.evidence = open_evidence_store(config.evidence)
        # A local store's root is locked while this process writes evidence; taking
        # the lock first clears what a killed writer left (temp files, packages
        # without a manifest). S3 puts are atomic and leave no such thing.
        local_root = getattr(self.evidence.blobs, "root", None)
        self.evidence_lease = EvidenceRootLease.take(local_root) if local_root else None
        self.violations_topic = config.kafka.topics.violations if config.kafka else None
        self.recorded: list[str] = []
        self.after_commit: Callable[[], None] | None = None
        """Called after each violation's commit, e.g. `OutboxRelay.wake`."""

    def handle(self, finding: Finding) -> None:
        candidate, camera = finding.candidate, finding.camera
        violation_id = str(uuid.uuid4())
        after = finding.after_frame
        offence_utc = after.wall_time - timedelta(seconds=after.pts - candidate.offence_t)
        measurements = dict(candidate.measurements)
        plate = self._read_plate(finding)
        manifest = {
            "schema_version": 2,
            "violation_id": violation_id,
            "camera": {
                "id": camera.id,
                "name": camera.name,
                "location": camera.location.model_dump(),
            },
            "times": {
                "offence_utc": offence_utc.isoformat(),
                "first_evidence_utc": finding.before_frame.wall_time.isoformat(),
                "last_evidence_utc": after.wall_time.isoformat(),
                "offence_stream_s": round(candidate.offence_t, 3),
                "clock_sync": clock_sync_status(),
            },
            "rule": {
                "type": candidate.rule_type,
                "version": candidate.rule_version,
                "measurements": measurements,
                "explanation": candidate.explanation,
            },
            "vehicle": {
                "class": candidate.vehicle_class,
                "track_id": candidate.track_id,
                "box_before": list(candidate.before.box),
                "box_after": list(candidate.after.box),
            },
            "scene_version": camera.scene_version,
            "signal": _signal_block(finding),
            "models": {
                "detector": _model_block(self.detector),
                "plate_detector": _model_block(self.plates.detector) if self.plates else None,
            },
        }
        images: dict[str, tuple[str, np.ndarray]] = {}
        if plate is not None and self.plates is not None:
            plate_model = self.plates.detector
            manifest["plate"] = {
                "text": plate.text,
                "confidence": round(plate.confidence, 4),
                "box_in_vehicle_crop": [round(v, 1) for v in plate.box],
                "model": _model_block(plate_model),
                "ocr_model": _model_block(self.plates.ocr),
            }
            images["plate_crop"] = ("plate_crop.jpg", plate.crop)
        # The package waits for the clip's last second (on this background thread, never
        # the frame loop) so that one signed manifest lists every file, the clip included.
        # A package that gains files after signing would leave a court asking what else
        # was added later, and an officer would review an incomplete package; an event
        # a few seconds later costs nothing.
        clip = collect_clip(finding.clip, after_s=self.config.evidence.clip_after_s)
        manifest["clip"] = clip.manifest
        package = self.evidence.write_package(
            violation_id,
            {
                **images,
                "frame_before": ("frame_before.jpg", finding.before_frame.image),
                "frame_after": ("frame_after.jpg", after.image),
                "vehicle_crop": (
                    "vehicle_crop.jpg",
                    crop(finding.before_frame.image, candidate.before.box),
                ),
                "overview": (
                    "overview.jpg",
                    annotate_overview(after.image, camera, candidate, finding.signal, offence_utc),
                ),
            },
            manifest,
            files={"clip": (CLIP_NAME, clip.data)} if clip.data is not None else None,
        )
        row = Violation(
            id=violation_id,
            camera_id=camera.id,
            rule_type=candidate.rule_type,
            rule_version=candidate.rule_version,
            track_id=candidate.track_id,
            vehicle_class=candidate.vehicle_class,
            offence_time=offence_utc,
            stream_time_s=candidate.offence_t,
            first_evidence_time=finding.before_frame.wall_time,
            last_evidence_time=after.wall_time,
            measurements=measurements,
            explanation=candidate.explanation,
            scene_version=camera.scene_version,
            evidence_dir=violation_id,
            status="pending",
            plate=plate.text if plate else None,
            plate_confidence=plate.confidence if plate else None,
        )
        events = []
        if self.violations_topic:
            event_id = str(uuid.uuid4())
            events.append(
                PendingEvent(
                    topic=self.violations_topic,
                    key=camera.id,
                    event_id=event_id,
                    payload=violation_event(
                        event_id=event_id,
                        violation_id=violation_id,
                        camera_id=camera.id,
                        camera_name=camera.name,
                        location=camera.location.model_dump(),
                        rule_type=candidate.rule_type,
                        rule_version=candidate.rule_version,
                        vehicle_class=candidate.vehicle_class,
                        track_id=candidate.track_id,
                        offence_time=offence_utc,
                        measurements=measurements,
                        explanation=candidate.explanation,
                        scene_version=camera.scene_version,
                        evidence=[
                            {"kind": f.kind, "uri": f.uri, "sha256": f.sha256, "size": f.size}
                            for f in package.files
                        ],
                        manifest_sha256=package.manifest_sha256,
                        plate=plate.text if plate else None,
                        plate_confidence=plate.confidence if plate else None,
                    ),
                )
            )
        with self.session_factory.begin() as session:
            record_violation(session, row, package.files, events)
        self.recorded.append(violation_id)
        if self.after_commit is not None:
            self.after_commit()
        log.info(
            "camera %s: %s by %s track %d at %.2f s (%s)",
            camera.id,
            candidate.rule_type,
            candidate.vehicle_class,
            candidate.track_id,
            candidate.offence_t,
            violation_id,
        )

    def _read_plate(self, finding: Finding) -> PlateRead | None:
        """Best of the vehicle's crops: the before and after frames' and the best ones
        of its track's life (`Finding.plate_crops`); a reader failure loses the plate,
        never the violation."""
        if self.plates is None:
            return None
        candidate = finding.candidate
        vehicles = [
            crop(finding.before_frame.image, candidate.before.box),
            crop(finding.after_frame.image, candidate.after.box),
        ]
        if finding.plate_crops is not None:
            # The pipeline keeps collecting for `follow_s` of stream time after the
            # offence; a stream that stalls or ends must not hold the evidence back.
            finding.plate_crops.wait(self.config.plates.follow_s + _PLATE_WAIT_SLACK_S)
            vehicles += [c.image for c in finding.plate_crops.best()]
        vote = PlateVote()
        for vehicle in vehicles:
            try:
                vote.add(self.plates.read_vehicle(vehicle))
            except Exception:
                log.exception("camera %s: plate reading failed", finding.camera.id)
        return vote.best()


def _model_block(model: object) -> dict[str, object]:
    # Runtime and precision too: an INT8 or bf16 run of the same weights scores
    # differently, and evidence should say which one saw the offence.
    return {
        "name": getattr(model, "name", None),
        "sha256": getattr(model, "model_sha256", None),
        "runtime": getattr(model, "runtime", None),
        "precision": getattr(model, "precision", None),
    }


def _signal_block(finding: Finding) -> dict[str, object] | None:
    """The controlling head's state at the offence, as the rule saw it."""
    signal = finding.signal
    if signal is None:
        return None
    return {
        "phase": signal.phase.value,
        "source": signal.source,
        "phase_since_stream_s": None if signal.since is None else round(signal.since, 3),
        "changed_at_utc": signal.changed_at.isoformat() if signal.changed_at else None,
    }
