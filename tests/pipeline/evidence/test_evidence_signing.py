"""The manifest signing key: created once with mode 0600, reused, exported; verify with it."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pipeline.config import SIGNING_KEY_NAME, parse_config
from pipeline.evidence.package import MANIFEST, LocalEvidenceStore, open_evidence_store
from pipeline.store.signing import (
    ManifestSigner,
    SigningKeyError,
    canonical_json,
    key_id,
    load_or_create_signing_key,
    load_public_key,
    public_key_pem,
    signature_problem,
)

TRAFFICCAM = [sys.executable, "-m", "pipeline.cli"]


def trafficcam(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRAFFICCAM, *args], capture_output=True, text=True, timeout=120)


def frame() -> dict[str, tuple[str, np.ndarray]]:
    image = np.random.default_rng(1).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    return {"frame_after": ("frame_after.jpg", image)}


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": ["Hà Nội", 2.5]}) == '{"a":["Hà Nội",2.5],"b":1}'.encode()


def test_key_is_created_0600_in_a_0700_directory_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.pem"
    first = load_or_create_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    pem = path.read_bytes()
    second = load_or_create_signing_key(path)
    assert path.read_bytes() == pem
    assert key_id(second.public_key()) == key_id(first.public_key())


def test_default_key_lies_next_to_the_evidence_directory_and_survives_restarts(
    tmp_path: Path,
) -> None:
    config = parse_config({"evidence": {"path": "data/evidence"}}, base=tmp_path)
    assert config.evidence.signing_key_path == tmp_path / "data" / "keys" / SIGNING_KEY_NAME
    first = open_evidence_store(config.evidence)
    first.write_package("v1", frame(), {})
    second = open_evidence_store(config.evidence)  # a second run of the worker
    assert second.signer is not None and first.signer is not None
    assert second.signer.key_id == first.signer.key_id
    second.write_package("v2", frame(), {})
    public = load_public_key(config.evidence.signing_key_path)
    assert first.verify_package("v1", public) == second.verify_package("v2", public) == []


def test_explicit_key_path_is_resolved_against_the_config(tmp_path: Path) -> None:
    config = parse_config({"evidence": {"signing_key": "secret/k.pem"}}, base=tmp_path)
    assert config.evidence.signing_key_path == tmp_path / "secret" / "k.pem"


@pytest.mark.parametrize("mode", [0o644, 0o640])
def test_a_key_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "k.pem"
    load_or_create_signing_key(path)
    path.chmod(mode)
    with pytest.raises(SigningKeyError, match="readable by others.*chmod 600"):
        load_or_create_signing_key(path)


def test_a_file_that_is_not_a_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    path.write_text("hello")
    path.chmod(0o600)
    with pytest.raises(SigningKeyError, match=f"{path}: not a PEM private key"):
        load_or_create_signing_key(path)
    with pytest.raises(SigningKeyError, match="not a PEM Ed25519 public key"):
        load_public_key(path)


def test_signature_survives_a_round_trip_and_breaks_on_any_change() -> None:
    signer = ManifestSigner(Ed25519PrivateKey.generate())
    signed = json.loads(canonical_json(signer.sign({"camera": "cam-1", "speed_kmh": 61.5})))
    assert signature_problem(signed, signer.public_key) is None
    signed["speed_kmh"] = 60.5
    assert "does not match its content" in str(signature_problem(signed, signer.public_key))


def _write_config(tmp_path: Path) -> Path:
    path = tmp_path / "trafficcam.yaml"
    path.write_text(yaml.safe_dump({"database_url": "sqlite:///t.db"}))
    return path


def test_public_key_export_and_verify_with_it(tmp_path: Path) -> None:
    config_path = _write_config(tmp_path)
    out = tmp_path / "public.pem"
    exported = trafficcam("evidence", "public-key", "--config", str(config_path), "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    key_file = tmp_path / "keys" / SIGNING_KEY_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"PUBLIC KEY" in out.read_bytes() and b"PRIVATE" not in out.read_bytes()
    printed = trafficcam("evidence", "public-key", "--config", str(config_path))
    assert printed.stdout.encode() == out.read_bytes()

    config = parse_config({"database_url": "sqlite:///t.db"}, base=tmp_path)
    store = open_evidence_store(config.evidence)
    store.write_package("v1", frame(), {"violation_id": "v1"})
    package = tmp_path / "evidence" / "v1"

    ok = trafficcam("evidence", "verify", str(package), "--public-key", str(out))
    assert ok.returncode == 0, ok.stderr
    assert "checked 1 evidence package(s): 0 problem(s)" in ok.stdout
    ok = trafficcam("evidence", "verify", str(package), "--config", str(config_path))
    assert ok.returncode == 0, ok.stderr

    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(public_key_pem(Ed25519PrivateKey.generate().public_key()))
    wrong = trafficcam("evidence", "verify", str(package), "--public-key", str(stranger))
    assert wrong.returncode == 1
    assert f"{package / MANIFEST}: manifest signature is by key" in wrong.stderr


def test_verify_without_any_key_says_what_to_pass(tmp_path: Path) -> None:
    signer = ManifestSigner(Ed25519PrivateKey.generate())
    LocalEvidenceStore(tmp_path / "evidence", signer).write_package("v1", frame(), {})
    result = trafficcam(
        "evidence",
        "verify",
        str(tmp_path / "evidence" / "v1"),
        "--config",
        str(tmp_path / "no.yaml"),
    )
    assert result.returncode == 1
    assert "--public-key FILE" in result.stderr
    bad = trafficcam(
        "evidence", "verify", str(tmp_path / "evidence" / "v1"), "--public-key", str(tmp_path)
    )
    assert bad.returncode == 1 and "cannot read the public key" in bad.stderr


def test_verify_pins_the_signing_key_id(tmp_path: Path) -> None:
    """Whoever replaces the signing key file and re-signs the packages is refused once
    the key id is pinned; only an explicit --public-key trusts another key."""
    config_path = _write_config(tmp_path)
    config = parse_config({"database_url": "sqlite:///t.db"}, base=tmp_path)
    open_evidence_store(config.evidence).write_package("v1", frame(), {"violation_id": "v1"})
    package = tmp_path / "evidence" / "v1"
    original = key_id(load_public_key(config.evidence.signing_key_path))

    unpinned = trafficcam("evidence", "verify", str(package), "--config", str(config_path))
    assert unpinned.returncode == 0, unpinned.stderr
    assert f"evidence.signing_key_id: {original}" in unpinned.stderr  # how to pin it

    pinned = {"database_url": "sqlite:///t.db", "evidence": {"signing_key_id": original}}
    config_path.write_text(yaml.safe_dump(pinned))
    ok = trafficcam("evidence", "verify", str(package), "--config", str(config_path))
    assert ok.returncode == 0, ok.stderr
    assert "pin it" not in ok.stderr

    # The key file is replaced and the package re-signed with the new key.
    key_file = config.evidence.signing_key_path
    key_file.unlink()
    forged_signer = ManifestSigner.from_file(key_file)
    manifest_path = package / MANIFEST
    manifest = json.loads(manifest_path.read_bytes())
    manifest_path.write_bytes(canonical_json(forged_signer.sign(manifest)))
    refused = trafficcam("evidence", "verify", str(package), "--config", str(config_path))
    assert refused.returncode == 1
    assert "not the pinned evidence.signing_key_id" in refused.stderr
    assert original[:16] in refused.stderr

    explicit = tmp_path / "other.pem"
    explicit.write_bytes(public_key_pem(forged_signer.public_key))
    trusted = trafficcam("evidence", "verify", str(package), "--public-key", str(explicit))
    assert trusted.returncode == 0, trusted.stderr


def test_verify_trusts_no_key_lying_in_the_evidence_directory(tmp_path: Path) -> None:
    signer = ManifestSigner(Ed25519PrivateKey.generate())
    LocalEvidenceStore(tmp_path / "evidence", signer).write_package("v1", frame(), {})
    package = tmp_path / "evidence" / "v1"
    planted = tmp_path / "evidence" / "public.pem"
    planted.write_bytes(public_key_pem(signer.public_key))
    refused = trafficcam("evidence", "verify", str(package), "--public-key", str(planted))
    assert refused.returncode == 1
    assert f"--public-key {planted} lies in the evidence directory" in refused.stderr

    inside = {"database_url": "sqlite:///t.db", "evidence": {"signing_key": "evidence/k.pem"}}
    config_path = tmp_path / "trafficcam.yaml"
    config_path.write_text(yaml.safe_dump(inside))
    load_or_create_signing_key(tmp_path / "evidence" / "k.pem")
    by_config = trafficcam("evidence", "verify", str(package), "--config", str(config_path))
    assert by_config.returncode == 1
    assert "evidence.signing_key" in by_config.stderr and "lies in the evidence" in by_config.stderr

    elsewhere = tmp_path / "public.pem"
    elsewhere.write_bytes(public_key_pem(signer.public_key))
    ok = trafficcam("evidence", "verify", str(package), "--public-key", str(elsewhere))
    assert ok.returncode == 0, ok.stderr


def test_a_configured_public_key_checks_manifests_without_the_private_key(
    tmp_path: Path,
) -> None:
    """A host that only reviews or verifies gets `evidence.public_key` and never needs
    read access to the private key that signs."""
    from review_ui.evidence import trusted_public_key

    signer = ManifestSigner(Ed25519PrivateKey.generate())
    LocalEvidenceStore(tmp_path / "evidence", signer).write_package("v1", frame(), {})
    keys = tmp_path / "trusted"
    keys.mkdir()
    (keys / "public.pem").write_bytes(public_key_pem(signer.public_key))
    settings = {
        "database_url": "sqlite:///t.db",
        "evidence": {"public_key": "trusted/public.pem", "signing_key": "absent/signing.pem"},
    }
    config_path = tmp_path / "trafficcam.yaml"
    config_path.write_text(yaml.safe_dump(settings))

    config = parse_config(settings, base=tmp_path)
    assert config.evidence.verifying_key_path == keys / "public.pem"
    trusted = trusted_public_key(config.evidence)
    assert trusted is not None and key_id(trusted) == signer.key_id
    assert not (tmp_path / "absent").exists()  # nothing tried to create a signing key

    ok = trafficcam(
        "evidence", "verify", str(tmp_path / "evidence" / "v1"), "--config", str(config_path)
    )
    assert ok.returncode == 0, ok.stderr

    pinned = {**settings, "evidence": {**settings["evidence"], "signing_key_id": "0" * 64}}
    assert trusted_public_key(parse_config(pinned, base=tmp_path).evidence) is None
