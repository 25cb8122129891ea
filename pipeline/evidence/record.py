"""One violation's facts, gathered once from a finding.

The manifest, the database row and the outbox event each state the same violation;
building all three from one `ViolationRecord` keeps them from drifting apart (an id,
a time or a rule version spelled differently in one of them would leave a court or
a consumer with two stories of the same offence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from models.plates import PlateRead
from pipeline.events.relay import violation_event
from pipeline.evidence.package import MANIFEST_SCHEMA_VERSION, EvidencePackage
from pipeline.geometry import Box
from pipeline.runtime.camera_pipeline import Finding
from pipeline.signals.image import SignalState
from pipeline.store.models import Violation


@dataclass(frozen=True)
class ModelsUsed:
    """The model blocks (`model_block`) of the models that saw the violation."""

    detector: dict[str, object]
    plate_detector: dict[str, object] | None = None
    ocr: dict[str, object] | None = None


@dataclass(frozen=True)
class ViolationRecord:
    """What is known of one violation before its evidence is written.

    Build it with `from_finding`; `manifest`, `row` and `event` state it for the
    evidence package, the database and Kafka.
    """

    violation_id: str
    camera_id: str
    camera_name: str
    location: dict[str, Any]
    """`{"text", "lat", "lon"}` of the camera."""
    scene_version: str
    rule_type: str
    rule_version: str
    explanation: str
    measurements: dict[str, Any]
    vehicle_class: str
    track_id: int
    box_before: Box
    box_after: Box
    offence_stream_s: float
    offence_utc: datetime
    first_evidence_utc: datetime
    last_evidence_utc: datetime
    clock_sync: str
    signal: SignalState | None
    models: ModelsUsed
    plate: PlateRead | None = None

    @classmethod
    def from_finding(
        cls,
        finding: Finding,
        *,
        violation_id: str,
        models: ModelsUsed,
        clock_sync: str,
        plate: PlateRead | None = None,
    ) -> ViolationRecord:
        candidate, camera, after = finding.candidate, finding.camera, finding.after_frame
        # The offence's wall-clock time, from the 'after' frame's and the offence's
        # stream times: the frame's wall time is the one the stream delivered.
        offence_utc = after.wall_time - timedelta(seconds=after.pts - candidate.offence_t)
        return cls(
            violation_id=violation_id,
            camera_id=camera.id,
            camera_name=camera.name,
            location=camera.location.model_dump(),
            scene_version=camera.scene_version,
            rule_type=candidate.rule_type,
            rule_version=candidate.rule_version,
            explanation=candidate.explanation,
            measurements=dict(candidate.measurements),
            vehicle_class=candidate.vehicle_class,
            track_id=candidate.track_id,
            box_before=candidate.before.box,
            box_after=candidate.after.box,
            offence_stream_s=candidate.offence_t,
            offence_utc=offence_utc,
            first_evidence_utc=finding.before_frame.wall_time,
            last_evidence_utc=after.wall_time,
            clock_sync=clock_sync,
            signal=finding.signal,
            models=models,
            plate=plate,
        )

    def manifest(self, clip: dict[str, Any]) -> dict[str, Any]:
        """The manifest's fields (the package adds `files` and the signature);
        `clip` is the clip's manifest block (`collect_clip`)."""
        manifest: dict[str, Any] = {
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "violation_id": self.violation_id,
            "camera": {"id": self.camera_id, "name": self.camera_name, "location": self.location},
            "times": {
                "offence_utc": self.offence_utc.isoformat(),
                "first_evidence_utc": self.first_evidence_utc.isoformat(),
                "last_evidence_utc": self.last_evidence_utc.isoformat(),
                "offence_stream_s": round(self.offence_stream_s, 3),
                "clock_sync": self.clock_sync,
            },
            "rule": {
                "type": self.rule_type,
                "version": self.rule_version,
                "measurements": self.measurements,
                "explanation": self.explanation,
            },
            "vehicle": {
                "class": self.vehicle_class,
                "track_id": self.track_id,
                "box_before": list(self.box_before),
                "box_after": list(self.box_after),
            },
            "scene_version": self.scene_version,
            "signal": signal_block(self.signal),
            "models": {
                "detector": self.models.detector,
                "plate_detector": self.models.plate_detector,
            },
        }
        if self.plate is not None:
            manifest["plate"] = {
                "text": self.plate.text,
                "confidence": round(self.plate.confidence, 4),
                "box_in_vehicle_crop": [round(v, 1) for v in self.plate.box],
                "model": self.models.plate_detector,
                "ocr_model": self.models.ocr,
            }
        manifest["clip"] = clip
        return manifest

    def row(self) -> Violation:
        """The violation's database row, pending review, its evidence under its id."""
        return Violation(
            id=self.violation_id,
            camera_id=self.camera_id,
            rule_type=self.rule_type,
            rule_version=self.rule_version,
            track_id=self.track_id,
            vehicle_class=self.vehicle_class,
            offence_time=self.offence_utc,
            stream_time_s=self.offence_stream_s,
            first_evidence_time=self.first_evidence_utc,
            last_evidence_time=self.last_evidence_utc,
            measurements=self.measurements,
            explanation=self.explanation,
            scene_version=self.scene_version,
            evidence_dir=self.violation_id,
            status="pending",
            plate=self.plate.text if self.plate else None,
            plate_confidence=self.plate.confidence if self.plate else None,
        )

    def event(self, event_id: str, package: EvidencePackage) -> dict[str, Any]:
        """The `violation` event, listing the written package's files."""
        return violation_event(
            event_id=event_id,
            violation_id=self.violation_id,
            camera_id=self.camera_id,
            camera_name=self.camera_name,
            location=self.location,
            rule_type=self.rule_type,
            rule_version=self.rule_version,
            vehicle_class=self.vehicle_class,
            track_id=self.track_id,
            offence_time=self.offence_utc,
            measurements=self.measurements,
            explanation=self.explanation,
            scene_version=self.scene_version,
            evidence=[
                {"kind": f.kind, "uri": f.uri, "sha256": f.sha256, "size": f.size}
                for f in package.files
            ],
            manifest_sha256=package.manifest_sha256,
            plate=self.plate.text if self.plate else None,
            plate_confidence=self.plate.confidence if self.plate else None,
        )


def model_block(model: object) -> dict[str, object]:
    """A model's name, weights hash, runtime and precision, for the manifest."""
    # Runtime and precision too: an INT8 or bf16 run of the same weights scores
    # differently, and evidence should say which one saw the offence.
    return {
        "name": getattr(model, "name", None),
        "sha256": getattr(model, "model_sha256", None),
        "runtime": getattr(model, "runtime", None),
        "precision": getattr(model, "precision", None),
    }


def signal_block(signal: SignalState | None) -> dict[str, object] | None:
    """The controlling head's state at the offence, as the rule saw it."""
    if signal is None:
        return None
    return {
        "phase": signal.phase.value,
        "source": signal.source,
        "phase_since_stream_s": None if signal.since is None else round(signal.since, 3),
        "changed_at_utc": signal.changed_at.isoformat() if signal.changed_at else None,
    }
