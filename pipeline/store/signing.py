"""Ed25519 signatures over evidence manifests, and the signing key's life cycle.

The signature lives inside `manifest.json`, in a `signature` block:

    {"algorithm": "Ed25519", "key_id": "<SHA-256 of the raw public key>",
     "signed_content": "canonical JSON of the manifest without this block",
     "value": "<base64 signature>"}

Canonical JSON is sorted keys, no spaces, UTF-8 (`canonical_json`). The manifest
file itself is written in canonical form too, so a changed byte anywhere in it
either breaks the signature or the canonical form: whitespace cannot be slipped
in unnoticed, and anyone can re-create the signed bytes with a few lines of code.

The private key is created on first use with mode 0600 (its directory 0700) and
never overwritten; `trafficcam evidence public-key` exports the public half.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"
SIGNATURE_FIELD = "signature"
SIGNED_CONTENT = "canonical JSON of the manifest without this block"


class SigningKeyError(Exception):
    """A signing or public key that cannot be created, read or trusted; the message names it."""


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: one byte string per JSON value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    """Hex SHA-256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The private key at `path`, created there (mode 0600) when there is none.

    An existing key is never replaced: every manifest it signed would stop
    verifying. A key readable by group or others is refused, as ssh does.

    Raises:
        SigningKeyError: naming the file, when it is unreadable, not an Ed25519
            key, or too open.
    """
    path = Path(path)
    if not path.exists():
        _create_key(path)
    return load_signing_key(path)


def _create_key(path: Path) -> None:
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        # O_EXCL: two workers starting together must not each write a key and
        # sign with one that is then replaced by the other.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot create the signing key: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read an existing Ed25519 private key (PEM, unencrypted)."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the signing key: {exc.strerror}") from None
    if stat.S_IMODE(mode) & 0o077:
        raise SigningKeyError(
            f"{path}: the signing key is readable by others (mode {stat.S_IMODE(mode):o}); "
            "run chmod 600 on it"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path}: not a PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (a public key, or a private key's public half)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the public key: {exc.strerror}") from None
    key: object
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            raise SigningKeyError(f"{path}: not a PEM Ed25519 public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    return key


class ManifestSigner:
    """Signs manifests with one private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    @classmethod
    def from_file(cls, path: Path) -> ManifestSigner:
        """The signer of the key at `path`, creating the key on first use."""
        return cls(load_or_create_signing_key(path))

    def sign(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """A copy of `manifest` with its signature block (any old block is replaced)."""
        body = {k: v for k, v in manifest.items() if k != SIGNATURE_FIELD}
        value = self._key.sign(canonical_json(body))
        return {
            **body,
            SIGNATURE_FIELD: {
                "algorithm": ALGORITHM,
                "key_id": self.key_id,
                "signed_content": SIGNED_CONTENT,
                "value": base64.b64encode(value).decode("ascii"),
            },
        }


def signature_problem(manifest: dict[str, Any], trusted: Ed25519PublicKey) -> str | None:
    """Why the manifest's signature does not hold under `trusted`, or None when it does."""
    block = manifest.get(SIGNATURE_FIELD)
    if not isinstance(block, dict):
        return "manifest signature missing"
    if block.get("algorithm") != ALGORITHM:
        return f"manifest signature uses {block.get('algorithm')!r}, not {ALGORITHM}"
    expected = key_id(trusted)
    if block.get("key_id") != expected:
        return (
            f"manifest signature is by key {str(block.get('key_id'))[:16]}..., "
            f"not the trusted key {expected[:16]}..."
        )
    try:
        value = base64.b64decode(str(block.get("value", "")), validate=True)
    except (binascii.Error, ValueError):
        return "manifest signature is not valid base64"
    body = {k: v for k, v in manifest.items() if k != SIGNATURE_FIELD}
    try:
        trusted.verify(value, canonical_json(body))
    except InvalidSignature:
        return "manifest signature does not match its content (altered after signing)"
    return None
