"""Finding evidence files on disk safely, and checking them against their recorded hashes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pipeline.store.hashing import sha256_file
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


def evidence_url(item: EvidenceItem) -> str | None:
    """URL of the item in the review UI, or None when its uri is not under its violation."""
    prefix = f"{item.violation_id}/"
    if not item.uri.startswith(prefix) or len(item.uri) == len(prefix):
        return None
    return f"/evidence/{quote(item.violation_id)}/{quote(item.uri[len(prefix) :])}"


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


def evidence_view(root: Path, item: EvidenceItem) -> EvidenceView:
    """Describe `item`, re-hashing its file so an altered or lost file shows on the page."""
    path = resolve_evidence_path(root, item.uri)
    integrity: Integrity
    if path is None:
        integrity = "missing"
    elif sha256_file(path) == item.sha256.lower():
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
