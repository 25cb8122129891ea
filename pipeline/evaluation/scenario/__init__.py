"""Generated test scenes: a video, its camera config, and the violations it contains.

`trafficcam scenario NAME --out DIR` calls `generate`. The scenes composite real vehicle
photographs (see `sprites`) onto a drawn junction whose signal cycles on a fixed plan,
so the real detector sees real vehicles, and the truth file lists exactly the offences
staged in the video.

Example:
    >>> files = generate("red_light", Path("/tmp/scene"))  # doctest: +SKIP
    >>> files.video, files.config, files.truth  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from pipeline.evaluation.scenario import (
    no_parking,
    no_stopping,
    overloaded_motorbike,
    red_light,
    restricted_lane,
    speeding,
    stop_line,
    turns,
    wrong_way,
)
from pipeline.evaluation.scenario.output import (
    VideoWriter,
    config_document,
    truth_document,
    write_box_line,
    write_yaml,
)
from pipeline.evaluation.scenario.script import Script
from pipeline.evaluation.scenario.sprites import load_sprites

__all__ = ["INPUT_SIZE", "SCENARIOS", "ScenarioFiles", "build_script", "generate"]

_BUILDERS: dict[str, Callable[[int], Script]] = {
    "red_light": red_light.build,
    "no_stopping": no_stopping.build,
    "no_parking": no_parking.build,
    "overloaded_motorbike": overloaded_motorbike.build,
    "speeding": speeding.build,
    "restricted_lane": restricted_lane.build,
    "stop_line": stop_line.build,
    "wrong_way": wrong_way.build,
    "red_light_right_arrow": turns.build_right_arrow,
    "red_light_left_arrow": turns.build_left_arrow,
    "red_light_u_turn": turns.build_u_turn,
}

SCENARIOS: tuple[str, ...] = tuple(_BUILDERS)
"""Names `generate` accepts."""

INPUT_SIZE = 608
"""Detector input size written to the config. Measured with bench/detection_rate.py on
the red_light scene: at 608 yolov3-tiny finds every sprite in every frame it is fully in
view; at 416 it misses the far-lane motorbikes in 11-17 % of frames and calls the pickup
`truck` more often than `car`. The frame is 1280 px wide, so 608 is about half scale."""

VIDEO_NAME = "video.mp4"
CONFIG_NAME = "trafficcam.yaml"
TRUTH_NAME = "truth.yaml"
BOXES_NAME = "boxes.jsonl"


@dataclass(frozen=True)
class ScenarioFiles:
    """Paths of a generated scenario's files.

    Attributes:
        video: H.264 MP4.
        config: Camera config (`trafficcam.yaml`), paths relative to its directory.
        truth: Expected violations (`truth.yaml`).
        boxes: Per-frame ground-truth boxes (`boxes.jsonl`), when written.
    """

    video: Path
    config: Path
    truth: Path
    boxes: Path | None = None


def build_script(name: str, *, seed: int = 0) -> Script:
    """Return the script of scenario `name` without rendering it.

    Raises:
        ValueError: If `name` is not one of `SCENARIOS`.
    """
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise ValueError(
            f"unknown scenario {name!r}; known scenarios: {', '.join(SCENARIOS)}"
        ) from None
    return builder(seed)


def generate(name: str, out_dir: Path, *, seed: int = 0, write_boxes: bool = True) -> ScenarioFiles:
    """Render scenario `name` into `out_dir`.

    Writes `video.mp4`, `trafficcam.yaml`, `truth.yaml` and, unless `write_boxes` is
    false, `boxes.jsonl`. The first call on a machine cuts the vehicle sprites into the
    cache, which fetches the Debian `darknet` package with `apt-get download`.

    Args:
        name: One of `SCENARIOS`.
        out_dir: Output directory, created if missing; existing files are replaced.
        seed: Same seed, same truth and same frames.
        write_boxes: Also write per-frame ground-truth boxes.

    Returns:
        The written files.

    Raises:
        ValueError: If `name` is unknown.
        pipeline.evaluation.scenario.sprites.SpriteError: If the sprites cannot be obtained.
    """
    script = build_script(name, seed=seed)
    sprites = load_sprites()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ScenarioFiles(
        video=out_dir / VIDEO_NAME,
        config=out_dir / CONFIG_NAME,
        truth=out_dir / TRUTH_NAME,
        boxes=out_dir / BOXES_NAME if write_boxes else None,
    )
    with ExitStack() as stack:
        video = stack.enter_context(VideoWriter(files.video, fps=script.fps))
        boxes = stack.enter_context(files.boxes.open("w")) if files.boxes else None
        for frame, truth in script.render(sprites):
            video.write(frame)
            if boxes is not None:
                write_box_line(boxes, truth)
    write_yaml(truth_document(script), files.truth)
    write_yaml(config_document(script, VIDEO_NAME, INPUT_SIZE), files.config)
    return files
