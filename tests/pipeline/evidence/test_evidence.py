"""Evidence packages on a local directory and on a real S3 server: atomic, never
overwritten, signed, and verification that names each bad file."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pipeline.evidence.package import (
    MANIFEST,
    EvidenceError,
    EvidenceStore,
    LocalEvidenceStore,
    crop,
    sha256_file,
    verify_package_dir,
    write_atomic,
)
from pipeline.store.blobs import BlobExistsError, LocalBlobStore, S3BlobStore
from pipeline.store.hashing import sha256_bytes
from pipeline.store.signing import ManifestSigner, canonical_json
from tests.fixtures.s3 import S3Server

CLIP_BYTES = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
FILE_NAMES = [
    "frame_before.jpg",
    "frame_after.jpg",
    "vehicle_crop.jpg",
    "plate_crop.jpg",
    "overview.jpg",
    "clip.mp4",
]


def images() -> dict[str, tuple[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    return {
        "frame_before": ("frame_before.jpg", frame),
        "frame_after": ("frame_after.jpg", frame[::-1].copy()),
        "vehicle_crop": ("vehicle_crop.jpg", crop(frame, (40, 30, 100, 90))),
        "plate_crop": ("plate_crop.jpg", crop(frame, (60, 70, 90, 85))),
        "overview": ("overview.jpg", np.vstack([frame, np.zeros((40, 160, 3), np.uint8)])),
    }


@dataclass
class Backend:
    """An evidence store on one blob store, and a way to alter a stored blob behind its back."""

    store: EvidenceStore
    signer: ManifestSigner
    overwrite: Callable[[str, bytes], None]

    def write(self, violation_id: str = "v1") -> None:
        self.store.write_package(
            violation_id,
            images(),
            {"violation_id": violation_id, "camera": {"id": "cam-1", "name": "Hàng Bài"}},
            files={"clip": ("clip.mp4", CLIP_BYTES)},
        )

    def verify(self, violation_id: str = "v1") -> list[str]:
        return self.store.verify_package(violation_id, self.signer.public_key)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    signer = ManifestSigner(Ed25519PrivateKey.generate())
    if request.param == "local":
        blobs = LocalBlobStore(tmp_path / "evidence")

        def overwrite_file(key: str, data: bytes) -> None:
            (tmp_path / "evidence" / key).write_bytes(data)

        return Backend(EvidenceStore(blobs, signer), signer, overwrite_file)
    server: S3Server = request.getfixturevalue("s3_server")
    bucket: str = request.getfixturevalue("s3_bucket")
    s3 = S3BlobStore(server.store_config(bucket, prefix="evidence/"))

    def overwrite_object(key: str, data: bytes) -> None:
        server.client().put_object(Bucket=bucket, Key=f"evidence/{key}", Body=data)

    return Backend(EvidenceStore(s3, signer), signer, overwrite_object)


def test_package_lists_every_file_with_its_hash_and_verifies(backend: Backend) -> None:
    backend.write()
    manifest = json.loads(backend.store.blobs.get(f"v1/{MANIFEST}"))
    assert {f["name"] for f in manifest["files"]} == set(FILE_NAMES)
    for entry in manifest["files"]:
        data = backend.store.blobs.get(f"v1/{entry['name']}")
        assert sha256_bytes(data) == entry["sha256"]
        assert len(data) == entry["size"]
    assert manifest["signature"]["key_id"] == backend.signer.key_id
    assert backend.verify() == []


def test_uris_say_where_each_blob_is(backend: Backend, tmp_path: Path) -> None:
    package = backend.store.write_package("v1", images(), {"violation_id": "v1"})
    for item in package.files:
        assert backend.store.blobs.key_of(item.uri) is not None
        if isinstance(backend.store.blobs, LocalBlobStore):
            assert Path(item.uri).is_file() and Path(item.uri).is_relative_to(tmp_path)
            assert sha256_file(Path(item.uri)) == item.sha256
        else:
            assert item.uri.startswith("s3://") and "/evidence/v1/" in item.uri
    assert package.files[-1].kind == "manifest"
    assert package.manifest_sha256 == sha256_bytes(backend.store.blobs.get(f"v1/{MANIFEST}"))


@pytest.mark.parametrize("name", FILE_NAMES)
def test_one_changed_byte_in_any_file_is_named(backend: Backend, name: str) -> None:
    backend.write()
    data = bytearray(backend.store.blobs.get(f"v1/{name}"))
    data[len(data) // 2] ^= 0x01
    backend.overwrite(f"v1/{name}", bytes(data))
    problems = backend.verify()
    assert len(problems) == 1
    assert problems[0].startswith(backend.store.blobs.uri(f"v1/{name}"))
    assert "SHA-256 does not match the manifest" in problems[0]


@pytest.mark.parametrize("offset", ["a hash", "the camera name", "the signature"])
def test_one_changed_byte_in_the_manifest_fails_its_signature(
    backend: Backend, offset: str
) -> None:
    backend.write()
    data = bytearray(backend.store.blobs.get(f"v1/{MANIFEST}"))
    manifest = json.loads(data)
    needle = {
        "a hash": manifest["files"][0]["sha256"].encode(),
        "the camera name": "Hàng Bài".encode(),
        "the signature": manifest["signature"]["value"][:8].encode(),
    }[offset]
    at = bytes(data).index(needle)
    data[at] = ord("0") if data[at] != ord("0") else ord("1")
    backend.overwrite(f"v1/{MANIFEST}", bytes(data))
    problems = backend.verify()
    manifest_uri = backend.store.blobs.uri(f"v1/{MANIFEST}")
    assert any(p.startswith(manifest_uri) and "manifest signature" in p for p in problems)


def test_whitespace_added_to_the_manifest_is_caught(backend: Backend) -> None:
    """Whitespace does not change the parsed manifest, so only the canonical form catches it."""
    backend.write()
    pretty = json.dumps(json.loads(backend.store.blobs.get(f"v1/{MANIFEST}")), indent=2)
    backend.overwrite(f"v1/{MANIFEST}", pretty.encode())
    assert backend.verify() == [
        f"{backend.store.blobs.uri(f'v1/{MANIFEST}')}: manifest is not in canonical form "
        "(altered after signing)"
    ]


def test_a_manifest_rewritten_with_new_hashes_and_no_key_fails(backend: Backend) -> None:
    """Swapping a file and fixing its hash in the manifest needs the private key."""
    backend.write()
    manifest = json.loads(backend.store.blobs.get(f"v1/{MANIFEST}"))
    forged = b"forged picture"
    backend.overwrite("v1/frame_after.jpg", forged)
    for entry in manifest["files"]:
        if entry["name"] == "frame_after.jpg":
            entry.update(sha256=sha256_bytes(forged), size=len(forged))
    backend.overwrite(f"v1/{MANIFEST}", canonical_json(manifest))
    problems = backend.verify()
    assert len(problems) == 1 and "manifest signature does not match its content" in problems[0]


def test_signature_by_another_key_is_named(backend: Backend) -> None:
    backend.write()
    other = ManifestSigner(Ed25519PrivateKey.generate())
    problems = backend.store.verify_package("v1", other.public_key)
    assert len(problems) == 1
    assert "manifest signature is by key" in problems[0] and other.key_id[:16] in problems[0]


def test_missing_signature_is_named(backend: Backend) -> None:
    backend.write()
    manifest = json.loads(backend.store.blobs.get(f"v1/{MANIFEST}"))
    del manifest["signature"]
    backend.overwrite(f"v1/{MANIFEST}", canonical_json(manifest))
    assert backend.verify() == [
        f"{backend.store.blobs.uri(f'v1/{MANIFEST}')}: manifest signature missing"
    ]


def test_missing_file_and_missing_manifest_are_named(backend: Backend) -> None:
    backend.write()
    backend.store.blobs.delete("v1/frame_after.jpg")
    assert backend.verify() == [f"{backend.store.blobs.uri('v1/frame_after.jpg')}: missing"]
    backend.store.blobs.delete(f"v1/{MANIFEST}")
    assert backend.verify() == [f"{backend.store.blobs.uri(f'v1/{MANIFEST}')}: missing"]


def test_a_package_is_never_written_twice(backend: Backend) -> None:
    backend.write()
    before = backend.store.blobs.get("v1/frame_after.jpg")
    with pytest.raises(BlobExistsError, match="exists"):
        backend.write()
    assert backend.store.blobs.get("v1/frame_after.jpg") == before
    assert backend.verify() == []


def test_delete_package_removes_every_blob(backend: Backend) -> None:
    backend.write("v1")
    backend.write("v2")
    backend.store.delete_package("v1")
    assert backend.store.blobs.keys("v1/") == []
    assert len(backend.store.blobs.keys("v2/")) == len(FILE_NAMES) + 1
    backend.store.delete_package("v1")  # a second delete is not an error
    assert backend.verify("v2") == []


def test_verify_package_dir_checks_a_local_directory(tmp_path: Path) -> None:
    signer = ManifestSigner(Ed25519PrivateKey.generate())
    store = LocalEvidenceStore(tmp_path, signer)
    store.write_package("v1", images(), {})
    assert verify_package_dir(tmp_path / "v1", signer.public_key) == []
    manifest = json.loads((tmp_path / "v1" / MANIFEST).read_bytes())
    size = next(f["size"] for f in manifest["files"] if f["name"] == "vehicle_crop.jpg")
    (tmp_path / "v1" / "vehicle_crop.jpg").write_bytes(b"x")
    assert verify_package_dir(tmp_path / "v1", signer.public_key) == [
        f"{tmp_path / 'v1' / 'vehicle_crop.jpg'}: size 1 does not match the manifest ({size})"
    ]
    assert not list((tmp_path / "v1").glob(".*.tmp"))


def test_originals_are_never_overwritten(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.bin", b"first")
    with pytest.raises(BlobExistsError, match="never overwritten"):
        write_atomic(tmp_path / "a.bin", b"second")
    assert (tmp_path / "a.bin").read_bytes() == b"first"


def test_a_store_without_a_key_cannot_write(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="no signing key"):
        LocalEvidenceStore(tmp_path).write_package("v1", images(), {})


def test_crop_outside_frame_is_an_error() -> None:
    with pytest.raises(EvidenceError, match="outside"):
        crop(np.zeros((10, 10, 3), np.uint8), (20, 20, 30, 30))
