"""The `trafficcam` argument parser: each command module adds its own subcommands."""

from __future__ import annotations

import argparse

from pipeline.cli import (
    demo,
    doctor,
    evaluation,
    events,
    evidence,
    models,
    retention,
    run,
    scene,
    serve,
    tokens,
    users,
)

# In the order `trafficcam --help` lists them.
COMMAND_GROUPS = (
    models,
    evaluation,  # scenario, eval
    run,
    evidence,
    retention,
    events,
    serve,
    scene,
    demo,
    doctor,
    users,
    tokens,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficcam", description="Traffic-camera violation detection."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.add_parser(sub)
    return parser
