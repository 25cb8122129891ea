"""Officers decide pending violations only; a decided one changes only by a supervisor's
reversal, a separate, audited action."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from pipeline.store import repository
from pipeline.store.models import Review, Violation
from tests.review_ui.conftest import Seed, log_in, page_csrf


def _post(http: httpx.Client, violation_id: str, action: str, **fields: str) -> httpx.Response:
    data = {"csrf_token": page_csrf(http, f"/violations/{violation_id}"), **fields}
    return http.post(f"/violations/{violation_id}/{action}", data=data)


def _confirm(seed: Seed) -> None:
    with seed.session_factory() as db:
        repository.add_review(
            db, violation_id=seed.violation_id, reviewer="deputy", decision="confirmed"
        )
        db.commit()


def _state(seed: Seed) -> tuple[str, str | None, list[str]]:
    with seed.session_factory() as db:
        violation = db.get(Violation, seed.violation_id)
        assert violation is not None
        reviews = db.scalars(select(Review.decision).where(Review.violation_id == violation.id))
        return violation.status, violation.claimed_by, list(reviews)


def test_an_officer_cannot_claim_or_re_decide_a_decided_violation(
    client: httpx.Client, seed: Seed
) -> None:
    _confirm(seed)
    log_in(client, "officer")
    # The printed notice exists: the item is final for officers.
    assert client.get(f"/violations/{seed.violation_id}/notice").status_code == 200
    claimed = _post(client, seed.violation_id, "claim")
    assert claimed.status_code == 409 and "confirmed" in claimed.text
    decided = _post(
        client, seed.violation_id, "review", decision="rejected", reason="signal_not_red"
    )
    assert decided.status_code == 409
    assert _state(seed) == ("confirmed", None, ["confirmed"])
    page = client.get(f"/violations/{seed.violation_id}").text
    assert 'data-claim="decided"' in page and "reverse-form" not in page


def test_an_officer_cannot_reverse(client: httpx.Client, seed: Seed) -> None:
    _confirm(seed)
    log_in(client, "officer")
    response = _post(
        client, seed.violation_id, "reverse", decision="rejected", reason_text="wrong car"
    )
    assert response.status_code == 403
    assert _state(seed) == ("confirmed", None, ["confirmed"])


def test_a_supervisor_reverses_with_a_reason_and_it_is_audited(
    client: httpx.Client, seed: Seed
) -> None:
    _confirm(seed)
    log_in(client, "chief")
    assert "reverse-form" in client.get(f"/violations/{seed.violation_id}").text
    # Without a reason, or to the status it already has: refused, nothing written.
    no_reason = _post(client, seed.violation_id, "reverse", decision="rejected")
    assert no_reason.status_code == 400
    same = _post(client, seed.violation_id, "reverse", decision="confirmed", reason_text="x")
    assert same.status_code == 400
    assert _state(seed) == ("confirmed", None, ["confirmed"])

    done = _post(client, seed.violation_id, "reverse", decision="rejected", reason_text="ambulance")
    assert done.status_code == 303
    assert _state(seed) == ("rejected", None, ["confirmed", "rejected"])
    with seed.session_factory() as db:
        entries = repository.audit_log(db, subject=f"violation:{seed.violation_id}")
        reversal = [e for e in entries if e.action == "review.reverse"]
        assert len(reversal) == 1
        assert reversal[0].actor == "chief"
        assert reversal[0].detail["from"] == "confirmed"
        assert reversal[0].detail["to"] == "rejected"
        assert "ambulance" in reversal[0].detail["reason"]


def test_a_pending_violation_is_not_reversed(client: httpx.Client, seed: Seed) -> None:
    log_in(client, "chief")
    response = _post(client, seed.violation_id, "reverse", decision="rejected", reason_text="no")
    assert response.status_code == 409
    assert _state(seed) == ("pending", None, [])


def test_of_two_decisions_only_the_first_lands(seed: Seed) -> None:
    """The store refuses a second decision even without the UI's claim."""
    with seed.session_factory() as db:
        repository.add_review(
            db, violation_id=seed.violation_id, reviewer="officer", decision="confirmed"
        )
        db.commit()
    with seed.session_factory() as db:
        try:
            repository.add_review(
                db, violation_id=seed.violation_id, reviewer="deputy", decision="rejected"
            )
        except repository.NotPending as refused:
            assert refused.status == "confirmed"
        else:
            raise AssertionError("a decided violation was decided again")
        db.rollback()
    assert _state(seed) == ("confirmed", None, ["confirmed"])
