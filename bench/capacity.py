"""Cameras one machine serves: analysed frames/s of one worker over N simulated cameras.

Usage:
    python bench/capacity.py [--cameras 8] [--scenario red_light] [--seconds 30]
        [--rounds 2] [--detectors yolov3-tiny@416 yolov4-tiny@auto yolov4-tiny@608]

Renders a generated scenario once (1280x720, 10 fps), then runs the whole pipeline as
`trafficcam run` does (one `Worker`: decoding, batched detection across cameras,
detection regions, tracking, rules) over `--cameras` file sources of that video, read
as fast as the worker takes them (`realtime: false`, nothing dropped), for about
`--seconds` per detector. Each detector is built and warmed up (INT8 model made,
OpenVINO compiled for the frame shape) before its timed run; detectors are run in
interleaved rounds and the best round is kept, so a burst from another process on a
shared machine does not land on one detector only.

Prints analysed frames/s over all cameras, the cameras that rate serves at the
scenario's analysis rate, and each detector's change against the first one listed;
also the process's CPU milliseconds per analysed frame (all threads), which another
process's load on a shared machine inflates far less than wall-clock rates: cameras a
dedicated machine serves are about its cores x 1000 / (CPU ms per frame x camera fps).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

# Run as a script, this file's folder heads sys.path and `bench/streams.py` would hide
# the `streams` package the worker imports; the project root goes there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import av  # noqa: E402

from pipeline.cli.run import build_detector  # noqa: E402
from pipeline.config import AppConfig, load_config  # noqa: E402
from pipeline.evaluation import scenario  # noqa: E402
from pipeline.runtime.worker import CollectingSink, Worker  # noqa: E402


def fleet(config: AppConfig, cameras: int, model: str, size: str) -> AppConfig:
    """`config` with its first camera repeated `cameras` times and the detector set.

    `size` is a fixed input size (e.g. 416), or `auto` for the product's default: 416,
    grown with the camera's width up to `detector.auto_input_size_max`.
    """
    camera = config.cameras[0]
    copies = [camera.model_copy(update={"id": f"{camera.id}-{i}"}) for i in range(cameras)]
    defaults = type(config.detector)()
    fixed = {"input_size": int(size), "auto_input_size_max": None} if size != "auto" else {}
    sizes = {
        "input_size": defaults.input_size,
        "auto_input_size_max": defaults.auto_input_size_max,
        **fixed,
    }
    detector = config.detector.model_copy(update={"model": model, **sizes})
    return config.model_copy(update={"cameras": copies, "detector": detector, "kafka": None})


def first_frame(video: Path) -> object:
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            return frame.to_ndarray(format="bgr24")
    raise ValueError(f"{video} has no frames")


def timed_run(config: AppConfig, detector: object, seconds: float) -> tuple[int, float, float]:
    """Frames the worker analysed, the seconds it ran (stopped after `seconds`) and the
    CPU seconds this process spent meanwhile."""
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    cpu = time.process_time()
    timer.start()
    try:
        stats = Worker(config, detector, CollectingSink(), stop=stop).run()  # type: ignore[arg-type]
    finally:
        timer.cancel()
    return stats.frames, stats.seconds, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--scenario", default="red_light")
    parser.add_argument("--seconds", type=float, default=30.0, help="per timed run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--detectors",
        nargs="+",
        default=["yolov3-tiny@416", "yolov4-tiny@auto", "yolov4-tiny@416", "yolov4-tiny@608"],
        help="MODEL@INPUT_SIZE (a fixed size, or auto: the default's size from the "
        "camera's width); the first is the baseline",
    )
    parser.add_argument("--out", type=Path, help="scenario directory (default: a temporary one)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="trafficcam-capacity-") as tmp:
        out = args.out or Path(tmp)
        files = scenario.generate(args.scenario, out, seed=0, write_boxes=False)
        base = load_config(files.config)
        base = base.model_copy(
            update={"evidence": base.evidence.model_copy(update={"path": Path(tmp) / "ev"})}
        )
        camera_fps = base.cameras[0].analysis_fps
        frame = first_frame(files.video)
        runs: dict[str, tuple[AppConfig, object]] = {}
        for spec in args.detectors:
            model, _, size = spec.partition("@")
            config = fleet(base, args.cameras, model, size or "auto")
            detector = build_detector(config)
            detector.detect([frame] * min(args.cameras, config.detector.batch_size))  # warm-up
            runs[spec] = (config, detector)
            print(f"# {spec}: {detector.runtime} {detector.precision}", flush=True)

        best: dict[str, float] = {}
        cpu_ms: dict[str, float] = {}
        for round_no in range(args.rounds):
            for spec, (config, detector) in runs.items():
                frames, seconds, cpu = timed_run(config, detector, args.seconds)
                fps = frames / seconds if seconds > 0 else 0.0
                best[spec] = max(best.get(spec, 0.0), fps)
                per_frame = 1000 * cpu / max(1, frames)
                cpu_ms[spec] = min(cpu_ms.get(spec, per_frame), per_frame)
                print(
                    f"# round {round_no + 1} {spec}: {frames} frames in {seconds:.1f} s, "
                    f"{per_frame:.1f} CPU ms/frame"
                )

    print(
        f"{'detector':20} {'cameras':>7} {'frames/s':>9} "
        f"{f'cameras@{camera_fps:g}fps':>15} {'vs first':>9} {'CPU ms/fr':>10} {'vs first':>9}"
    )
    baseline, baseline_cpu = best[args.detectors[0]], cpu_ms[args.detectors[0]]
    for spec, fps in best.items():
        change = f"{100 * (fps / baseline - 1):+.0f}%" if baseline else "n/a"
        # Cameras served scale with 1 / CPU per frame.
        cpu_change = f"{100 * (baseline_cpu / cpu_ms[spec] - 1):+.0f}%"
        print(
            f"{spec:20} {args.cameras:>7} {fps:>9.1f} {fps / camera_fps:>15.1f} {change:>9} "
            f"{cpu_ms[spec]:>10.1f} {cpu_change:>9}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
