"""Evidence retention on SQLite and PostgreSQL, with real files on a real small tmpfs
whose free space the test controls by what it writes."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.cli.main import main
from pipeline.config import (
    AppConfig,
    ConfigError,
    EvidenceConfig,
    KafkaConfig,
    RetentionConfig,
    parse_config,
)
from pipeline.events.relay import validate_event
from pipeline.evidence.package import write_atomic
from pipeline.ops.retention import (
    DISK_ALERT_KIND,
    EvidenceRetention,
    disk_space,
    minimum_free,
    start_retention,
)
from pipeline.store.blobs import S3BlobStore
from pipeline.store.db import open_database
from pipeline.store.hashing import sha256_bytes
from pipeline.store.models import (
    AuditEntry,
    EvidenceItem,
    OutboxEvent,
    Review,
    SystemAlert,
    Violation,
)
from pipeline.store.repository import (
    EvidenceFile,
    add_review,
    get_violation,
    record_violation,
    upsert_camera,
)
from pipeline.store.retention import RetentionRefused, deletable_evidence, mark_evidence_deleted
from tests.factories import make_violation
from tests.fixtures.s3 import S3Server

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
KIB = 1024
TMPFS_SIZE = 4 * 1024 * KIB


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs mounted for this test: its free space is exactly what the files leave."""
    mount_point = tmp_path / "evidence"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = open_database(database_url)
    with factory.begin() as session:
        upsert_camera(
            session, camera_id="cam-1", name="Kim Ma", location_text="Kim Ma", lat=21.0, lon=105.8
        )
    yield factory
    engine.dispose()


def config_for(root: Path, database_url: str = "sqlite://", **retention: object) -> AppConfig:
    return AppConfig(
        database_url=database_url,
        evidence=EvidenceConfig(path=root),
        kafka=KafkaConfig(bootstrap_servers=["127.0.0.1:9"]),
        retention=RetentionConfig.model_validate(retention),
    )


def add_violation(
    sessions: sessionmaker[Session],
    root: Path,
    *,
    days_ago: float,
    status: str = "pending",
    size: int = 64 * KIB,
    claimed_by: str | None = None,
) -> str:
    """A violation with two real evidence files (random bytes, `size` in all) on `root`,
    reviewed into `status` when that is not pending."""
    violation_id = str(uuid.uuid4())
    (root / violation_id).mkdir()
    files = []
    for kind, part in (("frame_before", size // 2), ("frame_after", size - size // 2)):
        data = os.urandom(part)
        write_atomic(root / violation_id / f"{kind}.jpg", data)
        files.append(
            EvidenceFile(kind, f"{violation_id}/{kind}.jpg", sha256_bytes(data), len(data))
        )
    offence = NOW - timedelta(days=days_ago)
    with sessions.begin() as session:
        record_violation(
            session,
            make_violation(id=violation_id, camera_id="cam-1", offence_time=offence),
            files,
            [],
        )
    if status != "pending":
        with sessions.begin() as session:
            add_review(
                session,
                violation_id=violation_id,
                reviewer="officer",
                decision=status,
                reason="test",
                at=offence + timedelta(hours=1),
            )
    if claimed_by is not None:
        with sessions.begin() as session:
            row = session.get(Violation, violation_id)
            assert row is not None
            row.claimed_by, row.claim_expires_at = claimed_by, NOW + timedelta(minutes=10)
    return violation_id


def fill(root: Path, leave_free: int) -> None:
    """Write a filler file (not evidence) so that about `leave_free` bytes stay free."""
    free = disk_space(root).free
    write_atomic(root / "_filler.bin", b"\0" * max(0, free - leave_free))


def retention(
    config: AppConfig, sessions: sessionmaker[Session], *, space: bool = True
) -> EvidenceRetention:
    return EvidenceRetention(
        config, sessions, clock=lambda: NOW, space="statvfs" if space else None
    )


def has_files(root: Path, violation_id: str) -> bool:
    return (root / violation_id / "frame_before.jpg").is_file()


def test_age_pass_respects_each_status_and_keeps_rows_reviews_and_audit(
    sessions: sessionmaker[Session], small_disk: Path
) -> None:
    root = small_disk
    old_rejected = add_violation(sessions, root, days_ago=31, status="rejected")
    young_rejected = add_violation(sessions, root, days_ago=29, status="rejected")
    old_confirmed = add_violation(sessions, root, days_ago=400, status="confirmed")
    young_confirmed = add_violation(sessions, root, days_ago=300, status="confirmed")
    ancient_pending = add_violation(sessions, root, days_ago=5000)
    config = config_for(root, rejected_days=30, confirmed_days=365, min_free_fraction=0)

    report = retention(config, sessions).run()

    assert {(d.violation_id, d.reason) for d in report.deletions} == {
        (old_rejected, "age"),
        (old_confirmed, "age"),
    }
    assert not has_files(root, old_rejected) and not has_files(root, old_confirmed)
    assert not (root / old_rejected).exists()
    for kept in (young_rejected, young_confirmed, ancient_pending):
        assert has_files(root, kept)
    with sessions() as session:
        gone = get_violation(session, old_rejected)
        assert gone is not None and gone.status == "rejected"  # the row stays
        assert gone.evidence_deleted_at == NOW
        assert [(e.kind, e.deleted_at, e.deleted_reason) for e in gone.evidence] == [
            ("frame_before", NOW, "age"),
            ("frame_after", NOW, "age"),
        ]
        assert all(len(e.sha256) == 64 and e.size > 0 for e in gone.evidence)  # what it was
        assert [r.decision for r in gone.reviews] == ["rejected"]
        kept_row = get_violation(session, young_rejected)
        assert kept_row is not None and kept_row.evidence_deleted_at is None
        assert all(e.deleted_at is None for e in kept_row.evidence)
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "evidence.deleted")
        ).all()
        assert sorted(a.subject for a in audit) == sorted(
            f"violation:{v}" for v in (old_rejected, old_confirmed)
        )
        assert all(a.actor == "retention" and a.detail["reason"] == "age" for a in audit)
        assert session.scalars(select(SystemAlert)).all() == []  # the disk has room

    again = retention(config, sessions).run()
    assert again.deletions == []  # done once, not repeated


def test_keep_for_good_when_a_status_has_no_age(
    sessions: sessionmaker[Session], small_disk: Path
) -> None:
    confirmed = add_violation(sessions, small_disk, days_ago=9000, status="confirmed")
    config = config_for(small_disk, confirmed_days=None, min_free_fraction=0)
    assert retention(config, sessions).run().deletions == []
    assert has_files(small_disk, confirmed)


def test_disk_full_frees_space_oldest_first_until_there_is_room(
    sessions: sessionmaker[Session], small_disk: Path
) -> None:
    root = small_disk
    # All far younger than their age limit: only the disk pass may take them.
    rejected = [
        add_violation(sessions, root, days_ago=days, status="rejected", size=400 * KIB)
        for days in (3, 9, 1, 7, 5)
    ]
    by_age = [rejected[i] for i in (1, 3, 4, 0, 2)]  # oldest offence first
    confirmed = add_violation(sessions, root, days_ago=20, status="confirmed", size=400 * KIB)
    minimum = 1200 * KIB
    fill(root, leave_free=300 * KIB)
    before = disk_space(root)
    assert before.free < minimum
    config = config_for(root, min_free_bytes=minimum, min_free_fraction=0.01)

    report = retention(config, sessions).run()

    deleted = [d.violation_id for d in report.deletions]
    assert all(d.reason == "disk_full" for d in report.deletions)
    after = disk_space(root)
    assert after.free >= minimum
    # Oldest first, and no more than needed: one fewer would not have been enough.
    assert deleted == by_age[: len(deleted)]
    assert 2 <= len(deleted) < len(by_age)
    assert after.free - report.deletions[-1].size < minimum
    for violation_id in by_age[len(deleted) :]:
        assert has_files(root, violation_id)
    assert has_files(root, confirmed)  # confirmed is not in early_statuses by default

    with sessions() as session:
        [alert] = session.scalars(select(SystemAlert)).all()
        assert (alert.kind, alert.severity) == (DISK_ALERT_KIND, "warning")
        assert alert.detail["deleted_violations"] == len(deleted)
        assert alert.detail["free_bytes_before"] == before.free
        [event] = session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == "system-alerts")
        ).all()
    assert event.payload["event_id"] == alert.event_id == event.event_id
    assert event.key == DISK_ALERT_KIND
    validate_event(event.payload)


def test_never_deletes_evidence_under_review_even_when_oldest_and_disk_full(
    sessions: sessionmaker[Session], small_disk: Path
) -> None:
    root = small_disk
    pending = add_violation(sessions, root, days_ago=9000, size=400 * KIB)
    claimed = add_violation(
        sessions, root, days_ago=8000, status="rejected", size=400 * KIB, claimed_by="officer"
    )
    pending_claimed = add_violation(
        sessions, root, days_ago=7000, size=400 * KIB, claimed_by="officer"
    )
    rejected = add_violation(sessions, root, days_ago=2, status="rejected", size=400 * KIB)
    fill(root, leave_free=100 * KIB)
    config = config_for(
        root,
        rejected_days=1,  # the claimed one is far past its age, too
        min_free_bytes=3 * 1024 * KIB,
        early_statuses=["rejected", "confirmed"],
    )

    report = retention(config, sessions).run()

    assert [d.violation_id for d in report.deletions] == [rejected]
    for under_review in (pending, claimed, pending_claimed):
        assert has_files(root, under_review)
    assert report.alert is not None and "nothing more may be deleted" in report.alert
    with sessions() as session:
        for under_review in (pending, claimed, pending_claimed):
            row = get_violation(session, under_review)
            assert row is not None and row.evidence_deleted_at is None
            assert all(e.deleted_at is None for e in row.evidence)
        [alert] = session.scalars(select(SystemAlert)).all()
        assert alert.severity == "critical"
        assert alert.detail["free_bytes_after"] < alert.detail["minimum_free_bytes"]


def test_a_disk_stuck_full_is_alerted_again_only_after_the_repeat_interval(
    sessions: sessionmaker[Session], small_disk: Path
) -> None:
    add_violation(sessions, small_disk, days_ago=10, size=400 * KIB)  # pending: kept
    fill(small_disk, leave_free=100 * KIB)
    config = config_for(small_disk, min_free_bytes=3 * 1024 * KIB, stuck_alert_every_s=6 * 3600)
    now = [NOW]
    job = EvidenceRetention(config, sessions, clock=lambda: now[0])

    def stored_alerts() -> list[datetime]:
        with sessions() as session:
            return [a.at.replace(tzinfo=UTC) for a in session.scalars(select(SystemAlert))]

    reports = []
    for hours in (0, 1, 5, 7):  # hourly runs, as the worker does by default
        now[0] = NOW + timedelta(hours=hours)
        reports.append(job.run())
    # Every run still finds the disk stuck and says so in its report...
    assert all(r.alert and "nothing more may be deleted" in r.alert for r in reports)
    # ...but only the first run and the first one past the interval store an alert.
    assert stored_alerts() == [NOW, NOW + timedelta(hours=7)]

    # Once there is room again, the next shortage is alerted at once.
    (small_disk / "_filler.bin").unlink()
    now[0] = NOW + timedelta(hours=8)
    assert job.run().alert is None
    fill(small_disk, leave_free=100 * KIB)
    now[0] = NOW + timedelta(hours=9)
    job.run()
    assert stored_alerts()[-1] == NOW + timedelta(hours=9)


def test_a_claim_taken_after_listing_wins(
    sessions: sessionmaker[Session], small_disk: Path
) -> None:
    violation_id = add_violation(sessions, small_disk, days_ago=100, status="rejected")
    with sessions() as session:
        [holder] = deletable_evidence(session, older_than={"rejected": NOW}, now=NOW)
    with sessions.begin() as session:
        row = session.get(Violation, violation_id)
        assert row is not None
        row.claimed_by, row.claim_expires_at = "officer", NOW + timedelta(minutes=5)
    with sessions.begin() as session:
        marked = mark_evidence_deleted(session, holder, statuses=["rejected"], reason="age", at=NOW)
    assert marked is False
    with sessions() as session:
        row = get_violation(session, violation_id)
        assert row is not None and row.evidence_deleted_at is None
        assert all(e.deleted_at is None for e in row.evidence)


def test_pending_is_refused_by_the_store_and_the_config(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(RetentionRefused, match="pending"):
        deletable_evidence(session, older_than={"pending": NOW}, now=NOW)
    with pytest.raises(ConfigError, match="retention.early_statuses"):
        parse_config({"retention": {"early_statuses": ["pending"]}})
    with pytest.raises(ConfigError, match="retention.min_free_fraction"):
        parse_config({"retention": {"min_free_fraction": 1.5}})
    with pytest.raises(ConfigError, match=r"retention.keep_days: unknown key"):
        parse_config({"retention": {"keep_days": 3}})


def test_dry_run_deletes_nothing(sessions: sessionmaker[Session], small_disk: Path) -> None:
    root = small_disk
    old = add_violation(sessions, root, days_ago=100, status="rejected", size=400 * KIB)
    young = [
        add_violation(sessions, root, days_ago=d, status="rejected", size=400 * KIB) for d in (3, 2)
    ]
    fill(root, leave_free=200 * KIB)
    before = disk_space(root)
    config = config_for(root, rejected_days=30, min_free_bytes=before.free + 500 * KIB)

    report = retention(config, sessions).run(dry_run=True)

    assert report.dry_run
    assert [(d.violation_id, d.reason) for d in report.deletions] == [
        (old, "age"),
        (young[0], "disk_full"),
    ]
    assert report.alert is not None and "would delete" in report.alert
    assert disk_space(root).free == before.free
    for violation_id in (old, *young):
        assert has_files(root, violation_id)
    with sessions() as session:
        marked_files = select(EvidenceItem).where(EvidenceItem.deleted_at.is_not(None))
        marked = select(Violation).where(Violation.evidence_deleted_at.is_not(None))
        audited = select(AuditEntry).where(AuditEntry.action == "evidence.deleted")
        for nothing in (marked_files, marked, audited, select(SystemAlert)):
            assert session.scalars(nothing).all() == []
        assert len(session.scalars(select(Review)).all()) == 3


def test_minimum_free_is_the_larger_limit(small_disk: Path) -> None:
    space = disk_space(small_disk)
    assert space.total == TMPFS_SIZE
    assert minimum_free(space, RetentionConfig(min_free_fraction=0.5)) == TMPFS_SIZE // 2
    assert (
        minimum_free(space, RetentionConfig(min_free_fraction=0.1, min_free_bytes=TMPFS_SIZE))
        == TMPFS_SIZE
    )


def test_cli_retention_run_prints_and_dry_run_keeps(
    tmp_path: Path, small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database_url = f"sqlite:///{tmp_path / 'trafficcam.db'}"
    _, factory = open_database(database_url)
    with factory.begin() as session:
        upsert_camera(
            session, camera_id="cam-1", name="Kim Ma", location_text="Kim Ma", lat=21.0, lon=105.8
        )
    old = add_violation(factory, small_disk, days_ago=100, status="rejected")
    config_path = tmp_path / "trafficcam.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "database_url": database_url,
                "evidence": {"path": str(small_disk)},
                "retention": {"rejected_days": 30, "min_free_fraction": 0},
            }
        )
    )
    # The CLI reads the clock: the violation is 100 days before NOW, long before today too.
    assert main(["retention", "run", "--dry-run", "--config", str(config_path)]) == 0
    out = capsys.readouterr().out
    assert f"would delete {old}" in out and "rejected" in out and "age" in out
    assert has_files(small_disk, old)

    assert main(["retention", "run", "--config", str(config_path)]) == 0
    out = capsys.readouterr().out
    assert f"deleted {old}" in out
    assert not has_files(small_disk, old)

    # Verifying every package passes: deleted evidence is reported, not counted as lost.
    assert main(["evidence", "public-key", "--config", str(config_path)]) == 0
    capsys.readouterr()
    assert main(["evidence", "verify", "--all", "--config", str(config_path)]) == 0
    out = capsys.readouterr().out
    today = datetime.now(UTC).date().isoformat()
    assert f"{old}: evidence deleted under retention on {today}" in out
    assert "0 problem(s)" in out

    assert main(["retention", "run", "--config", str(tmp_path / "missing.yaml")]) == 1
    assert "cannot read config" in capsys.readouterr().err


def test_worker_thread_runs_retention_periodically_and_stops(
    sessions: sessionmaker[Session], small_disk: Path
) -> None:
    old = add_violation(sessions, small_disk, days_ago=400, status="rejected")
    disabled = config_for(small_disk, enabled=False)
    assert start_retention(disabled, sessions, threading.Event()) is None

    config = config_for(small_disk, rejected_days=30, min_free_fraction=0, check_every_s=0.2)
    stop = threading.Event()
    thread = start_retention(config, sessions, stop)
    assert thread is not None
    try:
        deadline = time.monotonic() + 10
        while has_files(small_disk, old) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not has_files(small_disk, old)
        # A violation decided later is picked up by a later run of the same thread.
        later = add_violation(sessions, small_disk, days_ago=60, status="rejected")
        deadline = time.monotonic() + 10
        while has_files(small_disk, later) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not has_files(small_disk, later)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_files_left_by_a_crash_after_the_commit_are_removed_by_the_next_process(
    sessions: sessionmaker[Session], small_disk: Path
) -> None:
    violation_id = add_violation(sessions, small_disk, days_ago=100, status="rejected")
    untouched = add_violation(sessions, small_disk, days_ago=100, status="confirmed")
    # What a run that died right after its commit leaves: rows marked, files still there.
    with sessions() as session:
        [holder] = deletable_evidence(session, older_than={"rejected": NOW}, now=NOW)
    with sessions.begin() as session:
        assert mark_evidence_deleted(session, holder, statuses=["rejected"], reason="age", at=NOW)
    assert has_files(small_disk, violation_id)
    config = config_for(small_disk, rejected_days=None, confirmed_days=None, min_free_fraction=0)

    assert retention(config, sessions).run(dry_run=True).deletions == []
    assert has_files(small_disk, violation_id)  # a dry run removes nothing, leftovers neither

    report = retention(config, sessions).run()
    assert report.deletions == []  # nothing newly deleted: only the leftover removed
    assert not (small_disk / violation_id).exists()
    assert has_files(small_disk, untouched)


def test_age_pass_deletes_from_an_s3_store_and_skips_the_disk_pass(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    database_url = f"sqlite:///{tmp_path / 'trafficcam.db'}"
    _, factory = open_database(database_url)
    store = s3_server.store_config(s3_bucket, prefix="city/")
    blobs = S3BlobStore(store)
    ids = {}
    with factory.begin() as session:
        upsert_camera(
            session, camera_id="cam-1", name="Kim Ma", location_text="Kim Ma", lat=21.0, lon=105.8
        )
    for status in ("rejected", "pending"):
        violation_id = ids[status] = str(uuid.uuid4())
        data = os.urandom(2048)
        uri = blobs.put(f"{violation_id}/frame_after.jpg", data)
        offence = NOW - timedelta(days=400)
        with factory.begin() as session:
            record_violation(
                session,
                make_violation(
                    id=violation_id, camera_id="cam-1", offence_time=offence, status=status
                ),
                [EvidenceFile("frame_after", uri, sha256_bytes(data), len(data))],
                [],
            )  # fmt: skip
    config = AppConfig(
        database_url=database_url,
        evidence=EvidenceConfig(path=tmp_path / "work", store=store),
        retention=RetentionConfig(rejected_days=30, min_free_bytes=10**18),
    )
    engine = EvidenceRetention(config, factory, clock=lambda: NOW)
    assert engine.space is None  # no local disk to measure: never a disk-full deletion

    report = engine.run()

    assert [d.violation_id for d in report.deletions] == [ids["rejected"]]
    assert report.alert is None
    assert blobs.keys(f"{ids['rejected']}/") == []
    assert blobs.keys(f"{ids['pending']}/") == [f"{ids['pending']}/frame_after.jpg"]
