"""Evidence packages: key frames, crops and a manifest with the SHA-256 of every file.

A package is a directory `<root>/<violation_id>/`. Every file is written
atomically (temp file, fsync, rename) and never overwritten, and the manifest is
written last: a package without a manifest is incomplete and is never referenced
by a committed database row.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.config import CameraConfig
from pipeline.rules.base import ViolationCandidate
from pipeline.signal import SignalState
from pipeline.store.hashing import sha256_bytes, sha256_file
from pipeline.store.repository import EvidenceFile

MANIFEST = "manifest.json"
MANIFEST_SCHEMA_VERSION = 1
_JPEG_QUALITY = 95


class EvidenceError(Exception):
    """An evidence package that cannot be written."""


def write_atomic(path: Path, data: bytes) -> None:
    """Write a new file so that it is either absent or complete, never partial."""
    if path.exists():
        raise EvidenceError(f"{path} exists; evidence originals are never overwritten")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)  # fails instead of replacing if the name appeared meanwhile
    finally:
        os.unlink(tmp)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


def annotate_overview(
    image: np.ndarray,
    camera: CameraConfig,
    candidate: ViolationCandidate,
    signal: SignalState | None,
    offence_utc: datetime,
) -> np.ndarray:
    """A copy of the 'after' frame with the vehicle, the stop line and a data bar."""
    out = image.copy()
    x1, y1, x2, y2 = (int(v) for v in candidate.after.box)
    cv2.rectangle(out, (x1, y1), (x2, y2), (0, 0, 255), 3)
    if camera.scene.stop_line is not None:
        (ax, ay), (bx, by) = camera.scene.stop_line.points
        cv2.line(out, (int(ax), int(ay)), (int(bx), int(by)), (0, 255, 255), 2)
    phase = signal.phase.value if signal else "unknown"
    lines = [
        f"{camera.id} | {offence_utc.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]} UTC | "
        f"{candidate.rule_type} | signal {phase}",
        candidate.explanation,
    ]
    bar = np.zeros((30 * len(lines) + 8, out.shape[1], 3), dtype=np.uint8)
    for row, text in enumerate(lines):
        cv2.putText(
            bar,
            text,
            (8, 26 + 30 * row),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.7,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    return np.vstack([out, bar])


@dataclass(frozen=True)
class EvidencePackage:
    files: list[EvidenceFile]
    manifest_sha256: str
    directory: Path


class LocalEvidenceStore:
    """Evidence packages in a local directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def package_dir(self, violation_id: str) -> Path:
        return self.root / violation_id

    def write_package(
        self,
        violation_id: str,
        images: dict[str, tuple[str, np.ndarray]],
        manifest: dict[str, Any],
    ) -> EvidencePackage:
        """Write images then the manifest (which lists every image's hash).

        Args:
            violation_id: the package's directory name.
            images: kind -> (file name, BGR image).
            manifest: manifest fields; `files` is filled in here.

        Returns:
            The files (manifest included) with their hashes and sizes.
        """
        directory = self.package_dir(violation_id)
        directory.mkdir(parents=True, exist_ok=False)
        files: list[EvidenceFile] = []
        for kind, (name, image) in images.items():
            data = encode_jpeg(image)
            write_atomic(directory / name, data)
            files.append(
                EvidenceFile(
                    kind=kind,
                    uri=f"{violation_id}/{name}",
                    sha256=sha256_bytes(data),
                    size=len(data),
                )
            )
        body = dict(manifest)
        body["files"] = [
            {"name": f.uri.split("/", 1)[1], "kind": f.kind, "sha256": f.sha256, "size": f.size}
            for f in files
        ]
        data = json.dumps(body, indent=2, sort_keys=True).encode()
        write_atomic(directory / MANIFEST, data)
        manifest_file = EvidenceFile(
            kind="manifest",
            uri=f"{violation_id}/{MANIFEST}",
            sha256=sha256_bytes(data),
            size=len(data),
        )
        return EvidencePackage(files + [manifest_file], manifest_file.sha256, directory)

    def verify_package(self, violation_id: str) -> list[str]:
        return verify_package_dir(self.package_dir(violation_id))

    def delete_package(self, violation_id: str) -> None:
        """Remove a package directory and everything in it (retention); absent is fine.

        Raises:
            EvidenceError: when the id would name something other than one package
                directly under the root (`..`, a nested path, the root itself).
        """
        root = self.root.resolve()
        directory = (root / violation_id).resolve()
        if directory.parent != root or not violation_id or violation_id.startswith("_"):
            raise EvidenceError(f"{violation_id!r} does not name an evidence package")
        try:
            shutil.rmtree(directory)
        except FileNotFoundError:
            return  # already gone: a retention run that stopped after its commit
        _fsync_dir(root)


def verify_package_dir(directory: Path) -> list[str]:
    """Every problem found in a package directory; an empty list means it verifies.

    Each problem names the file: missing, wrong size or wrong SHA-256.
    """
    manifest_path = directory / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        return [f"{manifest_path}: missing"]
    except (OSError, ValueError) as exc:
        return [f"{manifest_path}: unreadable ({exc})"]
    problems = []
    for entry in manifest.get("files", []):
        path = directory / entry["name"]
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{path}: SHA-256 does not match the manifest")
    return problems
