"""`trafficcam retention run`: delete evidence past retention once."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from pipeline.config import load_config

if TYPE_CHECKING:
    from pipeline.cli.common import Subparsers


def cmd_retention_run(args: argparse.Namespace) -> int:
    from pipeline.ops.retention import EvidenceRetention
    from pipeline.store.db import open_database

    config = load_config(args.config)
    _, session_factory = open_database(config.database_url)
    report = EvidenceRetention(config, session_factory).run(dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for deletion in report.deletions:
        print(
            f"{verb} {deletion.violation_id} {deletion.status} "
            f"offence {deletion.offence_time.isoformat()} ({deletion.reason}) {deletion.size} bytes"
        )
    print(report.summary())
    if report.alert:
        print(f"alert: {report.alert}", file=sys.stderr)
    return 0


def add_parser(sub: Subparsers) -> None:
    retention = sub.add_parser("retention", help="evidence retention").add_subparsers(
        dest="retention_command", required=True
    )
    run = retention.add_parser(
        "run", help="delete evidence past retention (and make room on a full disk) once"
    )
    run.add_argument("--config", default="trafficcam.yaml")
    run.add_argument(
        "--dry-run", action="store_true", help="print what would be deleted; delete nothing"
    )
    run.set_defaults(func=cmd_retention_run)
