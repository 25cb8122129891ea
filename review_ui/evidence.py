"""Finding evidence files safely, in a local directory or an S3 bucket, and checking them
against their recorded hashes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pipeline.store.blobs import BlobError, BlobStore
from pipeline.store.hashing import sha256_bytes
from pipeline.store.models import EvidenceItem

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".webm"})

Integrity = Literal["ok", "mismatch", "missing"]


def resolve_evidence_path(root: Path, uri: str) -> Path | None:
    """The file `uri` names under `root`, or None when it lies outside it or is not a file.

    `uri` comes from the database, not the request, but it is still checked:
    a row written by a buggy or compromised worker must not expose the host.
    """
    base = root.resolve()
    try:
        path = (base / uri).resolve()
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


def evidence_name(item: EvidenceItem) -> str | None:
    """The item's file name inside its violation's package, read from its URI.

    URIs are `<violation>/<name>` (older rows), an absolute path ending in
    `/<violation>/<name>`, or `s3://bucket/prefix/<violation>/<name>`; None when
    the URI does not lie under its own violation.
    """
    marker = f"{item.violation_id}/"
    uri = item.uri
    if uri.startswith(marker):
        name = uri[len(marker) :]
    elif f"/{marker}" in uri:
        name = uri.rsplit(f"/{marker}", 1)[1]
    else:
        return None
    return name if name and ".." not in name.split("/") else None


def evidence_url(item: EvidenceItem) -> str | None:
    """URL of the item in the review UI, or None when its uri is not under its violation."""
    name = evidence_name(item)
    if name is None:
        return None
    return f"/evidence/{quote(item.violation_id)}/{quote(name)}"


def read_evidence(blobs: BlobStore, item: EvidenceItem) -> bytes | None:
    """The item's bytes from the store, or None when it is missing or lies elsewhere."""
    key = blobs.key_of(item.uri)
    if key is None:
        return None
    try:
        return blobs.get(key)
    except BlobError:
        return None


@dataclass(frozen=True)
class EvidenceView:
    """One evidence item as the viewer shows it, with the hash checked now."""

    kind: str
    name: str
    url: str | None
    sha256: str
    size: int
    is_image: bool
    is_video: bool
    integrity: Integrity


def evidence_view(blobs: BlobStore, item: EvidenceItem) -> EvidenceView:
    """Describe `item`, re-hashing its blob so an altered or lost file shows on the page."""
    data = read_evidence(blobs, item)
    integrity: Integrity
    if data is None:
        integrity = "missing"
    elif sha256_bytes(data) == item.sha256.lower():
        integrity = "ok"
    else:
        integrity = "mismatch"
    suffix = Path(item.uri).suffix.lower()
    return EvidenceView(
        kind=item.kind,
        name=Path(item.uri).name,
        url=evidence_url(item),
        sha256=item.sha256,
        size=item.size,
        is_image=suffix in IMAGE_SUFFIXES,
        is_video=suffix in VIDEO_SUFFIXES,
        integrity=integrity,
    )
