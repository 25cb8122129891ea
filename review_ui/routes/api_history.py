"""JSON API of the analysts' history: the same filters as the page, pages and counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pipeline.store import queries
from review_ui.access import sees_plates
from review_ui.auth import Analyst
from review_ui.deps import SessionDep
from review_ui.history import cursor_or_400, plate_search_allowed
from review_ui.schemas import (
    CountOut,
    CountsOut,
    CountsQuery,
    HistoryListQuery,
    HistoryPage,
    ViolationSummary,
    encode_cursor,
)

router = APIRouter(prefix="/api/v1/history", tags=["history"])


@router.get("", response_model=HistoryPage)
def list_history(
    db: SessionDep, user: Analyst, q: Annotated[HistoryListQuery, Query()]
) -> HistoryPage:
    """Matching violations, newest first, one keyset page at a time (plates masked
    without plate access, and no plate search)."""
    plate_search_allowed(user, q.plate_prefix)
    rows, next_cursor = queries.history_page(
        db, q.to_filter(), after=cursor_or_400(q.cursor), limit=q.limit
    )
    return HistoryPage(
        items=[ViolationSummary.from_row(row, plates=sees_plates(user)) for row in rows],
        next_cursor=encode_cursor(next_cursor),
    )


@router.get("/counts", response_model=CountsOut)
def history_counts(db: SessionDep, user: Analyst, q: Annotated[CountsQuery, Query()]) -> CountsOut:
    """Matching violations counted per local hour, local day, camera or rule."""
    plate_search_allowed(user, q.plate_prefix)
    pairs = queries.counts(db, q.to_filter(), by=q.by)
    return CountsOut(
        by=q.by,
        total=sum(count for _, count in pairs),
        counts=[CountOut(label=label, count=count) for label, count in pairs],
    )
