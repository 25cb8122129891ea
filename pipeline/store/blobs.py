"""Blob stores for evidence: a local directory or any S3-API object store.

Both keep the same promise: a blob is written whole or not at all, and an
existing blob is never replaced. Keys look like `<violation id>/<file name>`;
a blob's URI says where it lies: an absolute file path, or `s3://bucket/key`.

Example:
    >>> blobs = LocalBlobStore(Path("/var/lib/trafficcam/evidence"))  # doctest: +SKIP
    >>> blobs.put("v1/frame_after.jpg", data)  # doctest: +SKIP
    '/var/lib/trafficcam/evidence/v1/frame_after.jpg'
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from pipeline.config import EvidenceConfig, S3EvidenceStoreConfig

_KEY_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
STREAM_CHUNK = 256 * 1024
"""Bytes per piece when a blob is streamed (the UI serving a clip, hashing a file)."""


class BlobError(Exception):
    """A blob store operation that failed; the message names the blob."""


class BlobExistsError(BlobError, FileExistsError):
    """The blob exists already: evidence originals are never overwritten."""


class BlobNotFoundError(BlobError):
    """No blob under that key."""


def check_key(key: str) -> str:
    """`key` when it is `part/part...` of safe names (no `..`, no absolute path)."""
    parts = key.split("/")
    if not key or not all(_KEY_PART.match(part) for part in parts):
        raise BlobError(f"invalid blob key {key!r}")
    return key


class BlobStore(Protocol):
    """What the evidence code needs of a store."""

    def uri(self, key: str) -> str:
        """Where the blob of `key` lies (file path or s3://bucket/key)."""
        ...

    def key_of(self, uri: str) -> str | None:
        """The key of a URI of this store; None for a URI that lies elsewhere."""
        ...

    def put(self, key: str, data: bytes) -> str:
        """Store a new blob and return its URI; BlobExistsError if the key is taken."""
        ...

    def get(self, key: str) -> bytes:
        """The blob's bytes; BlobNotFoundError if there is none."""
        ...

    def stream(self, key: str, chunk_size: int = STREAM_CHUNK) -> Iterator[bytes]:
        """The blob's bytes piece by piece, never whole in memory.

        The blob is opened before this returns, so a missing one raises
        BlobNotFoundError here rather than half-way through a response.
        """
        ...

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str) -> list[str]:
        """Every key starting with `prefix`, sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove a blob (retention); a missing one is not an error."""
        ...

    def delete_dir(self, prefix: str) -> None:
        """Remove every blob under `prefix` (a package), leftovers of a crashed write included."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The blob's file when the store is a local directory, else None."""
        ...


def write_atomic(path: Path, data: bytes) -> None:
    """Write a new file so that it is either absent or complete, never partial.

    Temp file in the same directory, fsync, then a hard link to the final name:
    unlike rename, link fails instead of replacing a file that appeared meanwhile.
    """
    if path.exists():
        raise BlobExistsError(f"{path} exists; evidence originals are never overwritten")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise BlobExistsError(
                f"{path} exists; evidence originals are never overwritten"
            ) from None
    finally:
        os.unlink(tmp)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a directory's new entries durable (a file's fsync does not cover its name)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    """Blobs as files under a root directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def key_of(self, uri: str) -> str | None:
        # Rows written before URIs were absolute hold the key relative to the root.
        path = Path(uri)
        if path.is_absolute():
            try:
                uri = path.relative_to(self.root).as_posix()
            except ValueError:
                return None
        try:
            return check_key(uri)
        except BlobError:
            return None

    def put(self, key: str, data: bytes) -> str:
        path = self._path(key)
        new_dirs = [p for p in reversed(path.parents) if not p.exists()]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
        for directory in new_dirs:  # a crash must not lose the package directory's name
            fsync_dir(directory.parent)
        return str(path)

    def get(self, key: str) -> bytes:
        path = self.local_path(key)
        if path is None:
            raise BlobNotFoundError(f"{self.uri(key)}: missing")
        return path.read_bytes()

    def stream(self, key: str, chunk_size: int = STREAM_CHUNK) -> Iterator[bytes]:
        path = self.local_path(key)
        if path is None:
            raise BlobNotFoundError(f"{self.uri(key)}: missing")
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise BlobNotFoundError(f"{self.uri(key)}: {exc.strerror}") from None
        return _chunks(handle, chunk_size)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str) -> list[str]:
        found = []
        # Walk only the directory the prefix names, not every package of the store.
        top = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not top.resolve().is_relative_to(self.root.resolve()):
            return []
        for path in top.rglob("*"):
            relative = path.relative_to(self.root).as_posix()
            if path.is_file() and relative.startswith(prefix) and not path.name.startswith("."):
                found.append(relative)
        return sorted(found)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_dir(self, prefix: str) -> None:
        """Remove the directory of a package, temp files of a crashed write included."""
        shutil.rmtree(self._path(prefix.rstrip("/")), ignore_errors=True)

    def local_path(self, key: str) -> Path | None:
        """The file, or None when it is missing or a link leads out of the root (a row
        written by a buggy or compromised worker must not expose the host)."""
        path = self._path(key)
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        return path if real.is_relative_to(self.root.resolve()) and real.is_file() else None


class S3BlobStore:
    """Blobs as objects of one bucket, under an optional key prefix.

    Never overwriting relies on the conditional put `If-None-Match: *` (AWS S3
    since 2024, SeaweedFS, MinIO): the server refuses the second writer with
    412, so there is no check-then-write race.
    """

    def __init__(self, config: S3EvidenceStoreConfig, client: Any | None = None) -> None:
        self.bucket = config.bucket
        self.prefix = config.prefix
        if client is None:
            import boto3  # only deployments with an S3 store pay for the import

            client = boto3.client(
                "s3",
                endpoint_url=config.endpoint_url,
                region_name=config.region,
                aws_access_key_id=config.access_key_id,
                aws_secret_access_key=config.secret_access_key,
            )
        self.client = client

    def __repr__(self) -> str:
        return f"S3BlobStore('s3://{self.bucket}/{self.prefix}')"

    def _object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object_key(key)}"

    def key_of(self, uri: str) -> str | None:
        head = f"s3://{self.bucket}/{self.prefix}"
        if not uri.startswith(head):
            return None
        try:
            return check_key(uri[len(head) :])
        except BlobError:
            return None

    def put(self, key: str, data: bytes) -> str:
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._object_key(key), Body=data, IfNoneMatch="*"
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise BlobExistsError(
                    f"{self.uri(key)} exists; evidence originals are never overwritten"
                ) from None
            raise BlobError(f"{self.uri(key)}: upload failed ({code or exc})") from exc
        return self.uri(key)

    def _get_object(self, key: str) -> Any:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise BlobNotFoundError(f"{self.uri(key)}: missing") from None
            raise BlobError(f"{self.uri(key)}: download failed ({code or exc})") from exc

    def get(self, key: str) -> bytes:
        data: bytes = self._get_object(key)["Body"].read()
        return data

    def stream(self, key: str, chunk_size: int = STREAM_CHUNK) -> Iterator[bytes]:
        # The response body is read as it arrives from the server, a piece at a time.
        return _chunks(self._get_object(key)["Body"], chunk_size)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise BlobError(f"{self.uri(key)}: cannot check ({exc})") from exc
        return True

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            found.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
        return sorted(found)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def delete_dir(self, prefix: str) -> None:
        """Remove every object under `prefix`."""
        for key in self.keys(prefix):
            self.delete(key)

    def local_path(self, key: str) -> Path | None:
        return None


def _chunks(body: Any, chunk_size: int) -> Iterator[bytes]:
    """Read `body` (a file or an S3 response body) in pieces, closing it at the end."""
    try:
        while piece := body.read(chunk_size):
            yield piece
    finally:
        body.close()


def open_blob_store(config: EvidenceConfig) -> LocalBlobStore | S3BlobStore:
    """The store `evidence.store` selects (local: its path, else `evidence.path`)."""
    store = config.store
    if isinstance(store, S3EvidenceStoreConfig):
        return S3BlobStore(store)
    return LocalBlobStore(store.path or config.path)
