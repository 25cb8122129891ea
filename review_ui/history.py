"""Shared by the history page, its CSV export and the JSON API: one reading of the filters."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from fastapi import HTTPException, status
from sqlalchemy.orm import Session, sessionmaker

from pipeline.store import queries
from pipeline.store.models import User
from pipeline.store.queries import Cursor, HistoryFilter
from review_ui.access import sees_plates
from review_ui.schemas import CSV_COLUMNS, csv_row, decode_cursor


def cursor_or_400(token: str | None) -> Cursor | None:
    try:
        return decode_cursor(token)
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Bad page cursor") from None


def plate_search_allowed(user: User, plate_prefix: str | None) -> None:
    """Refuse a plate search to a user who may not see plates: the search would tell
    them which plates exist, a masked column notwithstanding.

    Raises:
        HTTPException: 403 naming the parameter.
    """
    if plate_prefix and not sees_plates(user):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "plate_prefix: searching by plate needs plate access (trafficcam users plates)",
        )


def csv_lines(
    session_factory: sessionmaker[Session], f: HistoryFilter, *, plates: bool = True
) -> Iterator[str]:
    """The export, a few thousand rows at a time, in its own session; `plates` False
    masks them.

    The response is streamed after the route returns, when the request's own
    session is already closed, so the generator opens and closes one itself.
    """
    buffer = io.StringIO()
    # CRLF rows (RFC 4180): the writer then quotes a cell holding a lone CR or LF too.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    with session_factory() as db:
        for index, violation in enumerate(queries.iter_history(db, f), start=1):
            writer.writerow(csv_row(violation, plates=plates))
            if index % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
