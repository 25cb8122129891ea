"""ORM rows. Request/response and event schemas live elsewhere; these are storage only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store UTC-aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON}


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    location_text: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float]
    lon: Mapped[float]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SceneVersion(Base):
    """Every scene (geometry + rules) a camera has run with, by its SHA-256.

    Violations record the version they were judged under; this table keeps the
    scene itself, so a reviewer or a court can see the stop line, lanes and rule
    parameters that applied, long after the config file changed.
    """

    __tablename__ = "scene_versions"

    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    scene: Mapped[dict[str, Any]]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Violation(Base):
    __tablename__ = "violations"
    __table_args__ = (
        Index("ix_violations_status_time", "status", "offence_time"),
        Index("ix_violations_camera_time", "camera_id", "offence_time"),
        # Analysts' history runs newest first over every status: keyset on (time, id).
        Index("ix_violations_time_id", "offence_time", "id"),
        # The officers' queue filtered by camera or rule, oldest pending first.
        Index("ix_violations_status_camera_time", "status", "camera_id", "offence_time"),
        Index("ix_violations_status_rule_time", "status", "rule_type", "offence_time"),
        # History filters by rule or vehicle class; they also list the distinct values
        # for the filter menus by skipping through the index instead of a full scan.
        Index("ix_violations_rule_time", "rule_type", "offence_time"),
        Index("ix_violations_vehicle_time", "vehicle_class", "offence_time"),
        # Plate-prefix search: LIKE 'prefix%' uses a pattern-ops index on PostgreSQL
        # whatever the database's collation.
        Index("ix_violations_plate", "plate", postgresql_ops={"plate": "varchar_pattern_ops"}),
        # Retention looks for decided violations that still have evidence, oldest first;
        # the partial index leaves out the ones already done, so each run stays short.
        Index(
            "ix_violations_retention",
            "status",
            "offence_time",
            sqlite_where=text("evidence_deleted_at IS NULL"),
            postgresql_where=text("evidence_deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    rule_type: Mapped[str] = mapped_column(String(40))
    rule_version: Mapped[str] = mapped_column(String(20))
    track_id: Mapped[int] = mapped_column(BigInteger)
    vehicle_class: Mapped[str] = mapped_column(String(40))
    offence_time: Mapped[datetime]
    stream_time_s: Mapped[float]
    first_evidence_time: Mapped[datetime]
    last_evidence_time: Mapped[datetime]
    measurements: Mapped[dict[str, Any]]
    explanation: Mapped[str] = mapped_column(Text)
    scene_version: Mapped[str] = mapped_column(String(64))
    plate: Mapped[str | None] = mapped_column(String(20), default=None)
    plate_confidence: Mapped[float | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    evidence_dir: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # An officer's review lock: whoever holds an unexpired claim is the only one who may
    # decide. Kept on the row so taking it is one conditional UPDATE on every backend.
    claimed_by: Mapped[str | None] = mapped_column(String(80), default=None)
    claim_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # When retention deleted this violation's evidence files (the rows stay, marked).
    evidence_deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    camera: Mapped[Camera] = relationship()
    evidence: Mapped[list[EvidenceItem]] = relationship(
        back_populates="violation", order_by="EvidenceItem.id"
    )
    reviews: Mapped[list[Review]] = relationship(order_by="Review.id")


class ViolationDailyCount(Base):
    """Violations per local day, camera, rule and status, kept by database triggers.

    Analysts' per-day, per-camera and per-rule charts read a few thousand of these
    rows instead of scanning every violation. Triggers (migration 0005) keep it
    exact for every writer, the worker's inserts and the reviews' status changes alike.
    """

    __tablename__ = "violation_daily_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class EvidenceItem(Base):
    __tablename__ = "evidence_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    violation_id: Mapped[str] = mapped_column(ForeignKey("violations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    uri: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    # Set when retention removed the file: the row stays, so the audit trail still
    # says what the evidence was (its hash and size), when it went and why.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_reason: Mapped[str | None] = mapped_column(String(40), default=None)

    violation: Mapped[Violation] = relationship(back_populates="evidence")


class Review(Base):
    """One reviewer decision. Rows are appended, never updated."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    violation_id: Mapped[str] = mapped_column(ForeignKey("violations.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    plate_correction: Mapped[str | None] = mapped_column(String(20), default=None)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LoginThrottle(Base):
    """Login attempts counted against one key (a user name at an address, or an address).

    Kept in the database, not in process memory, so the limit holds across UI
    workers; one row per key, raised by a conditional UPDATE so parallel guesses
    cannot all pass the check before any of them is counted.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_window_started_at", "window_started_at"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Written into each session cookie; raised on logout, password change and
    # disabling, which ends every session issued before.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Analysts see plates in the history, its CSV and API only with this permission;
    # without it plates are masked and plate search is refused.
    plate_access: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class CameraHealthSample(Base):
    """A camera's health at one moment, as the worker measured it (pruned after retention)."""

    __tablename__ = "camera_health"
    __table_args__ = (Index("ix_camera_health_camera_at", "camera_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    expected_fps: Mapped[float | None] = mapped_column(default=None)
    input_fps: Mapped[float | None] = mapped_column(default=None)
    analysis_fps: Mapped[float | None] = mapped_column(default=None)
    last_frame_age_s: Mapped[float | None] = mapped_column(default=None)
    reconnects: Mapped[int] = mapped_column(default=0)
    decode_errors: Mapped[int] = mapped_column(default=0)
    dropped: Mapped[int] = mapped_column(default=0)
    bitrate_kbps: Mapped[float | None] = mapped_column(default=None)
    # Problems, picture measures, resolution, clock sync: read whole, never filtered on.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CameraAlert(Base):
    """A camera's change of health state; kept for good (operators' incident history)."""

    __tablename__ = "camera_alerts"
    __table_args__ = (Index("ix_camera_alerts_camera_at", "camera_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    at: Mapped[datetime]
    previous_state: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")


class SystemAlert(Base):
    """An alert about the installation rather than a camera (e.g. evidence disk nearly full);
    kept for good, like camera alerts."""

    __tablename__ = "system_alerts"
    __table_args__ = (Index("ix_system_alerts_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxEvent(Base):
    """An event waiting for the relay; written in the same transaction as its subject."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    topic: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ApiToken(Base):
    """A machine client's bearer token (e.g. a signal controller). Only its SHA-256 is
    kept: the token is shown once, when it is made. Revoked tokens stay, marked."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # What the token may speak for: a roadside cabinet's token reports its own junction's
    # heads, never another's. Cameras it may post for; heads as "camera/head" (None:
    # every head of those cameras); the controller id its posts carry. A token without
    # cameras (made before scopes existed) may post nothing.
    cameras: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    heads: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    controller_id: Mapped[str | None] = mapped_column(String(80), default=None)


class SignalPhaseChange(Base):
    """A signal head's phase change as its controller reported it. Rows are appended,
    never updated: the record of what the controller said, and when."""

    __tablename__ = "signal_phase_changes"
    # Workers poll for rows after the last id they saw, for their own cameras.
    __table_args__ = (Index("ix_signal_phase_changes_camera_id", "camera_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    head_id: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(10))
    changed_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    controller_id: Mapped[str | None] = mapped_column(String(80), default=None)
    sequence: Mapped[int | None] = mapped_column(BigInteger, default=None)
    reported_by: Mapped[str] = mapped_column(String(80))
