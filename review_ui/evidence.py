"""Finding evidence files safely, in a local directory or an S3 bucket, and checking them
against their recorded hashes and their package's signed manifest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pipeline.config import EvidenceConfig
from pipeline.store.blobs import BlobError, BlobStore
from pipeline.store.models import EvidenceItem
from pipeline.store.signing import SigningKeyError, key_id, load_public_key, signature_problem

Integrity = Literal["ok", "mismatch", "missing"]
ManifestState = Literal["verified", "invalid", "absent", "unverifiable"]

# What each kind of evidence is, as the package writer stores it: every image goes through
# `encode_jpeg`, the clip is MP4 and the manifest canonical JSON. The type comes from the
# row, never from the file name a worker chose.
IMAGE_KINDS = frozenset({"frame_before", "frame_after", "overview"})
MEDIA_TYPES = {"clip": "video/mp4", "manifest": "application/json"}
OPAQUE = "application/octet-stream"


def media_type(kind: str) -> str:
    """The content type of an evidence item of `kind`; unknown kinds are opaque bytes."""
    if kind in IMAGE_KINDS or kind.endswith("_crop") or kind.startswith("frame_"):
        return "image/jpeg"
    return MEDIA_TYPES.get(kind, OPAQUE)


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


def stream_evidence(blobs: BlobStore, item: EvidenceItem) -> Iterator[bytes] | None:
    """The item's bytes piece by piece, or None when it is missing or lies elsewhere."""
    key = blobs.key_of(item.uri)
    if key is None:
        return None
    try:
        return blobs.stream(key)
    except BlobError:
        return None


def hash_evidence(blobs: BlobStore, item: EvidenceItem) -> str | None:
    """SHA-256 of the item's stored bytes (streamed), or None when it cannot be read."""
    pieces = stream_evidence(blobs, item)
    if pieces is None:
        return None
    digest = hashlib.sha256()
    try:
        for piece in pieces:
            digest.update(piece)
    except (BlobError, OSError):
        return None
    return digest.hexdigest()


@dataclass(frozen=True)
class ManifestCheck:
    """A package's manifest as the viewer trusts it: the signature checked now."""

    state: ManifestState
    reason: str
    files: dict[str, str]
    """File name -> SHA-256 as the signed manifest lists them (empty unless verified)."""


def check_manifest(
    blobs: BlobStore, items: list[EvidenceItem], trusted: Ed25519PublicKey | None
) -> ManifestCheck:
    """Read the package's manifest and verify its signature under `trusted`.

    A row and its file can be rewritten together by whoever can write the
    database and the evidence store; the signed manifest cannot without the
    signing key, so the viewer compares against it too.
    """
    manifest_item = next((i for i in items if i.kind == "manifest"), None)
    if manifest_item is None:
        return ManifestCheck("absent", "no signed manifest recorded for this violation", {})
    if trusted is None:
        return ManifestCheck("unverifiable", "the signing key is not readable here", {})
    key = blobs.key_of(manifest_item.uri)
    try:
        data = blobs.get(key) if key is not None else None
    except BlobError:
        data = None
    if data is None:
        return ManifestCheck("invalid", "manifest missing", {})
    try:
        manifest = json.loads(data)
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except ValueError:
        return ManifestCheck("invalid", "manifest is not JSON", {})
    problem = signature_problem(manifest, trusted)
    if problem is not None:
        return ManifestCheck("invalid", problem, {})
    files = {
        str(entry.get("name")): str(entry.get("sha256"))
        for entry in manifest.get("files", [])
        if isinstance(entry, dict)
    }
    return ManifestCheck("verified", "", files)


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


def evidence_view(
    blobs: BlobStore, item: EvidenceItem, manifest: ManifestCheck | None = None
) -> EvidenceView:
    """Describe `item`, re-hashing its blob so an altered or lost file shows on the page.

    With a verified manifest, the row's hash must also be the one the manifest
    signed (the manifest itself is checked by its signature instead).
    """
    digest = hash_evidence(blobs, item)
    integrity: Integrity
    if digest is None:
        integrity = "missing"
    elif digest != item.sha256.lower() or (
        manifest is not None
        and item.kind != "manifest"
        and (
            manifest.state == "invalid"
            or (
                manifest.state == "verified"
                and manifest.files.get(evidence_name(item) or "") != digest
            )
        )
    ):
        integrity = "mismatch"
    else:
        integrity = "ok"
    kind_type = media_type(item.kind)
    return EvidenceView(
        kind=item.kind,
        name=PurePosixPath(item.uri).name,
        url=evidence_url(item),
        sha256=item.sha256,
        size=item.size,
        is_image=kind_type.startswith("image/"),
        is_video=kind_type.startswith("video/"),
        integrity=integrity,
    )


def trusted_public_key(config: EvidenceConfig) -> Ed25519PublicKey | None:
    """The key manifests must be signed by: `evidence.public_key`, else the public half of
    the signing key, and when `evidence.signing_key_id` is set, only if it is that key.
    None when not readable here or not the pinned key (every manifest then shows as
    unverifiable or invalid)."""
    try:
        key = load_public_key(config.verifying_key_path)
    except SigningKeyError:
        return None
    if config.signing_key_id is not None and key_id(key) != config.signing_key_id:
        return None
    return key
