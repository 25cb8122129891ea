"""A violation whose evidence retention deleted: the page says so instead of broken images."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from pipeline.config import RetentionConfig
from pipeline.ops.retention import EvidenceRetention
from pipeline.ops.system_alerts import raise_system_alert
from pipeline.store import repository
from review_ui.templating import local_time
from tests.review_ui.conftest import Seed, log_in


def test_deleted_evidence_is_announced_not_shown_broken(seed: Seed, client: httpx.Client) -> None:
    with seed.session_factory.begin() as db:
        repository.add_review(
            db, violation_id=seed.violation_id, reviewer="officer", decision="rejected"
        )
    # The seeded offences are from 2025: a 30-day limit for rejected evidence has passed.
    config = seed.config.model_copy(
        update={"retention": RetentionConfig(rejected_days=30, min_free_fraction=0)}
    )
    report = EvidenceRetention(config, seed.session_factory, space=None).run()
    assert [d.violation_id for d in report.deletions] == [seed.violation_id]
    assert not (seed.evidence_root / seed.violation_id).exists()

    log_in(client, "officer")
    page = client.get(f"/violations/{seed.violation_id}")
    assert page.status_code == 200
    # Vietnamese by default: "evidence deleted under retention on <date>".
    assert 'id="evidence-deleted"' in page.text
    assert "Bằng chứng đã bị xóa theo thời hạn lưu trữ vào" in page.text
    with seed.session_factory() as db:
        row = repository.get_violation(db, seed.violation_id)
        assert row is not None and row.evidence_deleted_at is not None
        assert [r.decision for r in row.reviews] == ["rejected"]  # the audit trail stays
    assert f"vào {local_time(row.evidence_deleted_at)}." in page.text
    assert "evidence-image" not in page.text  # no <img> pointing at a removed file
    assert "thiếu tệp" not in page.text  # not reported as a lost file either
    assert page.text.count("đã xóa theo thời hạn lưu trữ") >= 4  # each file row says why
    for kind in ("frame_before", "vehicle_crop"):
        assert client.get(f"/evidence/{seed.violation_id}/{kind}.jpg").status_code == 404

    # The rejected list shows no thumbnail for it; a violation with evidence still has one.
    rejected = client.get("/violations", params={"status": "rejected"})
    assert seed.violation_id in rejected.text
    assert f"/evidence/{seed.violation_id}/" not in rejected.text
    pending = client.get("/violations", params={"status": "pending"})
    assert f"/evidence/{seed.other_violation_id}/vehicle_crop.jpg" in pending.text

    # The API keeps what each file was and says when and why it went, with no dead URL.
    detail = client.get(f"/api/v1/violations/{seed.violation_id}").json()
    assert detail["evidence"] and all(
        e["url"] is None and e["deleted_reason"] == "age" and e["deleted_at"] and e["sha256"]
        for e in detail["evidence"]
    )
    kept = client.get(f"/api/v1/violations/{seed.other_violation_id}").json()
    assert all(e["url"] and e["deleted_at"] is None for e in kept["evidence"])

    other = client.get(f"/violations/{seed.other_violation_id}")
    assert 'id="evidence-deleted"' not in other.text and "evidence-image" in other.text


def test_operators_see_system_alerts_on_the_cameras_page(seed: Seed, client: httpx.Client) -> None:
    log_in(client, "watcher")
    assert 'id="system-alerts"' not in client.get("/cameras").text  # none yet: no section
    with seed.session_factory.begin() as db:
        raise_system_alert(
            db,
            kind="evidence_disk_low",
            severity="critical",
            message="evidence disk nearly full: 1.0 MiB free of 4.0 MiB",
            at=datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
        )
    for path in ("/cameras", "/cameras/live"):
        page = client.get(path)
        assert page.status_code == 200
        assert 'id="system-alerts"' in page.text
        assert 'data-kind="evidence_disk_low" data-severity="critical"' in page.text
        assert "evidence disk nearly full: 1.0 MiB free of 4.0 MiB" in page.text
        assert "Cảnh báo hệ thống" in page.text and "nghiêm trọng" in page.text
        assert "2026-06-01 19:00:00" in page.text  # shown in Vietnam time
