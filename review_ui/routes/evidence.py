"""Evidence files, served only when the database lists them for that violation."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse
from sqlalchemy import select

from pipeline.store.models import EvidenceItem
from review_ui.auth import Viewer
from review_ui.deps import ConfigDep, SessionDep
from review_ui.evidence import resolve_evidence_path

router = APIRouter(include_in_schema=False)


@router.get("/evidence/{violation_id}/{name:path}")
def evidence_file(
    violation_id: str, name: str, db: SessionDep, config: ConfigDep, user: Viewer
) -> FileResponse:
    """Serve `<evidence root>/<violation_id>/<name>`.

    The request never names a path on disk: it names a registered evidence row,
    and only that row's stored uri is opened. Anything else, `..` included, is 404.
    """
    uri = f"{violation_id}/{name}"
    item = db.scalars(
        select(EvidenceItem).where(
            EvidenceItem.violation_id == violation_id, EvidenceItem.uri == uri
        )
    ).first()
    path = resolve_evidence_path(config.evidence.path, item.uri) if item is not None else None
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such evidence file")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(
        path,
        media_type=media_type,
        content_disposition_type="inline",
        filename=path.name,
        # Evidence shows faces and plates: keep it out of shared and disk caches.
        headers={"Cache-Control": "private, no-store"},
    )
