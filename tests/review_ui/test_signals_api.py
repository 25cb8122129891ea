"""`POST /api/v1/signals/{head}`: controllers' phase changes, token auth, validation
that names the bad field, the stored row and its outbox event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from pipeline.config import AppConfig, CameraConfig, KafkaConfig
from pipeline.events.relay import validate_event
from pipeline.store.api_tokens import add_token, revoke_token, token_digest
from pipeline.store.models import ApiToken, OutboxEvent, SignalPhaseChange
from review_ui.app import create_app
from tests.pipeline.signal_scene import CAMERA_ID, HEAD_ID, camera_dict
from tests.review_ui.conftest import Seed, log_in, serve

IMAGE_HEAD = "side"


def _camera() -> CameraConfig:
    data = camera_dict(source="auto")
    data["scene"]["signal_heads"].append(
        {"id": IMAGE_HEAD, "region": [10, 10, 60, 150], "source": "image"}
    )
    return CameraConfig.model_validate(data)


def _tokens(seed: Seed) -> dict[str, str]:
    scope: dict[str, Any] = {"cameras": [CAMERA_ID], "controller_id": "ctl-7"}
    with seed.session_factory.begin() as db:
        good = add_token(db, "controller-1", "signal-controller", **scope).token
        revoked = add_token(db, "controller-old", "signal-controller", **scope).token
        revoke_token(db, "controller-old")
        # The same cabinet's second token, and another cabinet's: one head, own controller.
        twin = add_token(db, "controller-1b", "signal-controller", **scope).token
        other = add_token(
            db,
            "controller-2",
            "signal-controller",
            cameras=[CAMERA_ID],
            heads=[IMAGE_HEAD],
            controller_id="ctl-9",
        ).token
        # Made before scopes existed: no cameras at all.
        db.add(
            ApiToken(
                name="legacy", token_sha256=token_digest("tc_legacy"), role="signal-controller"
            )
        )
    return {"good": good, "revoked": revoked, "twin": twin, "other": other, "legacy": "tc_legacy"}


@pytest.fixture(params=["no-kafka", "kafka"])
def api(
    request: pytest.FixtureRequest, seed: Seed
) -> Iterator[tuple[httpx.Client, dict[str, str], Seed, bool]]:
    """The real app on a free port; with `kafka` the config names a broker (the API
    only queues events in the outbox, so none needs to run)."""
    kafka = request.param == "kafka"
    config: AppConfig = seed.config.model_copy(
        update={
            "cameras": [_camera()],
            "kafka": KafkaConfig(bootstrap_servers=["127.0.0.1:9"]) if kafka else None,
        }
    )
    tokens = _tokens(seed)
    app = create_app(config, session_factory=seed.session_factory)
    with serve(app) as live, httpx.Client(base_url=live.url, timeout=10) as http:
        yield http, tokens, seed, kafka


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "camera_id": CAMERA_ID,
        "phase": "red",
        "changed_at": (datetime.now(UTC) - timedelta(seconds=0.5)).isoformat(),
        "controller_id": "ctl-7",
        "sequence": 41,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def _post(
    http: httpx.Client, token: str | None, body: dict[str, Any], head: str = HEAD_ID
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.post(f"/api/v1/signals/{head}", json=body, headers=headers)


def test_a_change_is_stored_and_queued_for_the_topic_when_kafka_is_configured(api) -> None:
    http, tokens, seed, kafka = api
    sent = _body()
    response = _post(http, tokens["good"], sent)
    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["camera_id"], out["head_id"], out["phase"]) == (CAMERA_ID, HEAD_ID, "red")
    assert out["published"] is kafka
    assert datetime.fromisoformat(out["changed_at"]) == datetime.fromisoformat(sent["changed_at"])
    with seed.session_factory() as db:
        rows = db.scalars(select(SignalPhaseChange)).all()
        assert [(r.event_id, r.reported_by, r.controller_id, r.sequence) for r in rows] == [
            (out["event_id"], "controller-1", "ctl-7", 41)
        ]
        events = db.scalars(select(OutboxEvent).where(OutboxEvent.topic == "signal-phases")).all()
    if not kafka:
        assert events == []
        return
    (event,) = events
    assert event.event_id == out["event_id"] and event.key == CAMERA_ID
    validate_event(event.payload)
    assert event.payload["phase"] == "red" and event.payload["reported_by"] == "controller-1"


def test_a_retried_change_is_stored_once(api) -> None:
    http, tokens, seed, _ = api
    body = _body()
    first = _post(http, tokens["good"], body)
    again = _post(http, tokens["good"], body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["event_id"] == first.json()["event_id"]
    # A new sequence number is a new change.
    assert _post(http, tokens["good"], _body(sequence=42, phase="green")).status_code == 201
    with seed.session_factory() as db:
        assert len(db.scalars(select(SignalPhaseChange)).all()) == 2


def test_a_token_posts_only_within_its_scope(api) -> None:
    http, tokens, seed, _ = api
    # controller-2 may report head `side` only: `main` is refused, naming the head.
    outside = _post(http, tokens["other"], _body(controller_id="ctl-9"))
    assert outside.status_code == 403, outside.text
    (error,) = outside.json()["detail"]
    assert error["loc"] == ["path", "head"] and f"{HEAD_ID!r}" in error["msg"]
    # Another controller's id in the body is refused too, naming both.
    impostor = _post(http, tokens["good"], _body(controller_id="ctl-9"))
    assert impostor.status_code == 403
    assert "'ctl-7'" in impostor.json()["detail"][0]["msg"]
    assert "'ctl-9'" in impostor.json()["detail"][0]["msg"]
    # A token without a scope posts nothing.
    legacy = _post(http, tokens["legacy"], _body())
    assert legacy.status_code == 403 and "no scope" in legacy.json()["detail"][0]["msg"]
    with seed.session_factory() as db:
        assert db.scalars(select(SignalPhaseChange)).all() == []
    # Without controller_id in the body, the row names the token's controller.
    stored = _post(http, tokens["good"], _body(controller_id=..., sequence=...))
    assert stored.status_code == 201 and stored.json()["controller_id"] == "ctl-7"


def test_the_retry_lookup_keys_on_the_token(api) -> None:
    http, tokens, seed, _ = api
    first = _post(http, tokens["good"], _body(phase="red"))
    assert first.status_code == 201
    # Another token with the same controller id and sequence: a change of its own,
    # not a retry answered with (and hiding behind) controller-1's row.
    second = _post(http, tokens["twin"], _body(phase="green"))
    assert second.status_code == 201, second.text
    assert second.json()["event_id"] != first.json()["event_id"]
    assert second.json()["phase"] == "green"
    with seed.session_factory() as db:
        rows = db.scalars(select(SignalPhaseChange).order_by(SignalPhaseChange.id)).all()
        assert [(r.reported_by, r.phase) for r in rows] == [
            ("controller-1", "red"),
            ("controller-1b", "green"),
        ]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"phase": "purple"}, "phase", "red"),
        ({"phase": ...}, "phase", "required"),
        ({"changed_at": "2026-03-14T01:30:00"}, "changed_at", "timezone"),
        ({"changed_at": "yesterday"}, "changed_at", "datetime"),
        ({"changed_at": "FUTURE"}, "changed_at", "future"),
        ({"changed_at": "2020-01-01T00:00:00Z"}, "changed_at", "past"),
        ({"sequence": -1}, "sequence", "greater"),
        ({"camera_id": ""}, "camera_id", "at least 1"),
        ({"colour": "red"}, "colour", "extra"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(
    api, overrides: dict[str, Any], field: str, words: str
) -> None:
    http, tokens, seed, _ = api
    if overrides.get("changed_at") == "FUTURE":
        overrides = {"changed_at": (datetime.now(UTC) + timedelta(minutes=2)).isoformat()}
    response = _post(http, tokens["good"], _body(**overrides))
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", field]
    assert words in error["msg"].lower() or words in error["type"]
    with seed.session_factory() as db:
        assert db.scalars(select(SignalPhaseChange)).all() == []


def test_unknown_camera_and_head_are_404_naming_which(api) -> None:
    http, tokens, _, _ = api
    camera = _post(http, tokens["good"], _body(camera_id="cam-nowhere"))
    assert camera.status_code == 404
    assert camera.json()["detail"][0]["loc"] == ["body", "camera_id"]
    assert "cam-nowhere" in camera.json()["detail"][0]["msg"]
    head = _post(http, tokens["good"], _body(), head="north")
    assert head.status_code == 404
    assert head.json()["detail"][0]["loc"] == ["path", "head"]
    assert (
        "'north'" in head.json()["detail"][0]["msg"] and HEAD_ID in head.json()["detail"][0]["msg"]
    )


def test_a_head_read_from_the_image_only_refuses_controller_changes(api) -> None:
    http, tokens, _, _ = api
    response = _post(http, tokens["good"], _body(), head=IMAGE_HEAD)
    assert response.status_code == 409
    assert response.json()["detail"][0]["loc"] == ["path", "head"]
    assert "source: image" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer tc_not-a-token"}, 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        ({"Authorization": "REVOKED"}, 401),
    ],
)
def test_a_token_is_required(api, headers: dict[str, str], status: int) -> None:
    http, tokens, seed, _ = api
    if headers.get("Authorization") == "REVOKED":
        headers = {"Authorization": f"Bearer {tokens['revoked']}"}
    response = http.post(f"/api/v1/signals/{HEAD_ID}", json=_body(), headers=headers)
    assert response.status_code == status
    assert response.headers["www-authenticate"].startswith("Bearer")
    with seed.session_factory() as db:
        assert db.scalars(select(SignalPhaseChange)).all() == []


def test_a_logged_in_person_is_not_a_controller(api) -> None:
    http, _, _, _ = api
    assert log_in(http, "chief").status_code == 303
    response = http.post(f"/api/v1/signals/{HEAD_ID}", json=_body())
    assert response.status_code == 403
    assert "bearer token" in response.json()["detail"]


def test_the_route_is_in_the_openapi_document(api) -> None:
    http, _, _, _ = api
    log_in(http, "counter")  # the description is for logged-in users only
    paths = http.get("/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/signals/{head}"]
