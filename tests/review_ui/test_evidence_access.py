"""Who may see violations and evidence, what the API gives away, the audit of every look,
content types from the row, and the viewer checking files against the signed manifest."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import cv2
import httpx
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from pipeline.evidence.package import LocalEvidenceStore
from pipeline.store import repository
from pipeline.store.models import AuditEntry, EvidenceItem
from pipeline.store.signing import ManifestSigner, canonical_json
from tests.review_ui.conftest import Seed, add_plain_violation, log_in

PACKAGE_ID = "33333333-3333-4333-8333-333333333333"


def _audit(seed: Seed, action: str) -> list[AuditEntry]:
    with seed.session_factory() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.mark.parametrize("username", ["watcher", "counter"])
def test_operators_and_analysts_see_no_violation_evidence_or_plate(
    client: httpx.Client, seed: Seed, username: str
) -> None:
    assert log_in(client, username).status_code == 303
    for path in (
        "/violations",
        f"/violations/{seed.violation_id}",
        f"/evidence/{seed.violation_id}/frame_before.jpg",
        "/api/v1/violations",
        f"/api/v1/violations/{seed.violation_id}",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "29A-123.45" not in response.text
    assert _audit(seed, "evidence.view") == []


@pytest.mark.parametrize(
    ("username", "landing"),
    [("officer", "/violations"), ("watcher", "/cameras"), ("counter", "/history")],
)
def test_home_leads_each_role_to_its_own_work(
    client: httpx.Client, username: str, landing: str
) -> None:
    log_in(client, username)
    assert client.get("/").headers["location"] == landing
    assert client.get(landing).status_code == 200


def test_the_api_names_no_server_path_or_bucket(client: httpx.Client, seed: Seed) -> None:
    log_in(client, "officer")
    response = client.get(f"/api/v1/violations/{seed.violation_id}")
    assert response.status_code == 200
    assert str(seed.evidence_root) not in response.text
    assert "s3://" not in response.text
    for item in response.json()["evidence"]:
        assert set(item) == {"id", "kind", "url", "sha256", "size", "deleted_at", "deleted_reason"}
        assert isinstance(item["id"], int)
        assert item["url"].startswith(f"/evidence/{seed.violation_id}/")


def test_every_detail_view_and_evidence_file_is_audited(client: httpx.Client, seed: Seed) -> None:
    log_in(client, "officer")
    assert client.get(f"/violations/{seed.violation_id}").status_code == 200
    assert client.get(f"/api/v1/violations/{seed.violation_id}").status_code == 200
    assert client.get(f"/evidence/{seed.violation_id}/vehicle_crop.jpg").status_code == 200
    assert client.get(f"/evidence/{seed.violation_id}/vehicle_crop.jpg").status_code == 200
    views = _audit(seed, "violation.view")
    assert [(e.actor, e.subject, e.detail["via"]) for e in views] == [
        ("officer", f"violation:{seed.violation_id}", "page"),
        ("officer", f"violation:{seed.violation_id}", "api"),
    ]
    files = _audit(seed, "evidence.view")
    assert len(files) == 2  # each file served, not each distinct file
    assert all(e.detail == {"file": "vehicle_crop.jpg", "kind": "vehicle_crop"} for e in files)
    assert all(e.at is not None and e.actor == "officer" for e in files)
    # A refused or missing file is not a view.
    assert client.get(f"/evidence/{seed.violation_id}/missing.jpg").status_code == 404
    assert len(_audit(seed, "evidence.view")) == 2


def test_content_type_comes_from_the_row_not_the_file_name(
    client: httpx.Client, seed: Seed
) -> None:
    """A worker-chosen name like `crop.html` must not make the browser render HTML."""
    html = b"<script>alert(1)</script>"
    package = seed.evidence_root / seed.violation_id
    (package / "crop.html").write_bytes(html)
    (package / "notes.txt").write_bytes(b"=1+1")
    with seed.session_factory() as db:
        for kind, name in (("vehicle_crop", "crop.html"), ("worker_notes", "notes.txt")):
            db.add(
                EvidenceItem(
                    violation_id=seed.violation_id,
                    kind=kind,
                    uri=f"{seed.violation_id}/{name}",
                    sha256=hashlib.sha256(html).hexdigest(),
                    size=len(html),
                )
            )
        db.commit()
    log_in(client, "officer")
    crop = client.get(f"/evidence/{seed.violation_id}/crop.html")
    assert crop.status_code == 200
    assert crop.headers["content-type"] == "image/jpeg"
    unknown = client.get(f"/evidence/{seed.violation_id}/notes.txt")
    assert unknown.headers["content-type"] == "application/octet-stream"
    assert unknown.headers["content-disposition"].startswith("attachment")


def _jpeg(value: int) -> np.ndarray:
    image = np.full((48, 64, 3), value, np.uint8)
    cv2.putText(image, str(value), (4, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 255), 2)
    return image


@pytest.fixture
def signed(seed: Seed) -> Seed:
    """A violation whose package was written and signed as the recorder does it."""
    store = LocalEvidenceStore(
        seed.evidence_root, ManifestSigner.from_file(seed.config.evidence.signing_key_path)
    )
    package = store.write_package(
        PACKAGE_ID,
        {
            "frame_before": ("frame_before.jpg", _jpeg(40)),
            "frame_after": ("frame_after.jpg", _jpeg(200)),
        },
        {"violation_id": PACKAGE_ID},
    )
    with seed.session_factory() as db:
        add_plain_violation(db, PACKAGE_ID, offence=datetime(2025, 3, 14, 2, 0, tzinfo=UTC))
        db.flush()
        for item in package.files:
            db.add(
                EvidenceItem(
                    violation_id=PACKAGE_ID,
                    kind=item.kind,
                    uri=item.uri,
                    sha256=item.sha256,
                    size=item.size,
                )
            )
        db.commit()
    return seed


def test_a_signed_package_verifies_on_the_page(client: httpx.Client, signed: Seed) -> None:
    log_in(client, "officer")
    page = client.get(f"/violations/{PACKAGE_ID}").text
    assert 'data-state="verified"' in page
    assert "integrity-ok" in page and "integrity-mismatch" not in page


def test_a_file_rewritten_with_its_row_is_caught_by_the_signed_manifest(
    client: httpx.Client, signed: Seed
) -> None:
    """Whoever can write the evidence store and the database can make a file and its row
    agree; only the signing key could make the manifest agree too."""
    path = signed.evidence_root / PACKAGE_ID / "frame_after.jpg"
    forged = cv2.imencode(".jpg", _jpeg(90))[1].tobytes()
    path.write_bytes(forged)
    with signed.session_factory() as db:
        db.execute(
            update(EvidenceItem)
            .where(EvidenceItem.violation_id == PACKAGE_ID, EvidenceItem.kind == "frame_after")
            .values(sha256=hashlib.sha256(forged).hexdigest(), size=len(forged))
        )
        db.commit()
    log_in(client, "officer")
    page = client.get(f"/violations/{PACKAGE_ID}").text
    assert page.count("integrity-mismatch") == 1
    assert page.count("integrity-ok") == 2  # frame_before and the manifest


def test_a_manifest_re_signed_by_another_key_is_flagged(client: httpx.Client, signed: Seed) -> None:
    path = signed.evidence_root / PACKAGE_ID / "manifest.json"
    manifest = json.loads(path.read_bytes())
    resigned = canonical_json(ManifestSigner(Ed25519PrivateKey.generate()).sign(manifest))
    path.write_bytes(resigned)
    with signed.session_factory() as db:
        db.execute(
            update(EvidenceItem)
            .where(EvidenceItem.violation_id == PACKAGE_ID, EvidenceItem.kind == "manifest")
            .values(sha256=hashlib.sha256(resigned).hexdigest(), size=len(resigned))
        )
        db.commit()
    log_in(client, "officer")
    page = client.get(f"/violations/{PACKAGE_ID}").text
    assert 'data-state="invalid"' in page and "not the trusted key" in page
    assert page.count("integrity-mismatch") == 2  # both frames: their signed hashes are void


def test_a_reversal_and_views_are_in_the_admins_audit_page(
    client: httpx.Client, seed: Seed
) -> None:
    log_in(client, "chief")
    client.get(f"/violations/{seed.violation_id}")
    with seed.session_factory() as db:
        actions = [e.action for e in repository.audit_log(db)]
    assert "violation.view" in actions
    assert "violation.view" in client.get("/admin/audit").text
