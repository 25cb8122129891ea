"""Evidence files, served only when the database lists them for that violation."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, Response
from sqlalchemy import select

from pipeline.store.models import EvidenceItem
from review_ui.auth import Viewer
from review_ui.deps import BlobsDep, SessionDep
from review_ui.evidence import evidence_name, read_evidence

router = APIRouter(include_in_schema=False)


@router.get("/evidence/{violation_id}/{name:path}")
def evidence_file(
    violation_id: str, name: str, db: SessionDep, blobs: BlobsDep, user: Viewer
) -> Response:
    """Serve the file `name` of a violation's package from the evidence store.

    The request never names a path or an object: it names a registered evidence
    row, and only that row's stored URI is opened, through the store (a local
    directory or S3). Anything else, `..` included, is 404.
    """
    items = db.scalars(select(EvidenceItem).where(EvidenceItem.violation_id == violation_id))
    item = next((i for i in items if evidence_name(i) == name), None)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such evidence file")
    filename = PurePosixPath(name).name
    media_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    # Evidence shows faces and plates: keep it out of shared and disk caches.
    headers = {"Cache-Control": "private, no-store"}
    key = blobs.key_of(item.uri)
    path = blobs.local_path(key) if key is not None else None
    if path is not None:
        # A local file is streamed, with range requests for the clip's seeking.
        return FileResponse(
            path,
            media_type=media_type,
            content_disposition_type="inline",
            filename=filename,
            headers=headers,
        )
    data = read_evidence(blobs, item)
    if data is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such evidence file")
    headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return Response(data, media_type=media_type, headers=headers)
