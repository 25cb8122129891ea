"""Evidence package write and verify times on a local directory and on SeaweedFS S3.

Each package is what the recorder writes for one violation: four 1280x720 JPEG
key frames and crops, a 2 MB clip, and the signed manifest. Prints the median
and p95 milliseconds per package for writing (encode, hash, store, sign) and for
verifying (read back, hash, check the signature).

    .venv/bin/python bench/evidence_store.py [--packages 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.evidence.package import EvidenceStore  # noqa: E402
from pipeline.store.blobs import BlobStore, LocalBlobStore, S3BlobStore  # noqa: E402
from pipeline.store.signing import ManifestSigner  # noqa: E402
from tests.fixtures.s3 import start_s3_server, stop_s3_server  # noqa: E402


def _images(rng: np.random.Generator) -> dict[str, tuple[str, np.ndarray]]:
    # Noise with structure compresses like a street scene does, not like flat grey.
    base = rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)
    frame = np.kron(base, np.ones((8, 8, 1), np.uint8))
    return {
        "frame_before": ("frame_before.jpg", frame),
        "frame_after": ("frame_after.jpg", frame[:, ::-1].copy()),
        "overview": ("overview.jpg", frame[::-1].copy()),
        "vehicle_crop": ("vehicle_crop.jpg", frame[200:500, 300:700].copy()),
    }


def _run(name: str, blobs: BlobStore, packages: int) -> None:
    signer = ManifestSigner(Ed25519PrivateKey.generate())
    store = EvidenceStore(blobs, signer)
    rng = np.random.default_rng(0)
    clip = os.urandom(2 * 2**20)
    writes, verifies = [], []
    for _ in range(packages):
        violation_id = str(uuid.uuid4())
        images = _images(rng)
        started = time.perf_counter()
        store.write_package(
            violation_id, images, {"violation_id": violation_id}, files={"clip": ("clip.mp4", clip)}
        )
        writes.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        assert store.verify_package(violation_id, signer.public_key) == []
        verifies.append((time.perf_counter() - started) * 1000)

    def p95(values: list[float]) -> float:
        return sorted(values)[max(0, round(0.95 * len(values)) - 1)]

    print(
        f"{name:6} write median {statistics.median(writes):6.1f} ms  p95 {p95(writes):6.1f} ms   "
        f"verify median {statistics.median(verifies):6.1f} ms  p95 {p95(verifies):6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=30)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {args.packages} packages each")
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as tmp:
        _run("local", LocalBlobStore(Path(tmp) / "local"), args.packages)
        server = start_s3_server(Path(tmp) / "s3")
        try:
            bucket = "bench-evidence"
            server.client().create_bucket(Bucket=bucket)
            _run("s3", S3BlobStore(server.store_config(bucket)), args.packages)
        finally:
            stop_s3_server(server)


if __name__ == "__main__":
    main()
