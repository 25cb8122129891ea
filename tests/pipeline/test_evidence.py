"""Evidence packages: atomic, never overwritten, and verification that names each bad file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.evidence import (
    MANIFEST,
    EvidenceError,
    LocalEvidenceStore,
    crop,
    sha256_file,
    verify_package_dir,
    write_atomic,
)


def images() -> dict[str, tuple[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    return {
        "frame_before": ("frame_before.jpg", frame),
        "frame_after": ("frame_after.jpg", frame[::-1].copy()),
        "vehicle_crop": ("vehicle_crop.jpg", crop(frame, (40, 30, 100, 90))),
    }


def test_package_lists_every_file_with_its_hash(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path)
    package = store.write_package("v1", images(), {"violation_id": "v1"})
    manifest = json.loads((tmp_path / "v1" / MANIFEST).read_text())
    assert {f["name"] for f in manifest["files"]} == {
        "frame_before.jpg",
        "frame_after.jpg",
        "vehicle_crop.jpg",
    }
    for entry in manifest["files"]:
        path = tmp_path / "v1" / entry["name"]
        assert sha256_file(path) == entry["sha256"]
        assert path.stat().st_size == entry["size"]
    assert package.manifest_sha256 == sha256_file(tmp_path / "v1" / MANIFEST)
    assert [f.kind for f in package.files][-1] == "manifest"
    assert store.verify_package("v1") == []
    assert not list((tmp_path / "v1").glob(".*.tmp"))


@pytest.mark.parametrize("name", ["frame_before.jpg", "frame_after.jpg", "vehicle_crop.jpg"])
def test_one_changed_byte_is_named(tmp_path: Path, name: str) -> None:
    store = LocalEvidenceStore(tmp_path)
    store.write_package("v1", images(), {})
    path = tmp_path / "v1" / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    problems = verify_package_dir(tmp_path / "v1")
    assert len(problems) == 1 and name in problems[0]


def test_missing_file_and_missing_manifest_are_named(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path)
    store.write_package("v1", images(), {})
    (tmp_path / "v1" / "frame_after.jpg").unlink()
    assert any("frame_after.jpg: missing" in p for p in verify_package_dir(tmp_path / "v1"))
    (tmp_path / "v1" / MANIFEST).unlink()
    assert verify_package_dir(tmp_path / "v1") == [f"{tmp_path / 'v1' / MANIFEST}: missing"]


def test_originals_are_never_overwritten(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.bin", b"first")
    with pytest.raises(EvidenceError, match="never overwritten"):
        write_atomic(tmp_path / "a.bin", b"second")
    assert (tmp_path / "a.bin").read_bytes() == b"first"
    store = LocalEvidenceStore(tmp_path)
    store.write_package("v1", images(), {})
    with pytest.raises(FileExistsError):
        store.write_package("v1", images(), {})


def test_crop_outside_frame_is_an_error() -> None:
    with pytest.raises(EvidenceError, match="outside"):
        crop(np.zeros((10, 10, 3), np.uint8), (20, 20, 30, 30))
