"""The violation list and the evidence viewer with its review form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi import status as http_status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.config import AppConfig
from pipeline.store import queries, repository
from pipeline.store.models import EvidenceItem, User, Violation, utcnow
from review_ui.access import audit_view
from review_ui.auth import REVIEW_ROLES, Reviewer, require_roles, verify_csrf
from review_ui.claims import already_decided, claim_or_refuse
from review_ui.deps import ConfigDep, SessionDep, get_blobs
from review_ui.evidence import (
    EvidenceView,
    ManifestCheck,
    check_manifest,
    evidence_url,
    evidence_view,
    trusted_public_key,
)
from review_ui.schemas import REASON_CODES, StatusFilter, parse_review_form
from review_ui.templating import templates

router = APIRouter(include_in_schema=False)

# A supervisor reverses decided violations; in this installation that is the admin role.
SUPERVISOR_ROLES: tuple[str, ...] = ("admin",)
Supervisor = Annotated[User, Depends(require_roles(*SUPERVISOR_ROLES))]

THUMBNAIL_KIND = "vehicle_crop"


def thumbnail_urls(db: Session, violation_ids: list[str]) -> dict[str, str]:
    """Vehicle-crop URL per violation, in one query rather than one per table row."""
    if not violation_ids:
        return {}
    items = db.scalars(
        select(EvidenceItem)
        .where(
            EvidenceItem.violation_id.in_(violation_ids),
            EvidenceItem.kind == THUMBNAIL_KIND,
            EvidenceItem.deleted_at.is_(None),  # retention removed the file: no broken image
        )
        .order_by(EvidenceItem.id)
    )
    urls: dict[str, str] = {}
    for item in items:
        url = evidence_url(item)
        if url is not None:
            urls.setdefault(item.violation_id, url)
    return urls


@router.get("/violations", response_class=HTMLResponse)
def violations_page(
    request: Request, db: SessionDep, user: Reviewer, status: StatusFilter = "pending"
) -> Response:
    violations = repository.list_violations(db, status=None if status == "all" else status)
    return templates.TemplateResponse(
        request,
        "violations.html",
        {
            "user": user,
            "violations": violations,
            "thumbnails": thumbnail_urls(db, [v.id for v in violations]),
            "status_filter": status,
            "status_choices": ("pending", "confirmed", "rejected", "all"),
        },
    )


def _load(db: Session, violation_id: str) -> Violation:
    violation = repository.get_violation(db, violation_id)
    if violation is None:
        raise HTTPException(http_status.HTTP_404_NOT_FOUND, "No such violation")
    return violation


def evidence_views(
    request: Request, config: AppConfig, violation: Violation
) -> tuple[list[EvidenceView], ManifestCheck]:
    """Each item re-hashed and compared with its row and the package's signed manifest."""
    blobs = get_blobs(request)
    items = list(violation.evidence)
    manifest = check_manifest(blobs, items, trusted_public_key(config.evidence))
    return [evidence_view(blobs, item, manifest) for item in items], manifest


def _render_violation(
    request: Request,
    config: AppConfig,
    user: User,
    violation: Violation,
    *,
    errors: list[str] | None = None,
    saved: bool = False,
    status_code: int = http_status.HTTP_200_OK,
    form: dict[str, Any] | None = None,
) -> Response:
    now = utcnow()
    evidence, manifest = evidence_views(request, config, violation)
    held = (
        violation.claimed_by is not None
        and violation.claim_expires_at is not None
        and violation.claim_expires_at > now
    )
    return templates.TemplateResponse(
        request,
        "violation.html",
        {
            "user": user,
            "violation": violation,
            "evidence": evidence,
            "manifest": manifest,
            "can_review": user.role in REVIEW_ROLES,
            "can_reverse": user.role in SUPERVISOR_ROLES,
            "claimed_by_me": held and violation.claimed_by == user.username,
            "claimed_by_other": held and violation.claimed_by != user.username,
            "reasons": REASON_CODES,
            "errors": errors or [],
            "saved": saved,
            "form": form or {},
        },
        status_code=status_code,
    )


@router.get("/violations/{violation_id}", response_class=HTMLResponse)
def violation_page(
    request: Request,
    violation_id: str,
    db: SessionDep,
    config: ConfigDep,
    user: Reviewer,
    saved: bool = False,
) -> Response:
    violation = _load(db, violation_id)
    audit_view(db, user, "violation.view", violation.id, via="page")
    return _render_violation(request, config, user, violation, saved=saved)


@router.post("/violations/{violation_id}/review", dependencies=[Depends(verify_csrf)])
def submit_review(
    request: Request,
    violation_id: str,
    db: SessionDep,
    config: ConfigDep,
    user: Reviewer,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    reason_text: Annotated[str, Form(max_length=2000)] = "",
    plate_correction: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    violation = _load(db, violation_id)
    review, errors = parse_review_form(decision, reason, reason_text, plate_correction)
    if review is None:
        form = {"reason": reason, "reason_text": reason_text, "plate_correction": plate_correction}
        return _render_violation(
            request,
            config,
            user,
            violation,
            errors=errors,
            status_code=http_status.HTTP_400_BAD_REQUEST,
            form=form,
        )
    # Deciding needs the claim: taken here when the item is free, refused while another
    # officer holds it, so two officers can never decide the same item at once.
    claim_or_refuse(db, violation.id, user.username, config)
    try:
        repository.add_review(
            db,
            violation_id=violation.id,
            reviewer=user.username,
            decision=review.decision,
            reason=review.reason,
            plate_correction=review.plate_correction,
            reviews_topic=config.kafka.topics.reviews if config.kafka else None,
        )
    except repository.NotPending as decided:
        # Decided by someone else between our claim and our decision.
        db.rollback()
        raise already_decided(decided.status) from None
    queries.release(db, violation.id, officer=user.username)
    db.commit()
    # Post/redirect/get: a reload of the result page cannot submit the review twice.
    return RedirectResponse(
        f"/violations/{violation.id}?saved=true", status_code=http_status.HTTP_303_SEE_OTHER
    )


@router.post("/violations/{violation_id}/reverse", dependencies=[Depends(verify_csrf)])
def reverse_review(
    request: Request,
    violation_id: str,
    db: SessionDep,
    config: ConfigDep,
    user: Supervisor,
    decision: Annotated[str, Form()] = "",
    reason_text: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """A supervisor turns a confirmed violation into a rejected one or back.

    Officers decide pending items only; this is the one way to change a decided
    one, with a reason, as its own review row and `review.reverse` audit entry.
    """
    violation = _load(db, violation_id)
    reason = " ".join(reason_text.split())[:1000]
    errors = []
    if decision not in ("confirmed", "rejected") or decision == violation.status:
        errors.append("error_decision")
    if not reason:
        errors.append("error_reason_text")
    if violation.status == "pending":
        raise HTTPException(
            http_status.HTTP_409_CONFLICT, "Still pending: an officer decides it in the queue"
        )
    if errors:
        return _render_violation(
            request,
            config,
            user,
            violation,
            errors=errors,
            status_code=http_status.HTTP_400_BAD_REQUEST,
            form={"reason_text": reason_text},
        )
    try:
        repository.reverse_decision(
            db,
            violation_id=violation.id,
            supervisor=user.username,
            decision=decision,
            reason=f"Reversal: {reason}",
            reviews_topic=config.kafka.topics.reviews if config.kafka else None,
        )
    except repository.ReviewError as exc:
        db.rollback()
        raise HTTPException(http_status.HTTP_409_CONFLICT, str(exc)) from None
    db.commit()
    return RedirectResponse(
        f"/violations/{violation.id}?saved=true", status_code=http_status.HTTP_303_SEE_OTHER
    )
