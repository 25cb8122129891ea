"""The analysts' violation history: filters, keyset pages, charts and the CSV export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from pipeline.store import queries, repository
from review_ui.access import mask_plate, sees_plates
from review_ui.auth import REVIEW_ROLES, Analyst
from review_ui.deps import SessionDep
from review_ui.history import csv_lines, cursor_or_400, plate_search_allowed
from review_ui.schemas import HistoryListQuery, HistoryQuery, encode_cursor
from review_ui.templating import templates

router = APIRouter(include_in_schema=False)

# Above this the page says "more than"; the charts and the CSV still cover every row.
TOTAL_CAP = 10_000
# An hourly chart of a year would be 8,760 bars and a scan of every row: the page
# draws it for a month or less and asks for a range otherwise.
HOURLY_CHART_MAX = timedelta(days=31)


@router.get("/history", response_class=HTMLResponse)
def history_page(
    request: Request, db: SessionDep, user: Analyst, q: Annotated[HistoryListQuery, Query()]
) -> Response:
    plate_search_allowed(user, q.plate_prefix)
    f = q.to_filter()
    rows, next_cursor = queries.history_page(db, f, after=cursor_or_400(q.cursor), limit=q.limit)
    filters = HistoryQuery.model_validate(q.model_dump(include=set(HistoryQuery.model_fields)))
    return templates.TemplateResponse(
        request,
        "history.html",
        {
            "user": user,
            "rows": rows,
            "plates": sees_plates(user),
            "mask_plate": mask_plate,
            "can_open": user.role in REVIEW_ROLES,
            "form": filters.form_values(),
            "query": filters.query_string(),
            "next_cursor": encode_cursor(next_cursor),
            "total": queries.count_history(db, f, cap=TOTAL_CAP),
            "total_cap": TOTAL_CAP,
            "cameras": queries.cameras(db),
            "rule_types": queries.rule_types(db),
            "vehicle_classes": queries.vehicle_classes(db),
            "statuses": ("pending", "confirmed", "rejected"),
            "chart_groups": queries.COUNT_BY,
            "hourly": f.start is not None
            and f.end is not None
            and f.end - f.start <= HOURLY_CHART_MAX,
        },
    )


@router.get("/history.csv")
def history_csv(
    request: Request, db: SessionDep, user: Analyst, q: Annotated[HistoryQuery, Query()]
) -> StreamingResponse:
    """Every matching violation as CSV, streamed: any filter, any size (plates masked
    without plate access, cells neutralised against spreadsheet formulas)."""
    plate_search_allowed(user, q.plate_prefix)
    repository.audit(
        db,
        actor=user.username,
        action="history.export",
        subject="violations",
        filters=q.query_string(),
    )
    db.commit()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        csv_lines(request.app.state.session_factory, q.to_filter(), plates=sees_plates(user)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="violations-{stamp}.csv"'},
    )
