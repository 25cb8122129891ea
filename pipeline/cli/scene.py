"""`trafficcam scene check`: draw a camera's scene on its video and read its signals."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.cli.common import CommandError
from pipeline.config import load_config

if TYPE_CHECKING:
    from pipeline.cli.common import Subparsers


def cmd_scene_check(args: argparse.Namespace) -> int:
    from pipeline.calibration import scene_check

    config = load_config(args.config)
    try:
        camera = scene_check.select_camera(config, args.camera, source=args.config)
        video = scene_check.video_for(camera, args.video)
        check = scene_check.check_scene(
            camera, video, seconds=args.seconds or None, every=args.every
        )
        out = Path(args.out) if args.out else Path(f"scene-check-{camera.id}")
        written = scene_check.write_pictures(check, out)
    except scene_check.SceneCheckError as exc:
        raise CommandError(str(exc)) from None
    for line in scene_check.report_lines(check):
        print(line)
    for path in written:
        print(f"wrote {path}")
    return 0


def add_parser(sub: Subparsers) -> None:
    scene = sub.add_parser("scene", help="a camera's scene config").add_subparsers(
        dest="scene_command", required=True
    )
    check = scene.add_parser(
        "check",
        help="draw the scene on the camera's video and read its signal heads over time",
    )
    check.add_argument("--config", required=True)
    check.add_argument(
        "--video", help="a recording of the camera (default: its source, when a file)"
    )
    check.add_argument("--camera", help="camera id (default: the config's first)")
    check.add_argument(
        "--out", help="folder for overview.png and signals.png (default: ./scene-check-CAMERA)"
    )
    check.add_argument(
        "--seconds",
        type=float,
        default=180.0,
        help="stream seconds read from the start (default 180; 0: the whole video)",
    )
    check.add_argument(
        "--every",
        type=float,
        help="seconds between a head's crops in signals.png (default: at most 60 crops)",
    )
    check.set_defaults(func=cmd_scene_check)
