"""`trafficcam scenario` and `trafficcam eval`: generated scenes with known answers,
and precision/recall of the configured detector on them (or on labelled clips)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.cli.common import CommandError
from pipeline.cli.run import build_detector
from pipeline.config import load_config

if TYPE_CHECKING:
    from pipeline.cli.common import Subparsers


def cmd_scenario(args: argparse.Namespace) -> int:
    from pipeline.evaluation import scenario

    try:
        files = scenario.generate(args.name, Path(args.out), seed=args.seed)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    print(f"video:  {files.video}\nconfig: {files.config}\ntruth:  {files.truth}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from pipeline.evaluation.accuracy import config_for_video, load_truth, run_clip, score

    if args.suite:
        return _eval_suite(args)
    if not args.config or not args.video:
        raise CommandError("eval needs --config and --video (or --suite LABELS_DIR)")
    config = config_for_video(load_config(args.config), Path(args.video))
    truth = load_truth(Path(args.truth)) if args.truth else None
    stats = run_clip(config, build_detector(config))
    predictions = stats.predictions
    # Without a truth file (a real clip nobody has labelled) there is nothing to
    # score: the findings are listed for a person to check by eye.
    scores = score(predictions, truth) if truth is not None else {}
    result: dict[str, Any] = {
        "rules": {rule: s.as_dict() for rule, s in scores.items()},
        "frames": stats.frames,
        "seconds": round(stats.seconds, 2),
    }
    if truth is None:
        result["predictions"] = [
            {
                "rule": p.rule,
                "t": round(p.t, 2),
                "vehicle": p.vehicle,
                "track_id": p.track_id,
                "explanation": p.explanation,
            }
            for p in sorted(predictions, key=lambda p: p.t)
        ]
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'rule':16} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>8}")
        for rule, s in scores.items():
            print(f"{rule:16} {s.tp:4} {s.fp:4} {s.fn:4} {s.precision:10.3f} {s.recall:8.3f}")
        print(f"{stats.frames} frames in {stats.seconds:.1f} s ({stats.fps:.1f} frames/s)")
        for rule, s in scores.items():
            for line in s.report_lines(rule):
                print(line)
        for p in sorted(predictions, key=lambda p: p.t):
            print(f"  predicted {p.rule} {p.vehicle} at {p.t:.2f} s: {p.explanation}")
    return 0


def _eval_suite(args: argparse.Namespace) -> int:
    """`eval --suite`: every labelled clip with its config, per clip and in total."""
    from pipeline.evaluation.suite import run_suite

    result = run_suite(Path(args.suite), Path(args.configs), build_detector)
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        for line in result.report_lines():
            print(line)
    return 0


def add_parser(sub: Subparsers) -> None:
    scenario = sub.add_parser("scenario", help="generate a test scene with known answers")
    scenario.add_argument("name", help="scenario name (= rule type), e.g. red_light")
    scenario.add_argument("--out", required=True, help="output directory")
    scenario.add_argument("--seed", type=int, default=0)
    scenario.set_defaults(func=cmd_scenario)

    evaluate = sub.add_parser("eval", help="measure precision/recall on a video with truth")
    evaluate.add_argument("--config", help="camera config (with --video)")
    evaluate.add_argument("--video", help="video to run the config's first camera on")
    evaluate.add_argument(
        "--suite",
        metavar="LABELS_DIR",
        help="score every labelled clip in LABELS_DIR (NAME.yaml with NAME.truth.yaml) "
        "with its config from --configs",
    )
    evaluate.add_argument(
        "--configs",
        default="examples/footage",
        help="with --suite: folder of configs, matched to clips by their first camera's "
        "source file name (default examples/footage)",
    )
    evaluate.add_argument(
        "--truth", help="truth file; without one the findings are only listed, not scored"
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(func=cmd_eval)
