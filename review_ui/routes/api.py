"""JSON API, read-only for now: `/api/v1/violations`, for officers and admins (who review)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi import status as http_status

from pipeline.store import repository
from review_ui.access import audit_view
from review_ui.auth import Reviewer
from review_ui.deps import SessionDep
from review_ui.schemas import StatusFilter, ViolationDetail, ViolationSummary

router = APIRouter(prefix="/api/v1", tags=["violations"])


@router.get("/violations", response_model=list[ViolationSummary])
def list_violations(
    db: SessionDep,
    user: Reviewer,
    status: StatusFilter = "all",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ViolationSummary]:
    """Violations, oldest offence first, optionally of one review status."""
    rows = repository.list_violations(db, status=None if status == "all" else status, limit=limit)
    return [ViolationSummary.from_row(row) for row in rows]


@router.get("/violations/{violation_id}", response_model=ViolationDetail)
def get_violation(violation_id: str, db: SessionDep, user: Reviewer) -> ViolationDetail:
    """One violation with its evidence (ids, hashes, the UI's URLs) and review history.

    Officers and admins only; every call is recorded in the audit log."""
    violation = repository.get_violation(db, violation_id)
    if violation is None:
        raise HTTPException(http_status.HTTP_404_NOT_FOUND, "No such violation")
    detail = ViolationDetail.from_row(violation)
    audit_view(db, user, "violation.view", violation.id, via="api")
    return detail
