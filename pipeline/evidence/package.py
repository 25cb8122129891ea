"""Evidence packages: key frames, crops, the clip and a signed manifest.

A package is the set of blobs `<violation_id>/*` in a blob store (a local
directory or an S3 bucket, `pipeline.store.blobs`). Every blob is written whole
and never overwritten, and `manifest.json` is written last: it lists every file
with its SHA-256 and size and carries an Ed25519 signature over its canonical
form (`pipeline.store.signing`). A package without a manifest is incomplete and is
never referenced by a committed database row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pipeline.config import CameraConfig, EvidenceConfig
from pipeline.rules.base import ViolationCandidate
from pipeline.signals.image import SignalState
from pipeline.store.blobs import (
    BlobError,
    BlobExistsError,
    BlobNotFoundError,
    BlobStore,
    LocalBlobStore,
    open_blob_store,
    write_atomic,
)
from pipeline.store.hashing import sha256_bytes, sha256_file
from pipeline.store.repository import EvidenceFile
from pipeline.store.signing import ManifestSigner, canonical_json, signature_problem

__all__ = [
    "MANIFEST",
    "EvidenceError",
    "EvidencePackage",
    "EvidenceStore",
    "LocalEvidenceStore",
    "annotate_overview",
    "crop",
    "encode_jpeg",
    "open_evidence_store",
    "sha256_file",
    "verify_package_dir",
    "write_atomic",
]

MANIFEST = "manifest.json"
_BAR_MARGIN = 8  # pixels left and right of the data bar's text
MANIFEST_SCHEMA_VERSION = 2
_JPEG_QUALITY = 95


class EvidenceError(Exception):
    """An evidence package that cannot be written."""


def encode_jpeg(image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:
        raise EvidenceError("JPEG encoding failed")
    return buffer.tobytes()


def crop(image: np.ndarray, box: tuple[float, float, float, float], pad: float = 0.1) -> np.ndarray:
    """The box grown by `pad` of its size on each side, clipped to the image."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    px, py = (x2 - x1) * pad, (y2 - y1) * pad
    left, top = max(0, int(x1 - px)), max(0, int(y1 - py))
    right, bottom = min(w, int(x2 + px)), min(h, int(y2 + py))
    if right <= left or bottom <= top:
        raise EvidenceError(f"box {box} lies outside the {w}x{h} frame")
    return image[top:bottom, left:right].copy()


def _format_measurement(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def data_bar_lines(
    camera: CameraConfig,
    candidate: ViolationCandidate,
    signal: SignalState | None,
    offence_utc: datetime,
) -> list[str]:
    """The text burned into the overview: time, camera, rule, signal state, measurements."""
    # The source matters to whoever reads the picture: a controller's phase is the
    # stronger evidence, the image's is what the camera saw.
    phase = f"{signal.phase.value} ({signal.source})" if signal else "unknown"
    measured = ", ".join(
        f"{name}={_format_measurement(value)}"
        for name, value in sorted(candidate.measurements.items())
    )
    return [
        f"{offence_utc.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]} UTC | {camera.id} | {camera.name}",
        f"{candidate.rule_type} v{candidate.rule_version} | signal {phase} | "
        f"{candidate.vehicle_class} track {candidate.track_id}",
        measured or "no measurements",
        candidate.explanation,
    ]


def annotate_overview(
    image: np.ndarray,
    camera: CameraConfig,
    candidate: ViolationCandidate,
    signal: SignalState | None,
    offence_utc: datetime,
) -> np.ndarray:
    """A copy of the 'after' frame with the vehicle, the stop line and a data bar below.

    The bar is added under the picture rather than over it, so it hides nothing
    of the scene.
    """
    out = image.copy()
    x1, y1, x2, y2 = (int(v) for v in candidate.after.box)
    cv2.rectangle(out, (x1, y1), (x2, y2), (0, 0, 255), 3)
    if camera.scene.stop_line is not None:
        (ax, ay), (bx, by) = camera.scene.stop_line.points
        cv2.line(out, (int(ax), int(ay)), (int(bx), int(by)), (0, 255, 255), 2)
    _draw_lane_and_path(out, camera, candidate)
    _draw_zone_and_riders(out, camera, candidate)
    scale = max(0.4, min(0.7, out.shape[1] / 1600))
    lines = [
        wrapped
        for line in data_bar_lines(camera, candidate, signal, offence_utc)
        for wrapped in wrap_to_width(line, out.shape[1] - 2 * _BAR_MARGIN, scale)
    ]
    step = int(40 * scale) + 4
    bar = np.zeros((step * len(lines) + 8, out.shape[1], 3), dtype=np.uint8)
    for row, text in enumerate(lines):
        cv2.putText(
            bar,
            text,
            (_BAR_MARGIN, step - 4 + step * row),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    return np.vstack([out, bar])


def wrap_to_width(text: str, width: int, scale: float) -> list[str]:
    """Split `text` at spaces into lines no wider than `width` pixels in the data bar's
    font; a single word wider than that is cut, so nothing runs off the image."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and _text_width(candidate, scale) > width:
            lines.append(current)
            candidate = word
        while _text_width(candidate, scale) > width and len(candidate) > 1:
            cut = len(candidate) - 1
            while cut > 1 and _text_width(candidate[:cut], scale) > width:
                cut -= 1
            lines.append(candidate[:cut])
            candidate = candidate[cut:]
        current = candidate
    lines.append(current)
    return lines


def _text_width(text: str, scale: float) -> int:
    (width, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    return int(width)


def _draw_lane_and_path(
    out: np.ndarray, camera: CameraConfig, candidate: ViolationCandidate
) -> None:
    """The crossings, the lane the rule judged by with its allowed directions (green),
    and the vehicle's path from the 'before' to the 'after' key frame (red): what a
    reviewer needs to see a vehicle on the crossing or driving against its lane."""
    for crosswalk in camera.scene.crosswalks:
        cv2.polylines(out, [np.array(crosswalk.polygon, np.int32)], True, (255, 255, 255), 1)
    lane_id = candidate.measurements.get("lane")
    for lane in camera.scene.lanes:
        if lane.id == lane_id:
            cv2.polylines(out, [np.array(lane.polygon, np.int32)], True, (255, 200, 0), 2)
            for tail, head in lane.directions:
                cv2.arrowedLine(out, _pixel(tail), _pixel(head), (0, 200, 0), 3, tipLength=0.05)
    if candidate.before.seq != candidate.after.seq:
        path = (_pixel(candidate.before.anchor), _pixel(candidate.after.anchor))
        cv2.arrowedLine(out, *path, (0, 0, 255), 3, tipLength=0.2)


def _draw_zone_and_riders(
    out: np.ndarray, camera: CameraConfig, candidate: ViolationCandidate
) -> None:
    """The zone a dwell rule judged by (orange) and the riders an overloaded motorbike
    was seen with (yellow), from the candidate's measurements."""
    zone_id = candidate.measurements.get("zone")
    for zone in camera.scene.zones:
        if zone.id == zone_id:
            cv2.polylines(out, [np.array(zone.polygon, np.int32)], True, (0, 140, 255), 2)
    for box in candidate.measurements.get("rider_boxes", []):
        x1, y1, x2, y2 = (round(v) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), (0, 255, 255), 2)


def _pixel(point: tuple[float, float]) -> tuple[int, int]:
    return round(point[0]), round(point[1])


@dataclass(frozen=True)
class EvidencePackage:
    files: list[EvidenceFile]
    manifest_sha256: str
    manifest_uri: str


class EvidenceStore:
    """Writes, verifies and deletes evidence packages in a blob store.

    Args:
        blobs: where the files go.
        signer: signs each manifest; needed only to write packages.
    """

    def __init__(self, blobs: BlobStore, signer: ManifestSigner | None = None) -> None:
        self.blobs = blobs
        self.signer = signer

    def __repr__(self) -> str:
        return f"EvidenceStore({self.blobs!r})"

    def write_package(
        self,
        violation_id: str,
        images: dict[str, tuple[str, np.ndarray]],
        manifest: dict[str, Any],
        files: dict[str, tuple[str, bytes]] | None = None,
    ) -> EvidencePackage:
        """Write images and files, then the signed manifest that lists them all.

        Args:
            violation_id: the package's name (its key prefix).
            images: kind -> (file name, BGR image), stored as JPEG.
            manifest: manifest fields; `files` and `signature` are filled in here.
            files: kind -> (file name, bytes) stored as they are (the clip).

        Returns:
            The files (manifest last) with their URIs, hashes and sizes.

        Raises:
            BlobExistsError: the package exists already (nothing is overwritten).
        """
        if self.signer is None:
            raise EvidenceError("no signing key: this evidence store can only verify")
        if self.blobs.exists(f"{violation_id}/{MANIFEST}"):
            raise BlobExistsError(f"evidence package {violation_id} exists already")
        blobs: list[tuple[str, str, bytes]] = [
            (kind, name, encode_jpeg(image)) for kind, (name, image) in images.items()
        ]
        blobs += [(kind, name, data) for kind, (name, data) in (files or {}).items()]
        written: list[EvidenceFile] = []
        entries = []
        for kind, name, data in blobs:
            uri = self.blobs.put(f"{violation_id}/{name}", data)
            digest = sha256_bytes(data)
            written.append(EvidenceFile(kind=kind, uri=uri, sha256=digest, size=len(data)))
            entries.append({"name": name, "kind": kind, "sha256": digest, "size": len(data)})
        body = {**manifest, "files": entries}
        data = canonical_json(self.signer.sign(body))
        uri = self.blobs.put(f"{violation_id}/{MANIFEST}", data)
        manifest_file = EvidenceFile(
            kind="manifest", uri=uri, sha256=sha256_bytes(data), size=len(data)
        )
        return EvidencePackage(written + [manifest_file], manifest_file.sha256, uri)

    def read_manifest(self, violation_id: str) -> dict[str, Any]:
        """The package's manifest as stored (not verified)."""
        manifest: dict[str, Any] = json.loads(self.blobs.get(f"{violation_id}/{MANIFEST}"))
        return manifest

    def verify_package(self, violation_id: str, public_key: Ed25519PublicKey) -> list[str]:
        """Every problem of one package; an empty list means it verifies.

        Each problem starts with the URI of the file it concerns: missing, wrong
        size or wrong SHA-256; for the manifest also its signature and form.
        """
        key = f"{violation_id}/{MANIFEST}"
        where = self.blobs.uri(key)
        try:
            data = self.blobs.get(key)
        except BlobNotFoundError:
            return [f"{where}: missing"]
        except BlobError as exc:
            return [f"{where}: unreadable ({exc})"]
        try:
            manifest = json.loads(data)
            if not isinstance(manifest, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            return [f"{where}: unreadable, not a JSON manifest ({exc})"]
        problems = []
        reason = signature_problem(manifest, public_key)
        if reason is not None:
            problems.append(f"{where}: {reason}")
        elif canonical_json(manifest) != data:
            problems.append(f"{where}: manifest is not in canonical form (altered after signing)")
        for entry in manifest.get("files", []):
            problems.extend(self._check_file(violation_id, entry))
        return problems

    def _check_file(self, violation_id: str, entry: dict[str, Any]) -> list[str]:
        name = str(entry.get("name", ""))
        try:
            key = f"{violation_id}/{name}"
            where = self.blobs.uri(key)
            data = self.blobs.get(key)
        except BlobNotFoundError:
            return [f"{where}: missing"]
        except BlobError as exc:
            return [f"{violation_id}/{name}: unreadable ({exc})"]
        if len(data) != entry.get("size"):
            return [f"{where}: size {len(data)} does not match the manifest ({entry.get('size')})"]
        if sha256_bytes(data) != entry.get("sha256"):
            return [f"{where}: SHA-256 does not match the manifest"]
        return []

    def delete_package(self, violation_id: str) -> None:
        """Remove every blob of a package (retention); a missing package is not an error.

        The manifest goes first, so a package interrupted half-way through its
        deletion reads as incomplete rather than as evidence with missing files.
        """
        self.blobs.delete(f"{violation_id}/{MANIFEST}")
        self.blobs.delete_dir(f"{violation_id}/")


class LocalEvidenceStore(EvidenceStore):
    """Evidence packages in a local directory."""

    def __init__(self, root: Path, signer: ManifestSigner | None = None) -> None:
        super().__init__(LocalBlobStore(root), signer)
        self.root = Path(root)

    def package_dir(self, violation_id: str) -> Path:
        return self.root / violation_id


def open_evidence_store(config: EvidenceConfig, *, signing: bool = True) -> EvidenceStore:
    """The store `config` selects; with `signing`, its key is loaded (created on first use)."""
    signer = ManifestSigner.from_file(config.signing_key_path) if signing else None
    return EvidenceStore(open_blob_store(config), signer)


def verify_package_dir(directory: Path, public_key: Ed25519PublicKey) -> list[str]:
    """Every problem of a package directory; an empty list means it verifies."""
    directory = Path(directory).absolute()
    return EvidenceStore(LocalBlobStore(directory.parent)).verify_package(
        directory.name, public_key
    )
