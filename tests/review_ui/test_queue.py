"""The officers' queue: order, filters, claims that lock out a second officer, "next"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from pipeline.store import queries
from pipeline.store.models import AuditEntry, Violation
from tests.review_ui.conftest import (
    LiveServer,
    Seed,
    add_camera,
    add_plain_violation,
    log_in,
    page_csrf,
)

T0 = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)


def post(http: httpx.Client, path: str, **fields: str) -> httpx.Response:
    return http.post(path, data={"csrf_token": page_csrf(http), **fields})


def queue_ids(http: httpx.Client, **params: str) -> list[str]:
    page = http.get("/queue", params=params)
    assert page.status_code == 200
    return [chunk.split('"', 1)[0] for chunk in page.text.split('<tr data-violation-id="')[1:]]


@pytest.fixture
def busy_seed(seed: Seed) -> Seed:
    """The seed plus a second camera, a second rule and one already-decided violation."""
    with seed.session_factory() as db:
        add_camera(db, "cam-2", "Lang - Lang Ha")
        db.flush()
        add_plain_violation(db, "v-oldest", offence=T0 - timedelta(hours=1), camera_id="cam-2")
        add_plain_violation(
            db, "v-speed", offence=T0 + timedelta(hours=1), rule_type="speeding", camera_id="cam-2"
        )
        add_plain_violation(db, "v-done", offence=T0 - timedelta(hours=2), status="confirmed")
        db.commit()
    return seed


def test_queue_is_pending_oldest_first_and_filters(client: httpx.Client, busy_seed: Seed) -> None:
    log_in(client, "officer")
    everything = ["v-oldest", busy_seed.violation_id, busy_seed.other_violation_id, "v-speed"]
    assert queue_ids(client) == everything
    assert queue_ids(client, camera_id="cam-2") == ["v-oldest", "v-speed"]
    assert queue_ids(client, rule_type="speeding") == ["v-speed"]
    assert queue_ids(client, camera_id="cam-1", rule_type="speeding") == []


def test_a_claim_locks_out_a_second_officer(server: LiveServer, busy_seed: Seed) -> None:
    with (
        httpx.Client(base_url=server.url) as first,
        httpx.Client(base_url=server.url) as second,
    ):
        log_in(first, "officer")
        log_in(second, "deputy")
        claimed = post(first, f"/violations/{busy_seed.violation_id}/claim")
        assert claimed.status_code == 303
        assert 'data-claim="mine"' in first.get(f"/violations/{busy_seed.violation_id}").text

        # The second officer no longer sees it, cannot claim it and cannot decide it.
        assert busy_seed.violation_id not in queue_ids(second)
        page = second.get(f"/violations/{busy_seed.violation_id}").text
        assert 'data-claim="other"' in page and "officer" in page
        assert 'id="reason"' not in page
        assert post(second, f"/violations/{busy_seed.violation_id}/claim").status_code == 409
        refused = post(
            second,
            f"/violations/{busy_seed.violation_id}/review",
            decision="rejected",
            reason="evidence_clear",
        )
        assert refused.status_code == 409

        # The holder decides; the claim is gone and the item is out of every queue.
        decided = post(
            first,
            f"/violations/{busy_seed.violation_id}/review",
            decision="confirmed",
            reason="evidence_clear",
        )
        assert decided.status_code == 303
        assert busy_seed.violation_id not in queue_ids(second)
    with busy_seed.session_factory() as db:
        violation = db.get(Violation, busy_seed.violation_id)
        assert violation is not None
        assert (violation.status, violation.claimed_by) == ("confirmed", None)
        actions = [
            (e.actor, e.action)
            for e in db.scalars(
                select(AuditEntry).where(
                    AuditEntry.subject == f"violation:{busy_seed.violation_id}"
                )
            )
        ]
    # Views are audited too; among the decisions only the holder's claim and verdict.
    decisions = [a for a in actions if not a[1].endswith(".view")]
    assert decisions == [("officer", "review.claim"), ("officer", "review.confirmed")]
    assert ("deputy", "violation.view") in actions


def test_release_returns_the_item_to_the_queue(server: LiveServer, busy_seed: Seed) -> None:
    with (
        httpx.Client(base_url=server.url) as first,
        httpx.Client(base_url=server.url) as second,
    ):
        log_in(first, "officer")
        log_in(second, "deputy")
        post(first, f"/violations/{busy_seed.violation_id}/claim")
        assert busy_seed.violation_id not in queue_ids(second)
        assert post(first, f"/violations/{busy_seed.violation_id}/release").status_code == 303
        assert busy_seed.violation_id in queue_ids(second)
        # Releasing what one does not hold changes nothing and leaves no trace.
        assert post(second, f"/violations/{busy_seed.violation_id}/release").status_code == 303
    with busy_seed.session_factory() as db:
        trail = queries.recent_audit(db, subject=f"violation:{busy_seed.violation_id}")
    assert [(e.actor, e.action) for e in reversed(trail)] == [
        ("officer", "review.claim"),
        ("officer", "review.release"),
    ]


def test_next_claims_the_oldest_free_item(server: LiveServer, busy_seed: Seed) -> None:
    with (
        httpx.Client(base_url=server.url) as first,
        httpx.Client(base_url=server.url) as second,
    ):
        log_in(first, "officer")
        log_in(second, "deputy")
        taken = post(first, "/queue/next")
        assert taken.headers["location"] == "/violations/v-oldest"
        # The deputy's "next" skips the item the officer holds.
        assert post(second, "/queue/next").headers["location"] == (
            f"/violations/{busy_seed.violation_id}"
        )
        # Moving on from an undecided item gives it back and never returns it again.
        moved = post(first, "/queue/next", current="v-oldest")
        assert moved.headers["location"] == f"/violations/{busy_seed.other_violation_id}"
        # The queue filter chosen on the queue page carries over to "next".
        queue_ids(second, rule_type="speeding")
        assert post(second, "/queue/next").headers["location"] == "/violations/v-speed"
        queue_ids(second, camera_id="cam-1", rule_type="speeding")
        assert post(second, "/queue/next").headers["location"] == "/queue"


def test_claim_of_unknown_violation_is_404(client: httpx.Client) -> None:
    log_in(client, "officer")
    assert post(client, "/violations/nope/claim").status_code == 404


def test_claim_times_out(busy_seed: Seed) -> None:
    """The lock holds for the timeout, then another officer may take the item."""
    with busy_seed.session_factory() as db:
        expires = queries.claim(db, "v-oldest", officer="officer", now=T0, timeout_s=600)
        assert expires == T0 + timedelta(seconds=600)
        with pytest.raises(queries.ClaimRefused) as refused:
            queries.claim(
                db, "v-oldest", officer="deputy", now=expires - timedelta(seconds=1), timeout_s=600
            )
        assert refused.value.holder == "officer"
        just_after = expires
        assert "v-oldest" in [
            v.id for v in queries.review_queue(db, officer="deputy", now=just_after)
        ]
        queries.claim(db, "v-oldest", officer="deputy", now=just_after, timeout_s=600)
        db.commit()
        violation = db.get(Violation, "v-oldest")
        assert violation is not None and violation.claimed_by == "deputy"


def test_queue_speaks_vietnamese_by_default_in_local_time(client: httpx.Client, seed: Seed) -> None:
    log_in(client, "officer")
    page = client.get("/queue").text
    assert '<html lang="vi">' in page
    assert "Hàng đợi duyệt" in page and "Nhận duyệt" in page
    assert "2025-03-14 08:30:00" in page  # 01:30 UTC in Ha Noi
    client.get("/language/en")
    assert "Review queue" in client.get("/queue").text
