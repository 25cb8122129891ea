"""`GET /cameras/{camera_id}/thumbnail.jpg` and the thumbnails on the operators' page."""

from __future__ import annotations

import os
import re
import time

import cv2
import httpx
import numpy as np
import pytest

from pipeline.store.camera_health import thumbnail_uri
from tests.review_ui.conftest import Seed, add_camera, log_in

THUMBNAIL = "/cameras/cam-1/thumbnail.jpg"


def _session(client: httpx.Client, username: str) -> httpx.Client:
    assert log_in(client, username).status_code == 303
    return client


@pytest.mark.parametrize("username", ["watcher", "chief"])
def test_operators_get_the_thumbnail_uncached(
    client: httpx.Client, seed: Seed, username: str
) -> None:
    response = _session(client, username).get(THUMBNAIL)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    assert response.content == (seed.evidence_root / thumbnail_uri("cam-1")).read_bytes()
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (180, 320, 3)


@pytest.mark.parametrize("username", ["officer", "counter"])
def test_police_and_analysts_are_refused(client: httpx.Client, username: str) -> None:
    assert _session(client, username).get(THUMBNAIL).status_code == 403


def test_anonymous_is_sent_to_log_in(client: httpx.Client) -> None:
    response = client.get(THUMBNAIL)
    assert response.status_code == 302
    assert response.headers["location"].startswith("/login")


@pytest.mark.parametrize(
    "path",
    [
        "/cameras/no-such-camera/thumbnail.jpg",  # not registered
        "/cameras/cam-2/thumbnail.jpg",  # registered, no thumbnail yet
        "/cameras/%2E%2E/thumbnail.jpg",
        "/cameras/..%2Fcam-1/thumbnail.jpg",
        "/cameras/%2E%2E%2F_thumbnails%2Fcam-1/thumbnail.jpg",
    ],
)
def test_unknown_camera_missing_thumbnail_and_traversal_are_404(
    client: httpx.Client, seed: Seed, path: str
) -> None:
    with seed.session_factory.begin() as db:
        add_camera(db, "cam-2", "Cau Giay")
    # Files a traversal would reach if the id were used as a path.
    (seed.evidence_root / "..jpg").write_bytes(b"outside")
    (seed.evidence_root / "_thumbnails" / "..jpg").write_bytes(b"outside")
    assert _session(client, "chief").get(path).status_code == 404


def test_the_page_shows_the_thumbnail_with_its_age(client: httpx.Client, seed: Seed) -> None:
    # The file's mtime is the frame's time: a picture taken 90 s ago.
    path = seed.evidence_root / thumbnail_uri("cam-1")
    taken = time.time() - 90
    os.utime(path, (taken, taken))
    with seed.session_factory.begin() as db:
        add_camera(db, "cam-2", "Cau Giay")
    html = _session(client, "watcher").get("/cameras/live").text
    row = re.search(r'<tr data-camera-id="cam-1".*?</tr>', html, re.S)
    assert row is not None
    src = re.search(r'<img class="camera-thumb" src="([^"]+)"', row.group(0))
    assert src is not None and src.group(1).startswith(THUMBNAIL + "?v=")
    age = re.search(r'class="camera-thumb-age">(\d+) s', row.group(0))
    assert age is not None and 90 <= int(age.group(1)) <= 100
    assert client.get(src.group(1)).status_code == 200
    other = re.search(r'<tr data-camera-id="cam-2".*?</tr>', html, re.S)
    assert other is not None and "<img" not in other.group(0)
