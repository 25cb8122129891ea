"""Administrators' pages: the audit log of who did what when."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from pipeline.store import queries
from review_ui.auth import Admin
from review_ui.deps import SessionDep
from review_ui.templating import templates

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    db: SessionDep,
    user: Admin,
    actor: Annotated[str, Query(max_length=80)] = "",
    subject: Annotated[str, Query(max_length=100)] = "",
    # An entry id: positive and within the 64-bit column (a larger one overflowed SQLite).
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """Newest entries first; `before` pages back by entry id."""
    entries = queries.recent_audit(
        db, actor=actor or None, subject=subject or None, before_id=before, limit=PAGE_SIZE
    )
    older = entries[-1].id if len(entries) == PAGE_SIZE else None
    return templates.TemplateResponse(
        request,
        "audit.html",
        {"user": user, "entries": entries, "actor": actor, "subject": subject, "older": older},
    )
