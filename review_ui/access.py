"""Who may see what of a violation, and the record of every look at evidence.

Police officers (and admins) open violations, their evidence and plates: they
review them. Operators see camera health only. Analysts see the history and its
counts; a plate is personal data, so they see it masked (`29*-***.**`, the
province code kept for regional figures) and may not search by plate unless
their account holds `plate_access` (`trafficcam users plates NAME`).

Every violation detail view and every evidence file served is written to the
audit log: who, which violation or file, when.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pipeline.store import repository
from pipeline.store.models import User

PLATE_ROLES: tuple[str, ...] = ("police", "admin")
"""Roles that see plates whole; other roles need the account's `plate_access`."""
_KEEP = 2  # leading characters of a masked plate kept: the province code


def sees_plates(user: User) -> bool:
    return user.role in PLATE_ROLES or bool(user.plate_access)


def mask_plate(plate: str | None) -> str | None:
    """`29A-123.45` -> `29*-***.**`: letters and digits after the province code hidden,
    separators kept so the plate's form still shows."""
    if plate is None:
        return None
    return plate[:_KEEP] + "".join("*" if c.isalnum() else c for c in plate[_KEEP:])


def plate_for(user: User, plate: str | None) -> str | None:
    """The plate as `user` may see it."""
    return plate if sees_plates(user) else mask_plate(plate)


def audit_view(db: Session, user: User, action: str, violation_id: str, **detail: Any) -> None:
    """Record one look at a violation or its evidence, committed at once.

    Committed here, before the response is sent, so a view is on record even when
    the client drops the connection half-way through a file.
    """
    repository.audit(
        db, actor=user.username, action=action, subject=f"violation:{violation_id}", **detail
    )
    db.commit()
