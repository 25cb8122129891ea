"""Request and response shapes of the review UI, kept apart from the ORM rows."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.store.models import EvidenceItem, Violation
from pipeline.store.queries import LOCAL_TZ_NAME, CountBy, Cursor, HistoryFilter
from review_ui.access import mask_plate
from review_ui.evidence import evidence_url

LOCAL_TZ = ZoneInfo(LOCAL_TZ_NAME)

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
    # Never where the file lies (a server path or an s3:// URI): the UI's own URL only.
    id: int = Field(description="The evidence item's id.")
    kind: str
    url: str | None = Field(
        description="Where the review UI serves the file; null once retention deleted it."
    )
    sha256: str
    size: int
    deleted_at: datetime | None = Field(
        default=None, description="When retention deleted the file (UTC); the record stays."
    )
    deleted_reason: str | None = Field(
        default=None, description="Why retention deleted it: `age` or `disk_full`."
    )

    @classmethod
    def from_row(cls, item: EvidenceItem) -> EvidenceOut:
        return cls(
            id=item.id,
            kind=item.kind,
            url=None if item.deleted_at is not None else evidence_url(item),
            sha256=item.sha256,
            size=item.size,
            deleted_at=item.deleted_at,
            deleted_reason=item.deleted_reason,
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
    def from_row(cls, violation: Violation, *, plates: bool = True) -> ViolationSummary:
        """The row as the API shows it; `plates` False masks the plate (`mask_plate`)."""
        return cls(
            id=violation.id,
            camera_id=violation.camera_id,
            camera_name=violation.camera.name,
            location=violation.camera.location_text,
            rule_type=violation.rule_type,
            vehicle_class=violation.vehicle_class,
            offence_time=violation.offence_time,
            plate=violation.plate if plates else mask_plate(violation.plate),
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
    def from_row(cls, violation: Violation, *, plates: bool = True) -> ViolationDetail:
        summary = ViolationSummary.from_row(violation, plates=plates)
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


# ---------------------------------------------------------------- analysts' history


def _empty_is_none(value: Any) -> Any:
    """HTML forms send an untouched field as ""; it means "no filter"."""
    return None if isinstance(value, str) and not value.strip() else value


class HistoryQuery(BaseModel):
    """History filters, as query parameters of the page, the CSV export and the API.

    Times without an offset are read as Vietnam time, the way the form shows them.
    """

    model_config = ConfigDict(extra="forbid")

    start: datetime | None = Field(default=None, description="From this time (inclusive).")
    end: datetime | None = Field(default=None, description="Up to this time (exclusive).")
    camera_id: str | None = Field(default=None, max_length=64)
    rule_type: str | None = Field(default=None, max_length=40)
    vehicle_class: str | None = Field(default=None, max_length=40)
    plate_prefix: str | None = Field(
        default=None, max_length=20, description="Start of the plate, e.g. `29A`."
    )
    status: ViolationStatus | None = None

    _blank = field_validator("*", mode="before")(_empty_is_none)

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=LOCAL_TZ)
        try:
            # The query needs it in UTC and the form in local time: 0001-01-01T00:00+01:00
            # or 9999-12-31T23:59-01:00 has no such time (was an OverflowError, a 500).
            value.astimezone(UTC)
            value.astimezone(LOCAL_TZ)
        except OverflowError:
            raise ValueError("is too close to the year 1 or 9999 to convert to UTC") from None
        return value

    @field_validator("plate_prefix")
    @classmethod
    def _plate(cls, value: str | None) -> str | None:
        return "".join(value.upper().split()) if value else value

    def to_filter(self) -> HistoryFilter:
        return HistoryFilter(
            start=self.start.astimezone(UTC) if self.start else None,
            end=self.end.astimezone(UTC) if self.end else None,
            camera_id=self.camera_id,
            rule_type=self.rule_type,
            vehicle_class=self.vehicle_class,
            plate_prefix=self.plate_prefix,
            status=self.status,
        )

    def form_values(self) -> dict[str, str]:
        """The filters as the form's fields hold them (local times, `YYYY-MM-DDTHH:MM`)."""
        values = {
            "camera_id": self.camera_id or "",
            "rule_type": self.rule_type or "",
            "vehicle_class": self.vehicle_class or "",
            "plate_prefix": self.plate_prefix or "",
            "status": self.status or "",
        }
        for name in ("start", "end"):
            moment: datetime | None = getattr(self, name)
            values[name] = moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M") if moment else ""
        return values

    def query_string(self) -> str:
        """URL query of the non-empty filters, to carry them into links (next page, CSV)."""
        return urlencode({k: v for k, v in self.form_values().items() if v})


def encode_cursor(cursor: Cursor | None) -> str | None:
    """An opaque page token for (offence_time, id)."""
    if cursor is None:
        return None
    raw = f"{cursor[0].astimezone(UTC).isoformat()}|{cursor[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None) -> Cursor | None:
    """The (offence_time, id) a token names.

    Raises:
        ValueError: the token was not made by `encode_cursor`.
    """
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        moment, violation_id = raw.split("|", 1)
        when = datetime.fromisoformat(moment)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("bad page cursor") from exc
    if when.tzinfo is None or not violation_id:
        raise ValueError("bad page cursor")
    return when, violation_id


class HistoryPage(BaseModel):
    items: list[ViolationSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class CountOut(BaseModel):
    label: str = Field(description="Local hour `YYYY-MM-DD HH:00`, local day, camera id or rule.")
    count: int


class CountsOut(BaseModel):
    by: CountBy
    total: int
    counts: list[CountOut]


# Column order of the CSV export; the test compares these against the database.
CSV_COLUMNS = (
    "id",
    "offence_time_utc",
    "offence_time_local",
    "camera_id",
    "rule_type",
    "vehicle_class",
    "plate",
    "plate_confidence",
    "status",
)


# A cell starting with one of these is a formula to Excel, LibreOffice and Sheets
# (`=HYPERLINK(...)`, `+cmd|...`, `@SUM`, and tab or CR before one).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """`value` made inert for spreadsheets: a leading `'` before a formula character.

    Cells come from camera ids, rule types, plates corrected by hand and the like;
    one that starts a formula would run when an analyst opens the export.
    """
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_row(violation: Violation, *, plates: bool = True) -> list[str]:
    """One export row; `plates` False masks the plate."""
    plate = violation.plate if plates else mask_plate(violation.plate)
    cells = [
        violation.id,
        violation.offence_time.astimezone(UTC).isoformat(),
        violation.offence_time.astimezone(LOCAL_TZ).isoformat(),
        violation.camera_id,
        violation.rule_type,
        violation.vehicle_class,
        plate or "",
        "" if violation.plate_confidence is None else f"{violation.plate_confidence:.4f}",
        violation.status,
    ]
    return [csv_cell(cell) for cell in cells]


class HistoryListQuery(HistoryQuery):
    """History filters plus the page: `cursor` from the previous page's `next_cursor`."""

    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)


class CountsQuery(HistoryQuery):
    """History filters plus how to group the counts."""

    by: CountBy = "day"
