"""The printable notice: only for confirmed violations, with every hash and the QR code."""

from __future__ import annotations

import httpx

from pipeline.config import ReviewConfig
from pipeline.store import repository
from pipeline.store.models import EvidenceItem
from review_ui.app import create_app
from tests.review_ui.conftest import Seed, log_in, serve


def confirm(seed: Seed) -> None:
    with seed.session_factory() as db:
        repository.add_review(
            db,
            violation_id=seed.violation_id,
            reviewer="officer",
            decision="confirmed",
            reason="Evidence clear",
            plate_correction="29A-999.99",
        )
        db.commit()


def test_no_notice_before_confirmation(client: httpx.Client, seed: Seed) -> None:
    log_in(client, "officer")
    assert client.get(f"/violations/{seed.violation_id}/notice").status_code == 404
    assert 'id="notice-link"' not in client.get(f"/violations/{seed.violation_id}").text


def test_notice_holds_the_record_hashes_and_qr(client: httpx.Client, seed: Seed) -> None:
    confirm(seed)
    log_in(client, "officer")
    assert 'id="notice-link"' in client.get(f"/violations/{seed.violation_id}").text
    page = client.get(f"/violations/{seed.violation_id}/notice")
    assert page.status_code == 200
    with seed.session_factory() as db:
        items = db.query(EvidenceItem).filter_by(violation_id=seed.violation_id).all()
    assert items and all(item.sha256 in page.text for item in items)
    assert "29A-999.99" in page.text
    assert "Kim Ma x Nguyen Thai Hoc" in page.text
    assert "time_into_red_s" in page.text
    assert "<svg" in page.text and 'class="segno"' in page.text
    assert f'data-url="{client.base_url}/violations/{seed.violation_id}"' in page.text
    assert '/static/print.css" media="print"' in page.text


def test_notice_qr_uses_the_configured_public_url(seed: Seed) -> None:
    confirm(seed)
    config = seed.config.model_copy(
        update={"review": ReviewConfig(public_url="https://review.example.vn/")}
    )
    app = create_app(config, session_factory=seed.session_factory)
    with serve(app) as live, httpx.Client(base_url=live.url) as http:
        log_in(http, "chief")
        page = http.get(f"/violations/{seed.violation_id}/notice").text
    assert f'data-url="https://review.example.vn/violations/{seed.violation_id}"' in page
