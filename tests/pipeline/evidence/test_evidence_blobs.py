"""The blob suite, on a local directory and on a real S3 server: write-once, URIs that say
where a blob is, safe keys, listing and deletion."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from pipeline.config import EvidenceConfig, LocalEvidenceStoreConfig
from pipeline.store.blobs import (
    BlobError,
    BlobExistsError,
    BlobNotFoundError,
    BlobStore,
    LocalBlobStore,
    S3BlobStore,
    open_blob_store,
)
from tests.fixtures.s3 import S3Server


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    server: S3Server = request.getfixturevalue("s3_server")
    bucket: str = request.getfixturevalue("s3_bucket")
    return S3BlobStore(server.store_config(bucket, prefix="evidence/"))


def test_put_get_and_uri_round_trip(blobs: BlobStore) -> None:
    uri = blobs.put("v1/frame_after.jpg", b"picture")
    assert uri == blobs.uri("v1/frame_after.jpg")
    assert blobs.key_of(uri) == "v1/frame_after.jpg"
    assert blobs.get("v1/frame_after.jpg") == b"picture"
    assert blobs.exists("v1/frame_after.jpg") and not blobs.exists("v1/other.jpg")


def test_a_blob_is_never_overwritten(blobs: BlobStore) -> None:
    blobs.put("v1/frame_after.jpg", b"original")
    with pytest.raises(BlobExistsError, match="never overwritten"):
        blobs.put("v1/frame_after.jpg", b"replacement")
    assert blobs.get("v1/frame_after.jpg") == b"original"


def test_missing_blob_is_named(blobs: BlobStore) -> None:
    with pytest.raises(BlobNotFoundError, match="v9/none.jpg: missing"):
        blobs.get("v9/none.jpg")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "v1/../v2/x", "", "v1//x", "v1/.x"])
def test_unsafe_keys_are_refused(blobs: BlobStore, key: str) -> None:
    with pytest.raises(BlobError, match="invalid blob key"):
        blobs.put(key, b"x")


def test_uris_of_elsewhere_are_not_this_stores(blobs: BlobStore) -> None:
    assert blobs.key_of("s3://another-bucket/evidence/v1/a.jpg") is None
    assert blobs.key_of("/somewhere/else/v1/a.jpg") is None
    assert blobs.key_of(blobs.uri("v1/a.jpg")) == "v1/a.jpg"


def test_keys_and_delete_dir(blobs: BlobStore) -> None:
    for key in ("v1/a.jpg", "v1/b.jpg", "v2/a.jpg"):
        blobs.put(key, key.encode())
    assert blobs.keys("v1/") == ["v1/a.jpg", "v1/b.jpg"]
    blobs.delete_dir("v1/")
    assert blobs.keys("v1/") == [] and blobs.keys("v2/") == ["v2/a.jpg"]
    blobs.delete("v2/a.jpg")
    blobs.delete("v2/a.jpg")  # deleting twice is not an error
    assert not blobs.exists("v2/a.jpg")


def test_local_uris_are_absolute_paths_and_old_relative_rows_still_resolve(
    tmp_path: Path,
) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    uri = blobs.put("v1/a.jpg", b"x")
    assert Path(uri) == tmp_path / "blobs" / "v1" / "a.jpg"
    assert blobs.key_of("v1/a.jpg") == "v1/a.jpg"  # rows written before URIs were paths
    assert not list((tmp_path / "blobs" / "v1").glob(".*.tmp"))


def test_a_link_out_of_the_local_root_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("host file")
    blobs = LocalBlobStore(tmp_path / "blobs")
    blobs.put("v1/a.jpg", b"x")
    os.symlink(tmp_path / "secret.txt", tmp_path / "blobs" / "v1" / "b.jpg")
    assert blobs.local_path("v1/b.jpg") is None
    with pytest.raises(BlobNotFoundError):
        blobs.get("v1/b.jpg")


def test_config_selects_the_store(tmp_path: Path, s3_server: S3Server) -> None:
    local = open_blob_store(EvidenceConfig(path=tmp_path / "ev"))
    assert isinstance(local, LocalBlobStore) and local.root == tmp_path / "ev"
    elsewhere = EvidenceConfig(
        path=tmp_path / "ev", store=LocalEvidenceStoreConfig(path=tmp_path / "packages")
    )
    chosen = open_blob_store(elsewhere)
    assert isinstance(chosen, LocalBlobStore) and chosen.root == tmp_path / "packages"
    s3 = open_blob_store(EvidenceConfig(store=s3_server.store_config("some-bucket")))
    assert isinstance(s3, S3BlobStore) and s3.uri("v1/a.jpg") == "s3://some-bucket/v1/a.jpg"


def test_a_blob_is_streamed_in_pieces_not_read_whole(blobs: BlobStore) -> None:
    """Serving a clip from S3 must not hold it whole in memory: the stream's peak
    allocation stays near one piece however large the blob."""
    size = 8 * 1024 * 1024
    data = os.urandom(size)
    blobs.put("v1/clip.mp4", data)
    del data
    tracemalloc.start()
    try:
        pieces = blobs.stream("v1/clip.mp4", chunk_size=64 * 1024)
        total, largest = 0, 0
        for piece in pieces:
            total += len(piece)
            largest = max(largest, len(piece))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size
    assert largest <= 64 * 1024
    assert peak < size / 4, f"peak {peak} bytes while streaming {size}"
    with pytest.raises(BlobNotFoundError):
        blobs.stream("v1/none.mp4")
