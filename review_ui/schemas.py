"""Request and response shapes of the review UI, kept apart from the ORM rows."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.store.models import EvidenceItem, Violation
from review_ui.evidence import evidence_url

ViolationStatus = Literal["pending", "confirmed", "rejected"]
StatusFilter = Literal["pending", "confirmed", "rejected", "all"]
Decision = Literal["confirmed", "rejected"]
ReasonCode = Literal[
    "evidence_clear", "vehicle_misidentified", "signal_not_red", "not_a_violation", "other"
]

# The stored reason is English whatever the reviewer's UI language, so the audit
# log and the `reviews` events read the same for every consumer.
REASON_TEXT: dict[str, str] = {
    "evidence_clear": "Evidence clear",
    "vehicle_misidentified": "Vehicle misidentified",
    "signal_not_red": "Signal not red",
    "not_a_violation": "Not a violation",
    "other": "Other",
}
REASON_CODES: tuple[str, ...] = tuple(REASON_TEXT)

# Letters, digits and the separators of Vietnamese plates (`88A-123.45`, two-line
# `88-B1 123.45`); the column holds 20 characters.
_PLATE = re.compile(r"^[A-Z0-9][A-Z0-9 .\-]{0,19}$")


class EvidenceOut(BaseModel):
    kind: str
    uri: str = Field(description="Path relative to the evidence root.")
    url: str | None = Field(description="Where the review UI serves the file.")
    sha256: str
    size: int

    @classmethod
    def from_row(cls, item: EvidenceItem) -> EvidenceOut:
        return cls(
            kind=item.kind, uri=item.uri, url=evidence_url(item), sha256=item.sha256, size=item.size
        )


class ReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    reviewer: str
    decided_at: datetime
    decision: str
    reason: str
    plate_correction: str | None


class ViolationSummary(BaseModel):
    id: str
    camera_id: str
    camera_name: str
    location: str
    rule_type: str
    vehicle_class: str
    offence_time: datetime = Field(description="UTC.")
    plate: str | None
    plate_confidence: float | None
    status: str

    @classmethod
    def from_row(cls, violation: Violation) -> ViolationSummary:
        return cls(
            id=violation.id,
            camera_id=violation.camera_id,
            camera_name=violation.camera.name,
            location=violation.camera.location_text,
            rule_type=violation.rule_type,
            vehicle_class=violation.vehicle_class,
            offence_time=violation.offence_time,
            plate=violation.plate,
            plate_confidence=violation.plate_confidence,
            status=violation.status,
        )


class ViolationDetail(ViolationSummary):
    rule_version: str
    measurements: dict[str, Any]
    explanation: str
    scene_version: str
    evidence: list[EvidenceOut]
    reviews: list[ReviewOut]

    @classmethod
    def from_row(cls, violation: Violation) -> ViolationDetail:
        summary = ViolationSummary.from_row(violation)
        return cls(
            **summary.model_dump(),
            rule_version=violation.rule_version,
            measurements=violation.measurements,
            explanation=violation.explanation,
            scene_version=violation.scene_version,
            evidence=[EvidenceOut.from_row(item) for item in violation.evidence],
            reviews=[ReviewOut.model_validate(review) for review in violation.reviews],
        )


class ReviewRequest(BaseModel):
    """A validated review decision, ready for `repository.add_review`."""

    model_config = ConfigDict(frozen=True)

    decision: Decision
    reason: str
    plate_correction: str | None


def parse_review_form(
    decision: str, reason: str, reason_text: str, plate_correction: str
) -> tuple[ReviewRequest | None, list[str]]:
    """Check the review form.

    Returns:
        The request, or None and the label keys of every problem (shown translated).
    """
    errors: list[str] = []
    if decision not in ("confirmed", "rejected"):
        errors.append("error_decision")
    if reason not in REASON_TEXT:
        errors.append("error_reason")
    details = " ".join(reason_text.split())[:1000]
    if reason == "other" and not details:
        errors.append("error_reason_text")
    plate = " ".join(plate_correction.upper().split())
    if plate and not _PLATE.match(plate):
        errors.append("error_plate")
    if errors:
        return None, errors
    text = REASON_TEXT[reason] + (f": {details}" if details else "")
    request = ReviewRequest.model_validate(
        {"decision": decision, "reason": text, "plate_correction": plate or None}
    )
    return request, []
