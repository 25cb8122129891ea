"""`trafficcam models pull|list|verify`: the model registry."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from pipeline.cli.common import CommandError

if TYPE_CHECKING:
    from pipeline.cli.common import Subparsers

# What `trafficcam models pull` (and `make setup`) fetches: both offline COCO detectors,
# so a config can switch between them on a machine that is offline afterwards.
DEFAULT_MODELS = ("yolov3-tiny", "yolov4-tiny", "plate-yolov8n")


def cmd_models_pull(args: argparse.Namespace) -> int:
    from models import weights

    for name in args.names or DEFAULT_MODELS:
        try:
            path = weights.pull(name)
        except weights.ModelError as exc:
            raise CommandError(str(exc)) from None
        print(f"{name}: {path}")
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    from models import weights

    for status in weights.list_models():
        state = "pulled" if status.pulled else "not pulled"
        print(f"{status.name:16} {state:11} {status.description}")
    return 0


def cmd_models_verify(args: argparse.Namespace) -> int:
    from models import weights

    failed = False
    for name in args.names or [s.name for s in weights.list_models() if s.pulled]:
        try:
            weights.verify(name)
            print(f"{name}: ok")
        except weights.ModelError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def add_parser(sub: Subparsers) -> None:
    models = sub.add_parser("models", help="model registry").add_subparsers(
        dest="models_command", required=True
    )
    pull = models.add_parser("pull", help="fetch and verify models")
    pull.add_argument("names", nargs="*", help=f"model names (default: {' '.join(DEFAULT_MODELS)})")
    pull.set_defaults(func=cmd_models_pull)
    models.add_parser("list", help="list known models").set_defaults(func=cmd_models_list)
    verify = models.add_parser("verify", help="check pulled models' hashes")
    verify.add_argument("names", nargs="*")
    verify.set_defaults(func=cmd_models_verify)
