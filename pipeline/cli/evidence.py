"""`trafficcam evidence verify|public-key`: check evidence packages against a trusted
public key, and export that key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.cli.common import CommandError
from pipeline.config import AppConfig, load_config

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from pipeline.cli.common import Subparsers
    from pipeline.evidence.package import EvidenceStore
    from pipeline.store.blobs import LocalBlobStore, S3BlobStore
    from pipeline.store.models import Violation


def _evidence_dirs(args: argparse.Namespace, config: AppConfig | None) -> list[Path]:
    """Directories the evidence is written into: whoever can write there (a worker, an
    intruder on it) must not also choose the key the evidence is checked with."""
    dirs = []
    if args.target and Path(args.target).is_dir():
        dirs.append(Path(args.target).absolute().parent)  # the package's store
    if config is not None:
        dirs.append(config.evidence.path)
        store_path = getattr(config.evidence.store, "path", None)
        if store_path is not None:
            dirs.append(Path(store_path))
    return dirs


def _refuse_inside(path: Path, dirs: list[Path], what: str) -> None:
    real = path.resolve()
    for directory in dirs:
        if real.is_relative_to(directory.resolve()):
            raise CommandError(
                f"{what} {path} lies in the evidence directory {directory}, which the "
                "evidence writer can change: keep the key that checks evidence elsewhere"
            )


def _trusted_public_key(args: argparse.Namespace) -> Ed25519PublicKey:
    """`--public-key FILE` when given (trusted explicitly), else the public half of the
    config's signing key, which must be the key `evidence.signing_key_id` pins when set.

    A key file lying in the evidence directory is never trusted.
    """
    from pipeline.store.signing import SigningKeyError, key_id, load_public_key

    config = load_config(args.config) if Path(args.config).is_file() else None
    dirs = _evidence_dirs(args, config)
    try:
        if args.public_key:
            _refuse_inside(Path(args.public_key), dirs, "--public-key")
            return load_public_key(Path(args.public_key))
        if config is None:
            raise CommandError(
                f"no public key to check signatures with: pass --public-key FILE, "
                f"or --config naming a config ({args.config} does not exist)"
            )
        key_path = config.evidence.verifying_key_path
        _refuse_inside(
            key_path,
            dirs,
            "evidence.public_key" if config.evidence.public_key else "evidence.signing_key",
        )
        key = load_public_key(key_path)
    except SigningKeyError as exc:
        raise CommandError(str(exc)) from None
    found, pinned = key_id(key), config.evidence.signing_key_id
    if pinned is None:
        print(
            f"trusting the key at {key_path} (id {found}); pin it in the config with "
            f"evidence.signing_key_id: {found}",
            file=sys.stderr,
        )
    elif found != pinned:
        raise CommandError(
            f"{key_path} holds key {found[:16]}..., not the pinned evidence.signing_key_id "
            f"{pinned[:16]}...: the signing key was replaced. Pass --public-key FILE to "
            "trust another key explicitly"
        )
    return key


def _check_stored(
    violation: Violation,
    blobs: LocalBlobStore | S3BlobStore,
    store: EvidenceStore,
    public_key: Ed25519PublicKey,
    problems: list[str],
) -> None:
    """Add the problems of one stored violation's evidence to `problems`."""
    from pipeline.store.blobs import BlobError
    from pipeline.store.hashing import sha256_bytes

    # The database's own hashes are checked too: a manifest rewritten
    # together with its files would still pass a manifest-only check.
    for item in violation.evidence:
        key = blobs.key_of(item.uri)
        if key is None:
            problems.append(f"{item.uri}: not in the evidence store {blobs!r}")
            continue
        try:
            data = blobs.get(key)
        except BlobError as exc:
            problems.append(str(exc))
            continue
        if sha256_bytes(data) != item.sha256:
            problems.append(f"{blobs.uri(key)}: SHA-256 does not match the database")
    problems.extend(
        p for p in store.verify_package(violation.evidence_dir, public_key) if p not in problems
    )


def _verify_stored(args: argparse.Namespace, public_key: Ed25519PublicKey) -> tuple[list[str], int]:
    """Problems of the stored violations `args` names (or all), and how many were checked."""
    from pipeline.evidence.package import EvidenceStore
    from pipeline.store.blobs import open_blob_store
    from pipeline.store.db import open_database, redact_url
    from pipeline.store.repository import all_violation_ids, get_violation

    config = load_config(args.config)
    blobs = open_blob_store(config.evidence)
    store = EvidenceStore(blobs)
    _, session_factory = open_database(config.database_url)
    problems: list[str] = []
    with session_factory() as session:
        ids = all_violation_ids(session) if args.all else [args.target]
        for violation_id in ids:
            violation = get_violation(session, violation_id)
            if violation is None:
                raise CommandError(
                    f"no violation {violation_id!r} in {redact_url(config.database_url)}"
                )
            if violation.evidence_deleted_at is not None:
                # Removed on purpose; the rows still say what the files were.
                deleted_on = violation.evidence_deleted_at.date().isoformat()
                print(f"{violation_id}: evidence deleted under retention on {deleted_on}")
                continue
            _check_stored(violation, blobs, store, public_key, problems)
    return problems, len(ids)


def cmd_evidence_verify(args: argparse.Namespace) -> int:
    from pipeline.evidence.package import verify_package_dir

    public_key = _trusted_public_key(args)
    if args.target and Path(args.target).is_dir():
        problems = verify_package_dir(Path(args.target), public_key)
        checked = 1
    else:
        if not args.all and not args.target:
            raise CommandError("say what to verify: --all, a violation id, or a package directory")
        problems, checked = _verify_stored(args, public_key)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"checked {checked} evidence package(s): {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_evidence_public_key(args: argparse.Namespace) -> int:
    from pipeline.store.signing import (
        SigningKeyError,
        key_id,
        load_or_create_signing_key,
        public_key_pem,
    )

    path = load_config(args.config).evidence.signing_key_path
    try:
        public_key = load_or_create_signing_key(path).public_key()
    except SigningKeyError as exc:
        raise CommandError(str(exc)) from None
    pem = public_key_pem(public_key)
    if args.out:
        Path(args.out).write_bytes(pem)
        print(f"public key {key_id(public_key)} written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(pem.decode("ascii"))
    return 0


def add_parser(sub: Subparsers) -> None:
    evidence = sub.add_parser("evidence", help="evidence packages").add_subparsers(
        dest="evidence_command", required=True
    )
    verify = evidence.add_parser("verify", help="check evidence hashes and signatures")
    verify.add_argument("target", nargs="?", help="violation id or package directory")
    verify.add_argument("--all", action="store_true", help="every stored violation")
    verify.add_argument("--config", default="trafficcam.yaml")
    verify.add_argument(
        "--public-key", help="PEM public key to trust (default: the config's signing key)"
    )
    verify.set_defaults(func=cmd_evidence_verify)
    public = evidence.add_parser(
        "public-key", help="export the PEM public key that checks manifest signatures"
    )
    public.add_argument("--config", default="trafficcam.yaml")
    public.add_argument("--out", help="write it to this file (default: stdout)")
    public.set_defaults(func=cmd_evidence_public_key)
