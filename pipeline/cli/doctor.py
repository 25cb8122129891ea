"""`trafficcam doctor`: check the system dependencies."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipeline.cli.models import DEFAULT_MODELS

if TYPE_CHECKING:
    from pipeline.cli.common import Subparsers


def cmd_doctor(args: argparse.Namespace) -> int:
    from pipeline.ops import doctor

    text, status = doctor.report(doctor.run_checks(DEFAULT_MODELS))
    print(text)
    return status


def add_parser(sub: Subparsers) -> None:
    sub.add_parser(
        "doctor", help="check system dependencies; names the Debian package of each missing one"
    ).set_defaults(func=cmd_doctor)
