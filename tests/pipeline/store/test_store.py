"""The store on SQLite and on a real PostgreSQL: migrations, the violation +
outbox transaction, listing, reviews and users."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from pipeline.events.relay import as_pending, validate_event, violation_event
from pipeline.store import queries
from pipeline.store.api_tokens import TokenError, add_token, find_token, scope_refusal
from pipeline.store.db import make_engine, migrate, open_database
from pipeline.store.models import (
    AuditEntry,
    Camera,
    EvidenceItem,
    OutboxEvent,
    Review,
    Violation,
)
from pipeline.store.repository import (
    EvidenceFile,
    NotPending,
    ReviewError,
    add_review,
    audit_log,
    count_pending_events,
    get_violation,
    list_violations,
    mark_sent,
    pending_events,
    record_violation,
    reverse_decision,
    upsert_camera,
)
from pipeline.store.users import UserError, add_user, authenticate, set_disabled
from tests.factories import make_violation

T0 = datetime(2025, 3, 14, 8, 30, 0, tzinfo=UTC)
SHA = "ab" * 32


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = open_database(database_url)
    yield factory
    engine.dispose()


EVIDENCE = [
    EvidenceFile(kind="before", uri="file:///ev/before.jpg", sha256=SHA, size=1200),
    EvidenceFile(kind="clip", uri="file:///ev/clip.mp4", sha256="cd" * 32, size=480_000),
]


def event_for(violation: Violation) -> dict[str, Any]:
    return violation_event(
        event_id=str(uuid.uuid4()),
        violation_id=violation.id,
        camera_id=violation.camera_id,
        camera_name="Nga tư Lê Lợi",
        location={"text": "Lê Lợi x Trần Hưng Đạo", "lat": 20.86, "lon": 106.68},
        rule_type=violation.rule_type,
        rule_version=violation.rule_version,
        vehicle_class=violation.vehicle_class,
        track_id=violation.track_id,
        offence_time=violation.offence_time,
        measurements=violation.measurements,
        explanation=violation.explanation,
        scene_version=violation.scene_version,
        evidence=[vars(item) for item in EVIDENCE],
        manifest_sha256=SHA,
        plate=violation.plate,
        plate_confidence=violation.plate_confidence,
    )


def add_camera(session: Session, camera_id: str = "cam-1") -> None:
    upsert_camera(
        session,
        camera_id=camera_id,
        name="Nga tư Lê Lợi",
        location_text="Lê Lợi x Trần Hưng Đạo",
        lat=20.86,
        lon=106.68,
    )


def store_violation(
    sessions: sessionmaker[Session], camera_id: str = "cam-1", **overrides: Any
) -> tuple[Violation, dict[str, Any]]:
    violation = make_violation(camera_id=camera_id, **overrides)
    event = event_for(violation)
    with sessions.begin() as session:
        add_camera(session, camera_id)
        record_violation(session, violation, EVIDENCE, [as_pending(event, "violations")])
    return violation, event


def count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --------------------------------------------------------------------- schema


def test_migrate_twice_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)
        tables = set(inspect(engine).get_table_names())
        assert {
            "cameras", "violations", "evidence_items", "reviews", "audit_log",
            "users", "outbox", "settings", "alembic_version",
        } <= tables  # fmt: skip
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert len(versions) == 1
    finally:
        engine.dispose()


# ------------------------------------------------------ violation + outbox


def test_record_violation_writes_violation_evidence_and_event_together(
    sessions: sessionmaker[Session],
) -> None:
    violation, event = store_violation(sessions)

    with sessions() as session:
        stored = get_violation(session, violation.id)
        assert stored is not None
        assert stored.camera.name == "Nga tư Lê Lợi"
        assert [(e.kind, e.sha256, e.size) for e in stored.evidence] == [
            ("before", SHA, 1200),
            ("clip", "cd" * 32, 480_000),
        ]
        # Times come back UTC-aware on both backends.
        assert stored.offence_time == T0 and stored.offence_time.tzinfo is not None
        assert stored.measurements == {"phase": "red", "time_into_red_s": 1.4}
        [outbox] = pending_events(session)
        assert outbox.event_id == event["event_id"]
        assert (outbox.topic, outbox.key) == ("violations", "cam-1")
        assert outbox.payload == event
        validate_event(outbox.payload)


def test_rolled_back_transaction_leaves_no_violation_and_no_event(
    sessions: sessionmaker[Session],
) -> None:
    violation = make_violation()
    with pytest.raises(RuntimeError, match="evidence upload failed"), sessions.begin() as session:
        add_camera(session)
        record_violation(session, violation, EVIDENCE, [as_pending(event_for(violation), "v")])
        session.flush()  # the rows really reached the database before the rollback
        raise RuntimeError("evidence upload failed")

    with sessions() as session:
        for model in (Camera, Violation, EvidenceItem, OutboxEvent):
            assert count(session, model) == 0, model.__name__


def test_outbox_pending_in_id_order_and_mark_sent(sessions: sessionmaker[Session]) -> None:
    events = [
        store_violation(sessions, offence_time=T0 + timedelta(minutes=i))[1] for i in (0, 1, 2)
    ]
    with sessions.begin() as session:
        pending = pending_events(session)
        assert [row.event_id for row in pending] == [e["event_id"] for e in events]
        mark_sent(session, [pending[0].id])
    with sessions() as session:
        assert [row.event_id for row in pending_events(session)] == [
            e["event_id"] for e in events[1:]
        ]
        assert count_pending_events(session) == 2
        assert [row.event_id for row in pending_events(session, limit=1)] == [events[1]["event_id"]]


# ------------------------------------------------------------------ listing


def test_list_violations_oldest_first_and_status_filter(sessions: sessionmaker[Session]) -> None:
    # Stored out of time order on purpose: the list must sort, not echo insertion.
    late, _ = store_violation(sessions, "cam-2", offence_time=T0 + timedelta(hours=2))
    early, _ = store_violation(sessions, "cam-1", offence_time=T0)
    middle, _ = store_violation(sessions, "cam-1", offence_time=T0 + timedelta(hours=1))
    with sessions.begin() as session:
        add_review(session, violation_id=middle.id, reviewer="officer1", decision="rejected",
                   reason="ambulance")  # fmt: skip

    with sessions() as session:
        assert [v.id for v in list_violations(session)] == [early.id, middle.id, late.id]
        assert [v.id for v in list_violations(session, status="pending")] == [early.id, late.id]
        assert [v.id for v in list_violations(session, status="rejected")] == [middle.id]
        assert list_violations(session, status="confirmed") == []
        assert [v.id for v in list_violations(session, limit=1)] == [early.id]
        assert list_violations(session)[2].camera.id == "cam-2"


# ------------------------------------------------------------------ reviews


def test_add_review_appends_review_audit_and_event(sessions: sessionmaker[Session]) -> None:
    violation, _ = store_violation(sessions)
    decided = T0 + timedelta(days=1)
    with sessions.begin() as session:
        add_review(
            session,
            violation_id=violation.id,
            reviewer="officer1",
            decision="confirmed",
            reason="clear red light",
            plate_correction="88A-123.46",
            reviews_topic="reviews",
            at=decided,
        )

    with sessions() as session:
        stored = get_violation(session, violation.id)
        assert stored is not None
        assert stored.status == "confirmed"
        assert stored.plate == "88A-123.46"
        [review] = stored.reviews
        assert (review.reviewer, review.decision, review.reason) == (
            "officer1", "confirmed", "clear red light",
        )  # fmt: skip
        assert review.plate_correction == "88A-123.46"
        assert review.decided_at == decided
        [entry] = audit_log(session, subject=f"violation:{violation.id}")
        assert (entry.actor, entry.action) == ("officer1", "review.confirmed")
        assert entry.detail["plate_correction"] == "88A-123.46"
        review_events = [row for row in pending_events(session) if row.topic == "reviews"]
        [row] = review_events
        assert row.key == violation.camera_id
        assert row.payload["type"] == "review"
        assert row.payload["violation_id"] == violation.id
        assert row.payload["event_id"] == row.event_id
        validate_event(row.payload)


def test_a_decided_violation_is_refused_and_reversed_only_as_a_reversal(
    sessions: sessionmaker[Session],
) -> None:
    violation, _ = store_violation(sessions)
    with sessions.begin() as session:
        add_review(session, violation_id=violation.id, reviewer="officer1",
                   decision="confirmed", reviews_topic="reviews")  # fmt: skip
    with sessions() as session, pytest.raises(NotPending, match="confirmed already"):
        add_review(session, violation_id=violation.id, reviewer="officer2",
                   decision="rejected", reason="emergency vehicle")  # fmt: skip
    with sessions() as session, pytest.raises(ReviewError, match="needs a reason"):
        reverse_decision(session, violation_id=violation.id, supervisor="chief",
                         decision="rejected", reason=" ")  # fmt: skip
    with sessions.begin() as session:
        reverse_decision(session, violation_id=violation.id, supervisor="chief",
                         decision="rejected", reason="emergency vehicle",
                         reviews_topic="reviews")  # fmt: skip
    with sessions() as session, pytest.raises(ReviewError, match="nothing to reverse"):
        reverse_decision(session, violation_id=violation.id, supervisor="chief",
                         decision="rejected", reason="again")  # fmt: skip

    with sessions() as session:
        stored = get_violation(session, violation.id)
        assert stored is not None
        assert [(r.reviewer, r.decision) for r in stored.reviews] == [
            ("officer1", "confirmed"),
            ("chief", "rejected"),
        ]
        assert stored.status == "rejected"
        assert stored.plate == "88A-123.45"  # no correction given: the read plate stays
        assert count(session, Review) == 2
        entries = audit_log(session, subject=f"violation:{violation.id}")
        assert [e.action for e in entries] == ["review.confirmed", "review.reverse"]
        assert entries[1].detail["from"] == "confirmed" and entries[1].detail["to"] == "rejected"
        review_ids = [row.event_id for row in pending_events(session) if row.topic == "reviews"]
        assert len(set(review_ids)) == 2


@pytest.mark.parametrize("decision", ["approved", "", "CONFIRMED"])
def test_bad_decision_raises_and_writes_nothing(
    sessions: sessionmaker[Session], decision: str
) -> None:
    violation, _ = store_violation(sessions)
    with sessions() as session:
        with pytest.raises(ReviewError, match="decision must be one of"):
            add_review(session, violation_id=violation.id, reviewer="o", decision=decision)
        session.commit()
        assert count(session, Review) == 0
        assert count(session, AuditEntry) == 0
        assert session.get(Violation, violation.id).status == "pending"  # type: ignore[union-attr]


def test_review_of_unknown_violation_raises(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(ReviewError, match="no violation"):
        add_review(session, violation_id="missing", reviewer="o", decision="confirmed")


# -------------------------------------------------------------------- users


def test_users_add_authenticate_disable_duplicate(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        add_user(session, "officer1", "correct horse", "police")

    with sessions() as session:
        user = authenticate(session, "officer1", "correct horse")
        assert user is not None and user.role == "police"
        assert authenticate(session, "officer1", "wrong password") is None
        assert authenticate(session, "nobody", "correct horse") is None

    with sessions.begin() as session, pytest.raises(UserError, match="already exists"):
        add_user(session, "officer1", "another password", "analyst")

    with sessions.begin() as session:
        set_disabled(session, "officer1")
    with sessions() as session:
        assert authenticate(session, "officer1", "correct horse") is None

    with sessions.begin() as session:
        set_disabled(session, "officer1", False)
    with sessions() as session:
        assert authenticate(session, "officer1", "correct horse") is not None


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("officer2", "short", "police", "at least 8"),
        ("officer2", "long enough", "chief", "role must be"),
        ("bad name!", "long enough", "police", "must be letters"),
    ],
)
def test_add_user_rejects_bad_input(
    sessions: sessionmaker[Session], username: str, password: str, role: str, message: str
) -> None:
    with sessions() as session, pytest.raises(UserError, match=message):
        add_user(session, username, password, role)


def test_a_decided_violation_cannot_be_claimed(sessions: sessionmaker[Session]) -> None:
    violation, _ = store_violation(sessions)
    with sessions.begin() as session:
        queries.claim(session, violation.id, officer="officer1", now=T0, timeout_s=600)
        add_review(session, violation_id=violation.id, reviewer="officer1", decision="confirmed")
        queries.release(session, violation.id, officer="officer1")
    for officer in ("officer1", "officer2"):
        with sessions() as session, pytest.raises(queries.ClaimNotPending, match="confirmed"):
            queries.claim(session, violation.id, officer=officer, now=T0, timeout_s=600)
    with sessions() as session:
        assert queries.claim_next(session, officer="officer2", now=T0, timeout_s=600) is None


def test_token_scope_is_stored_with_the_token(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        add_token(
            session,
            "ctl-1",
            "signal-controller",
            cameras=["cam-1", "cam-2"],
            heads=["main", "cam-2/side"],
            controller_id="ctl-7",
        )
    with sessions() as session:
        token = find_token(session, "ctl-1")
        assert token is not None
        assert token.cameras == ["cam-1", "cam-2"] and token.controller_id == "ctl-7"
        assert token.heads == ["cam-1/main", "cam-2/main", "cam-2/side"]

        def refusal(camera: str, head: str, controller: str | None = None) -> str | None:
            assert token is not None
            return scope_refusal(token, camera_id=camera, head_id=head, controller_id=controller)

        assert refusal("cam-2", "side", "ctl-7") is None
        assert refusal("cam-1", "main") is None
        assert "signal head 'side'" in str(refusal("cam-1", "side"))
        assert "camera 'cam-3'" in str(refusal("cam-3", "main"))
        assert "'ctl-9'" in str(refusal("cam-1", "main", "ctl-9"))
    with sessions() as session, pytest.raises(TokenError, match="--camera"):
        add_token(session, "ctl-2", "signal-controller", controller_id="c")
