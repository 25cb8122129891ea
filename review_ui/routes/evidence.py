"""Evidence files, served only when the database lists them for that violation, only to
those who review violations, and each one recorded in the audit log."""

from __future__ import annotations

from pathlib import PurePosixPath

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy import select

from pipeline.store.models import EvidenceItem
from review_ui.access import audit_view
from review_ui.auth import Reviewer
from review_ui.deps import BlobsDep, SessionDep
from review_ui.evidence import evidence_name, media_type, stream_evidence

router = APIRouter(include_in_schema=False)


@router.get("/evidence/{violation_id}/{name:path}")
def evidence_file(
    violation_id: str, name: str, db: SessionDep, blobs: BlobsDep, user: Reviewer
) -> Response:
    """Serve the file `name` of a violation's package from the evidence store.

    The request never names a path or an object: it names a registered evidence
    row, and only that row's stored URI is opened, through the store (a local
    directory or S3). Anything else, `..` included, is 404. The content type is
    the row's kind's, never guessed from the name; an S3 object is streamed.
    """
    items = db.scalars(select(EvidenceItem).where(EvidenceItem.violation_id == violation_id))
    item = next((i for i in items if evidence_name(i) == name), None)
    if item is None or item.deleted_at is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such evidence file")
    filename = PurePosixPath(name).name
    content_type = media_type(item.kind)
    # Anything not known to be a picture, clip or manifest is downloaded, never rendered.
    disposition = "attachment" if content_type == "application/octet-stream" else "inline"
    # Evidence shows faces and plates: keep it out of shared and disk caches.
    headers = {"Cache-Control": "private, no-store"}
    key = blobs.key_of(item.uri)
    path = blobs.local_path(key) if key is not None else None
    if path is not None:
        audit_view(db, user, "evidence.view", violation_id, file=filename, kind=item.kind)
        # A local file is streamed, with range requests for the clip's seeking.
        return FileResponse(
            path,
            media_type=content_type,
            content_disposition_type=disposition,
            filename=filename,
            headers=headers,
        )
    pieces = stream_evidence(blobs, item)
    if pieces is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such evidence file")
    audit_view(db, user, "evidence.view", violation_id, file=filename, kind=item.kind)
    headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return StreamingResponse(pieces, media_type=content_type, headers=headers)
