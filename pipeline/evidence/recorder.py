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

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from models.detector import Detector
from models.plates import PlateRead, PlateReader, PlateVote
from pipeline.config import AppConfig
from pipeline.evidence.clips import CLIP_NAME, collect_clip
from pipeline.evidence.leftovers import EvidenceRootLease
from pipeline.evidence.package import (
    EvidencePackage,
    annotate_overview,
    crop,
    open_evidence_store,
)
from pipeline.evidence.record import ModelsUsed, ViolationRecord, model_block
from pipeline.runtime.camera_pipeline import Finding
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
        violation_id = str(uuid.uuid4())
        plate = self._read_plate(finding)
        record = ViolationRecord.from_finding(
            finding,
            violation_id=violation_id,
            models=self._models_used(),
            clock_sync=clock_sync_status(),
            plate=plate,
        )
        package = self._write_package(finding, record)
        self._store(record, package)
        candidate = finding.candidate
        log.info(
            "camera %s: %s by %s track %d at %.2f s (%s)",
            record.camera_id,
            candidate.rule_type,
            candidate.vehicle_class,
            candidate.track_id,
            candidate.offence_t,
            record.violation_id,
        )

    def _models_used(self) -> ModelsUsed:
        if self.plates is None:
            return ModelsUsed(detector=model_block(self.detector))
        return ModelsUsed(
            detector=model_block(self.detector),
            plate_detector=model_block(self.plates.detector),
            ocr=model_block(self.plates.ocr),
        )

    def _write_package(self, finding: Finding, record: ViolationRecord) -> EvidencePackage:
        """The key frames, crops, clip and signed manifest of one violation."""
        candidate, before, after = finding.candidate, finding.before_frame, finding.after_frame
        images: dict[str, tuple[str, np.ndarray]] = {}
        if record.plate is not None:
            images["plate_crop"] = ("plate_crop.jpg", record.plate.crop)
        # The package waits for the clip's last second (on this background thread, never
        # the frame loop) so that one signed manifest lists every file, the clip included.
        # A package that gains files after signing would leave a court asking what else
        # was added later, and an officer would review an incomplete package; an event
        # a few seconds later costs nothing.
        clip = collect_clip(finding.clip, after_s=self.config.evidence.clip_after_s)
        return self.evidence.write_package(
            record.violation_id,
            {
                **images,
                "frame_before": ("frame_before.jpg", before.image),
                "frame_after": ("frame_after.jpg", after.image),
                "vehicle_crop": ("vehicle_crop.jpg", crop(before.image, candidate.before.box)),
                "overview": (
                    "overview.jpg",
                    annotate_overview(
                        after.image, finding.camera, candidate, finding.signal, record.offence_utc
                    ),
                ),
            },
            record.manifest(clip.manifest),
            files={"clip": (CLIP_NAME, clip.data)} if clip.data is not None else None,
        )

    def _store(self, record: ViolationRecord, package: EvidencePackage) -> None:
        """The row, its evidence rows and its event, in one transaction."""
        events = []
        if self.violations_topic:
            event_id = str(uuid.uuid4())
            events.append(
                PendingEvent(
                    topic=self.violations_topic,
                    key=record.camera_id,
                    event_id=event_id,
                    payload=record.event(event_id, package),
                )
            )
        with self.session_factory.begin() as session:
            record_violation(session, record.row(), package.files, events)
        self.recorded.append(record.violation_id)
        if self.after_commit is not None:
            self.after_commit()

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
