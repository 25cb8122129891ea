"""The violation list, the evidence viewer, evidence files and reviews, end to end over HTTP."""

from __future__ import annotations

import hashlib
import http.client
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from pipeline.config import KafkaConfig
from pipeline.events.relay import validate_event
from pipeline.store import repository
from pipeline.store.models import OutboxEvent, Review
from review_ui.app import SESSION_COOKIE, create_app
from tests.review_ui.conftest import IMAGE_KINDS, Seed, log_in, page_csrf, serve


def review(http: httpx.Client, violation_id: str, **fields: str) -> httpx.Response:
    data = {"csrf_token": page_csrf(http, f"/violations/{violation_id}"), **fields}
    return http.post(f"/violations/{violation_id}/review", data=data)


def test_home_redirects_to_the_list(client: httpx.Client) -> None:
    log_in(client, "officer")
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == "/violations"


def test_list_shows_pending_violations_in_local_time(client: httpx.Client, seed: Seed) -> None:
    client.get("/language/en")
    log_in(client, "officer")
    page = client.get("/violations").text
    assert f'href="/violations/{seed.violation_id}"' in page
    assert f'href="/violations/{seed.other_violation_id}"' in page
    # 01:30 UTC is 08:30 in Ha Noi.
    assert "2025-03-14 08:30:00" in page
    assert "Kim Ma - Nguyen Thai Hoc" in page
    assert "Kim Ma x Nguyen Thai Hoc, Ba Dinh, Ha Noi" in page
    assert "motorbike" in page
    assert "Red light" in page
    assert f'src="/evidence/{seed.violation_id}/vehicle_crop.jpg"' in page


def test_detail_shows_every_image_its_hash_and_the_measurements(
    client: httpx.Client, seed: Seed
) -> None:
    log_in(client, "officer")
    page = client.get(f"/violations/{seed.violation_id}").text
    with seed.session_factory() as db:
        violation = repository.get_violation(db, seed.violation_id)
        assert violation is not None
        items = violation.evidence
    for item in items:
        assert f'src="/evidence/{item.uri}"' in page
        assert item.sha256 in page
    assert "integrity-ok" in page and "integrity-mismatch" not in page
    assert "time_into_red_s" in page
    assert "Crossed the stop line 3.2 s after the signal turned red." in page


def test_altered_evidence_file_is_flagged(client: httpx.Client, seed: Seed) -> None:
    (seed.evidence_root / seed.violation_id / "frame_after.jpg").write_bytes(b"tampered")
    log_in(client, "officer")
    page = client.get(f"/violations/{seed.violation_id}").text
    assert "integrity-mismatch" in page


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_registered_evidence_is_served(client: httpx.Client, seed: Seed, kind: str) -> None:
    log_in(client, "officer")
    response = client.get(f"/evidence/{seed.violation_id}/{kind}.jpg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert "no-store" in response.headers["cache-control"]
    on_disk = (seed.evidence_root / seed.violation_id / f"{kind}.jpg").read_bytes()
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(on_disk).digest()


@pytest.mark.parametrize(
    "name",
    [
        "unregistered.jpg",  # on disk, but no evidence row names it
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "..%2Ftrafficcam.db",
        "%2Fetc%2Fpasswd",
        "missing.jpg",
    ],
)
def test_unregistered_evidence_paths_are_404(client: httpx.Client, seed: Seed, name: str) -> None:
    log_in(client, "officer")
    assert client.get(f"/evidence/{seed.violation_id}/{name}").status_code == 404


def test_another_violations_file_is_not_served_under_this_id(
    client: httpx.Client, seed: Seed
) -> None:
    log_in(client, "officer")
    url = f"/evidence/{seed.violation_id}/..%2F{seed.other_violation_id}%2Fframe_before.jpg"
    assert client.get(url).status_code == 404


def test_raw_dot_segments_are_404(client: httpx.Client, seed: Seed) -> None:
    """Send `..` unnormalised (http.client does not clean paths the way httpx does)."""
    log_in(client, "officer")
    parts = urlsplit(str(client.base_url))
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(
            "GET",
            f"/evidence/{seed.violation_id}/../../etc/passwd",
            headers={"Cookie": f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}"},
        )
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 404
    assert b"root:" not in body


def test_confirm_appends_a_review_and_an_audit_entry(client: httpx.Client, seed: Seed) -> None:
    log_in(client, "officer")
    response = review(
        client,
        seed.violation_id,
        decision="confirmed",
        reason="evidence_clear",
        plate_correction="29a-123.46",
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/violations/{seed.violation_id}?saved=true"
    page = client.get(response.headers["location"]).text
    assert 'data-status="confirmed"' in page
    assert "29A-123.46" in page
    with seed.session_factory() as db:
        reviews = list(db.scalars(select(Review)))
        audit = repository.audit_log(db, subject=f"violation:{seed.violation_id}")
        violation = repository.get_violation(db, seed.violation_id)
        outbox = list(db.scalars(select(OutboxEvent)))
    assert [(r.reviewer, r.decision, r.reason) for r in reviews] == [
        ("officer", "confirmed", "Evidence clear")
    ]
    # Deciding takes the claim first, so the trail shows both steps, between the views
    # of the page before the decision and after it.
    assert [entry.action for entry in audit] == [
        "violation.view",
        "review.claim",
        "review.confirmed",
        "violation.view",
    ]
    assert violation is not None and violation.status == "confirmed"
    assert violation.plate == "29A-123.46"
    assert outbox == []  # no Kafka configured: no review event queued


def test_a_decided_violation_is_not_decided_again(client: httpx.Client, seed: Seed) -> None:
    log_in(client, "chief")
    review(client, seed.violation_id, decision="confirmed", reason="evidence_clear")
    again = review(
        client,
        seed.violation_id,
        decision="rejected",
        reason="other",
        reason_text="ambulance on duty",
    )
    assert again.status_code == 409
    detail = client.get(f"/api/v1/violations/{seed.violation_id}").json()
    assert detail["status"] == "confirmed"
    assert [(r["decision"], r["reason"]) for r in detail["reviews"]] == [
        ("confirmed", "Evidence clear"),
    ]
    pending = client.get("/violations?status=pending").text
    assert seed.violation_id not in pending
    assert seed.violation_id in client.get("/violations?status=confirmed").text


@pytest.mark.parametrize(
    "fields",
    [
        {"decision": "confirmed", "reason": "other", "reason_text": "  "},
        {"decision": "approved", "reason": "evidence_clear"},
        {"decision": "rejected", "reason": "because"},
        {"decision": "confirmed", "reason": "evidence_clear", "plate_correction": "<b>x</b>"},
    ],
)
def test_invalid_review_is_refused_and_not_stored(
    client: httpx.Client, seed: Seed, fields: dict[str, str]
) -> None:
    log_in(client, "officer")
    response = review(client, seed.violation_id, **fields)
    assert response.status_code == 400
    assert "<b>x</b>" not in response.text  # echoed input is escaped
    with seed.session_factory() as db:
        assert list(db.scalars(select(Review))) == []


def test_review_of_unknown_violation_is_404(client: httpx.Client) -> None:
    log_in(client, "officer")
    response = client.post(
        "/violations/nope/review",
        data={
            "csrf_token": page_csrf(client),
            "decision": "confirmed",
            "reason": "evidence_clear",
        },
    )
    assert response.status_code == 404


def test_review_queues_an_event_when_kafka_is_configured(seed: Seed) -> None:
    config = seed.config.model_copy(
        update={"kafka": KafkaConfig(bootstrap_servers=["127.0.0.1:9092"])}
    )
    app = create_app(config, session_factory=seed.session_factory)
    with serve(app) as live, httpx.Client(base_url=live.url) as http:
        log_in(http, "officer")
        review(http, seed.violation_id, decision="rejected", reason="signal_not_red")
    with seed.session_factory() as db:
        events = list(db.scalars(select(OutboxEvent)))
    assert [(e.topic, e.payload["decision"]) for e in events] == [("reviews", "rejected")]
    [event] = events
    validate_event(event.payload)  # the event the UI queues matches the published schema
    assert event.payload["violation_id"] == seed.violation_id
    assert event.payload["reviewer"] == "officer" and event.key == "cam-1"
    assert event.event_id == event.payload["event_id"]


def test_api_lists_and_details(client: httpx.Client, seed: Seed) -> None:
    log_in(client, "deputy")
    listed = client.get("/api/v1/violations", params={"status": "pending"}).json()
    assert [v["id"] for v in listed] == [seed.violation_id, seed.other_violation_id]
    assert listed[0]["camera_name"] == "Kim Ma - Nguyen Thai Hoc"
    assert listed[0]["offence_time"].startswith("2025-03-14T01:30:00")
    detail = client.get(f"/api/v1/violations/{seed.violation_id}").json()
    assert sorted(e["kind"] for e in detail["evidence"]) == sorted(IMAGE_KINDS)
    assert all(e["url"].startswith(f"/evidence/{seed.violation_id}/") for e in detail["evidence"])
    assert detail["measurements"]["time_into_red_s"] == 3.2
    assert client.get("/api/v1/violations/nope").status_code == 404
    assert client.get("/api/v1/violations", params={"status": "bogus"}).status_code == 422
