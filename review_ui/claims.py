"""Claiming a violation for review, as the routes answer it: 404, 409 or claimed."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi import status as http_status
from sqlalchemy.orm import Session

from pipeline.config import AppConfig
from pipeline.store import queries
from pipeline.store.models import utcnow


def already_decided(status: str) -> HTTPException:
    """409 for an item that is no longer pending: deciding it again is a reversal."""
    return HTTPException(
        http_status.HTTP_409_CONFLICT, f"Already {status}: only a supervisor may reverse"
    )


def claim_or_refuse(db: Session, violation_id: str, officer: str, config: AppConfig) -> None:
    """Claim the item for `officer` in `db`'s transaction (the caller commits).

    Raises:
        HTTPException: 404 for no such violation; 409 when it is decided already or
            another officer's claim holds it.
    """
    try:
        queries.claim(
            db,
            violation_id,
            officer=officer,
            now=utcnow(),
            timeout_s=config.review.claim_timeout_s,
        )
    except LookupError:
        raise HTTPException(http_status.HTTP_404_NOT_FOUND, "No such violation") from None
    except queries.ClaimNotPending as decided:
        raise already_decided(decided.status) from None
    except queries.ClaimRefused as refused:
        raise HTTPException(
            http_status.HTTP_409_CONFLICT, f"Already claimed by {refused.holder}"
        ) from None
