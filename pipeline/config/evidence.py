"""`evidence`: where evidence packages are kept and the keys that sign them.

The store (local directory or S3), the signing and verifying keys, and the key
frames and clip each package holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from pipeline.config.base import StrictModel


class LocalEvidenceStoreConfig(StrictModel):
    """Evidence packages in a local directory (atomic writes, originals never overwritten)."""

    type: Literal["local"] = "local"
    path: Path | None = Field(
        default=None, description="Directory of the evidence packages; unset: `evidence.path`."
    )


class S3EvidenceStoreConfig(StrictModel):
    """Evidence packages in any S3-API object store (AWS S3, MinIO, SeaweedFS, ...)."""

    type: Literal["s3"]
    bucket: str = Field(min_length=3, max_length=63, description="Bucket; it must exist.")
    prefix: str = Field(
        default="", description="Key prefix of every package, e.g. `evidence/` (ends with /)."
    )
    endpoint_url: str | None = Field(
        default=None, description="S3 endpoint, e.g. http://minio:9000; unset: AWS."
    )
    region: str | None = Field(default=None, description="Region; unset: boto3's default.")
    access_key_id: str | None = Field(
        default=None, description="Access key; unset: boto3's chain (env AWS_ACCESS_KEY_ID, ...)."
    )
    secret_access_key: str | None = Field(
        default=None,
        description="Secret key; unset: boto3's chain (env AWS_SECRET_ACCESS_KEY, ...).",
    )

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_folder(cls, prefix: str) -> str:
        if prefix and (not prefix.endswith("/") or prefix.startswith("/") or ".." in prefix):
            raise ValueError(f"prefix {prefix!r} must end with '/', not start with one, no '..'")
        return prefix

    @model_validator(mode="after")
    def _keys_come_in_pairs(self) -> S3EvidenceStoreConfig:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("set both access_key_id and secret_access_key, or neither")
        return self


EvidenceStoreConfig = Annotated[
    LocalEvidenceStoreConfig | S3EvidenceStoreConfig, Field(discriminator="type")
]

SIGNING_KEY_NAME = "evidence-signing-ed25519.pem"


class EvidenceConfig(StrictModel):
    path: Path = Field(
        default=Path("evidence"),
        description="Local working directory: camera thumbnails and reference snapshots, "
        "clips being cut, and the evidence packages themselves when the store is local.",
    )
    frames_before: int = Field(default=1, ge=1, description="Key frames kept before an offence.")
    store: EvidenceStoreConfig = Field(
        default_factory=LocalEvidenceStoreConfig,
        description="Where packages are kept: {type: local, path} or {type: s3, bucket, ...}.",
    )
    signing_key: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) that signs every manifest; created with mode "
        f"0600 on first use. Unset: `keys/{SIGNING_KEY_NAME}` next to `evidence.path`.",
    )
    public_key: Path | None = Field(
        default=None,
        description="Ed25519 public key (PEM) that the review UI and `evidence verify` check "
        "manifests with, so that a host that only reviews needs no private key (write it "
        "with `trafficcam evidence public-key`). Unset: the public half of `signing_key`.",
    )
    signing_key_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="Pins the signing key: its id (hex SHA-256 of the raw public key, as "
        "`trafficcam evidence public-key` prints it and every manifest names). "
        "`evidence verify` and the review UI then trust no other key, even one put "
        "at `signing_key`'s path.",
    )
    clip_before_s: float = Field(
        default=5.0,
        ge=0,
        le=120,
        description="Seconds of video before the offence in the package's clip (at most the "
        "camera's source.buffer_seconds).",
    )
    clip_after_s: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="Seconds of video after the offence in the clip; the package is committed "
        "once they have passed.",
    )

    @property
    def signing_key_path(self) -> Path:
        """The signing key file, explicit or the default next to the evidence directory."""
        return self.signing_key or self.path.parent / "keys" / SIGNING_KEY_NAME

    @property
    def verifying_key_path(self) -> Path:
        """The file manifests are checked with: `public_key`, else the signing key."""
        return self.public_key or self.signing_key_path
