"""Malformed controller posts (`POST /api/v1/signals/{head}`): wrong types, huge values,
unicode and path tricks are refused with a 4xx naming the field, and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.pipeline.signal_scene import CAMERA_ID, HEAD_ID
from tests.review_ui.fuzzing import CONTROLLER_ID, World, build_world, dump_state


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("malformed-signals"))
    yield built
    built.close()


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "camera_id": CAMERA_ID,
        "phase": "red",
        "changed_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
        "controller_id": CONTROLLER_ID,
        "sequence": 7,
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"sequence": 10**30}, 422, "sequence"),  # was a 500: too big for the 64-bit column
        ({"sequence": 2**63}, 422, "sequence"),
        ({"sequence": "7"}, 422, "sequence"),  # was stored as 7
        ({"sequence": True}, 422, "sequence"),  # was stored as 1
        ({"sequence": 1.5}, 422, "sequence"),
        ({"sequence": -1}, 422, "sequence"),
        ({"phase": "rèd"}, 422, "phase"),
        ({"phase": None}, 422, "phase"),
        ({"camera_id": "x" * 10_000}, 422, "camera_id"),
        ({"camera_id": {"nested": 1}}, 422, "camera_id"),
        ({"camera_id": "cam\x00sig"}, 404, "camera_id"),
        ({"camera_id": "../cam-sig"}, 404, "camera_id"),
        ({"changed_at": "99999-01-01T00:00:00Z"}, 422, "changed_at"),
        ({"changed_at": "2026-01-01T00:00:00"}, 422, "changed_at"),
        ({"changed_at": [1]}, 422, "changed_at"),
        ({"changed_at": "9999-12-31T23:59:59+14:00"}, 422, "changed_at"),
        ({"controller_id": "c" * 81}, 422, "controller_id"),
        ({"colour": "red"}, 422, "colour"),
    ],
)
def test_bad_fields_are_refused_naming_the_field_and_change_nothing(
    world: World, overrides: dict[str, Any], status: int, field: str
) -> None:
    before = dump_state(world.session_factory)
    response = world.clients["controller"].post(
        f"/api/v1/signals/{HEAD_ID}",
        json=_body(**overrides),
        headers={"authorization": f"Bearer {world.token}"},
    )
    assert response.status_code == status, response.text
    locs = [error["loc"] for error in response.json()["detail"]]
    assert ["body", field] in locs, response.text
    assert dump_state(world.session_factory) == before


@pytest.mark.parametrize(
    "head",
    ["ma%00in", "m%C3%A0in", "..%2F..%2Fadmin", "h" * 65, "%E2%80%AEniam"],
)
def test_head_path_tricks_are_refused_and_change_nothing(world: World, head: str) -> None:
    before = dump_state(world.session_factory)
    response = world.clients["controller"].post(
        f"/api/v1/signals/{head}",
        json=_body(),
        headers={"authorization": f"Bearer {world.token}"},
    )
    assert response.status_code in (404, 422), response.text
    assert dump_state(world.session_factory) == before


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"{", "application/json"),
        (b'{"camera_id": "\xff"}', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"camera_id=cam-sig", "application/x-www-form-urlencoded"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused(
    world: World, raw: bytes, content_type: str
) -> None:
    before = dump_state(world.session_factory)
    response = world.clients["controller"].post(
        f"/api/v1/signals/{HEAD_ID}",
        content=raw,
        headers={"authorization": f"Bearer {world.token}", "content-type": content_type},
    )
    assert response.status_code in (400, 422), response.text
    assert dump_state(world.session_factory) == before


def test_a_valid_post_is_still_stored(world: World) -> None:
    response = world.clients["controller"].post(
        f"/api/v1/signals/{HEAD_ID}",
        json=_body(sequence=2**63 - 1),
        headers={"authorization": f"Bearer {world.token}"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["sequence"] == 2**63 - 1
