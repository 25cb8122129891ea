"""The officers' review queue: oldest pending first, claims with a timeout, "next"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi import status as http_status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pipeline.store import queries, repository
from pipeline.store.models import utcnow
from review_ui.auth import Reviewer, verify_csrf
from review_ui.claims import claim_or_refuse
from review_ui.deps import ConfigDep, SessionDep
from review_ui.templating import templates

router = APIRouter(include_in_schema=False)

# The officer's last queue filters, so "next" after a decision stays in the same queue.
_QUEUE_FILTER = "queue_filter"


def queue_filter(request: Request) -> tuple[str | None, str | None]:
    """(camera_id, rule_type) the officer last filtered the queue by."""
    saved = request.session.get(_QUEUE_FILTER) or {}
    return saved.get("camera_id") or None, saved.get("rule_type") or None


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    db: SessionDep,
    user: Reviewer,
    camera_id: str = "",
    rule_type: str = "",
) -> Response:
    request.session[_QUEUE_FILTER] = {"camera_id": camera_id, "rule_type": rule_type}
    items = queries.review_queue(
        db,
        officer=user.username,
        now=utcnow(),
        camera_id=camera_id or None,
        rule_type=rule_type or None,
    )
    return templates.TemplateResponse(
        request,
        "queue.html",
        {
            "user": user,
            "items": items,
            "cameras": queries.cameras(db),
            "rule_types": queries.rule_types(db),
            "camera_filter": camera_id,
            "rule_filter": rule_type,
        },
    )


@router.post("/violations/{violation_id}/claim", dependencies=[Depends(verify_csrf)])
def claim_violation(
    request: Request, violation_id: str, db: SessionDep, config: ConfigDep, user: Reviewer
) -> Response:
    """Take the item for review; refused (409) while another officer's claim holds."""
    claim_or_refuse(db, violation_id, user.username, config)
    db.commit()
    return RedirectResponse(
        f"/violations/{violation_id}", status_code=http_status.HTTP_303_SEE_OTHER
    )


@router.post("/violations/{violation_id}/release", dependencies=[Depends(verify_csrf)])
def release_violation(violation_id: str, db: SessionDep, user: Reviewer) -> Response:
    """Give the item back to the queue without deciding it."""
    if queries.release(db, violation_id, officer=user.username):
        repository.audit(
            db, actor=user.username, action="review.release", subject=f"violation:{violation_id}"
        )
    db.commit()
    return RedirectResponse("/queue", status_code=http_status.HTTP_303_SEE_OTHER)


@router.post("/queue/next", dependencies=[Depends(verify_csrf)])
def next_item(
    request: Request,
    db: SessionDep,
    config: ConfigDep,
    user: Reviewer,
    current: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    """Claim the oldest free item of the officer's queue and open it."""
    camera_id, rule_type = queue_filter(request)
    if current:
        # Moving on gives back the item in hand if it was left undecided.
        queries.release(db, current, officer=user.username)
    violation_id = queries.claim_next(
        db,
        officer=user.username,
        now=utcnow(),
        timeout_s=config.review.claim_timeout_s,
        camera_id=camera_id,
        rule_type=rule_type,
        skip=current or None,
    )
    db.commit()
    target = f"/violations/{violation_id}" if violation_id else "/queue"
    return RedirectResponse(target, status_code=http_status.HTTP_303_SEE_OTHER)
