"""The `trafficcam` command: argument parsing and the commands that assemble the
running system. The only package that imports review_ui."""

from pipeline.cli.main import main

__all__ = ["main"]
