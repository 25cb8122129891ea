"""`trafficcam scene check` on a generated junction: the pictures, the stop line drawn
where the config puts it, the phases read against the scene's signal plan, and clear
errors for bad input."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
import yaml

from pipeline.calibration.scene_check import MAX_COLUMNS, check_scene
from pipeline.calibration.scene_overlay import STOP_LINE_COLOUR, UNNAMED_LAMP, lamp_points
from pipeline.cli.main import main
from pipeline.config import CameraConfig, load_config
from pipeline.evaluation.scenario import ScenarioFiles, build_script, generate
from pipeline.evaluation.scenario.groundtruth import read_boxes
from pipeline.signals.image import Phase, SignalTracker

WIDTH, HEIGHT = 1280, 720
FRAME_S = 0.1  # the scenario's frame interval (10 frames/s)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> ScenarioFiles:
    return generate("red_light", tmp_path_factory.mktemp("red_light"))


@pytest.fixture(scope="module")
def checked(scenario: ScenarioFiles, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One full `scene check` run: its output folder and what it printed."""
    out = tmp_path_factory.mktemp("check") / "out"
    capture = _CaptureMain()
    status = capture.run(["scene", "check", "--config", str(scenario.config), "--out", str(out)])
    assert status == 0, capture.err
    return out, capture.out


class _CaptureMain:
    """Runs `main` with stdout and stderr captured (capsys is function-scoped)."""

    out = ""
    err = ""

    def run(self, argv: list[str]) -> int:
        import contextlib
        import io

        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            status = main(argv)
        self.out, self.err = stdout.getvalue(), stderr.getvalue()
        return status


def _frame_at(video: Path, t: float) -> np.ndarray:
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= t - 1e-6:
                return np.asarray(frame.to_ndarray(format="bgr24"))
    raise AssertionError(f"no frame at {t} s")


def _expected_changes(until_s: float) -> list[tuple[float, str]]:
    plan = build_script("red_light").plan
    starts = [
        (start, phase)
        for phase in ("green", "amber", "red")
        for start, _ in plan.intervals(phase, until_s)  # type: ignore[arg-type]
    ]
    return sorted(starts)


def _printed_changes(printed: str, head: str) -> list[tuple[float, str]]:
    line = next(x for x in printed.splitlines() if x.startswith(f"{head}: "))
    return [(float(t), phase) for phase, t in re.findall(r"(\w+) at ([\d.]+) s", line)]


def _write_config(scenario: ScenarioFiles, path: Path, edit: Any) -> Path:
    data = yaml.safe_load(scenario.config.read_text())
    data["cameras"][0]["source"]["url"] = str(scenario.video)
    edit(data)
    path.write_text(yaml.safe_dump(data))
    return path


def test_writes_overview_at_the_videos_size_and_a_strip_per_head(checked: tuple[Path, str]) -> None:
    out, printed = checked
    overview = cv2.imread(str(out / "overview.png"))
    assert overview is not None and overview.shape == (HEIGHT, WIDTH, 3)
    background = cv2.imread(str(out / "background.png"))
    assert background is not None and background.shape == (HEIGHT, WIDTH, 3)
    signals = cv2.imread(str(out / "signals.png"))
    # One head: a title, the crops (48 px wide, the region's aspect) in rows, a legend.
    assert signals is not None and signals.shape[0] > 150 and signals.shape[1] >= 48
    assert f"{WIDTH}x{HEIGHT}" in printed
    for name in ("overview.png", "background.png", "signals.png"):
        assert f"wrote {out / name}" in printed


def test_stop_line_is_drawn_where_the_config_puts_it(
    scenario: ScenarioFiles, checked: tuple[Path, str]
) -> None:
    out, _ = checked
    overview = cv2.imread(str(out / "overview.png")).astype(int)
    # The overview is the frame at the middle of the 45 s read.
    source = _frame_at(scenario.video, 22.5).astype(int)
    (ax, ay), (bx, by) = load_config(scenario.config).cameras[0].scene.stop_line.points  # type: ignore[union-attr]
    assert ax == bx  # the scenario's stop line is vertical
    x = int(ax)
    on_line = [y for y in range(int(ay) + 20, int(by) - 20, 10) if abs(y - (ay + by) / 2) > 12]
    magenta = np.array(STOP_LINE_COLOUR)
    drawn = [np.abs(overview[y, x] - magenta).max() <= 40 for y in on_line]
    changed = [np.abs(overview[y, x] - source[y, x]).max() > 60 for y in on_line]
    assert all(drawn) and all(changed)
    # 35 px before the line nothing else is drawn (away from the lane arrow at
    # y 462): the line is where the config says, not a few pixels off.
    beside = [y for y in range(int(ay) + 20, 530) if abs(y - 462) > 10]
    assert all((overview[y, x - 35] == source[y, x - 35]).all() for y in beside)


def test_prints_the_signal_plans_phase_changes(checked: tuple[Path, str]) -> None:
    _, printed = checked
    read = _printed_changes(printed, "main")
    expected = _expected_changes(45.0)
    assert [phase for _, phase in read] == [phase for _, phase in expected]
    for (t_read, _), (t_true, _) in zip(read, expected, strict=True):
        assert abs(t_read - t_true) <= 2 * FRAME_S + 1e-6


def test_seconds_and_every_bound_the_work(scenario: ScenarioFiles) -> None:
    camera = load_config(scenario.config).cameras[0]
    check = check_scene(camera, scenario.video, seconds=20.0, every=2.0)
    assert check.last_t < 20.0 and check.frames == 200
    (head,) = check.heads
    assert [round(s.t, 1) for s in head.strip.samples] == [float(t) for t in range(0, 20, 2)]
    assert [phase.value for _, phase in head.changes] == ["green", "amber", "red"]
    # The strip's crops hold the region with a margin, the same box every time.
    assert len({s.crop.shape for s in head.strip.samples}) == 1
    # The overview frame is the one in the middle of the part read.
    assert check.frame_t == pytest.approx(10.0, abs=FRAME_S)
    # Where the reader keeps each frame's own reading, the strip shows it too.
    if hasattr(SignalTracker((0, 0, 1, 1)), "last_reading"):
        plan = build_script("red_light").plan
        assert [s.reading for s in head.strip.samples] == [
            Phase(plan.phase_at(s.t)) for s in head.strip.samples
        ]


def test_lamp_points_takes_the_layouts_a_reader_may_expose() -> None:
    @dataclasses.dataclass
    class Lamp:
        phase: Phase | None
        centre: tuple[float, float]

    as_mapping = {Phase.RED: (10, 20), "green": (10.0, 40.0)}
    as_pairs = [(Phase.RED, (10, 20)), (None, (10, 30))]
    as_objects = [Lamp(Phase.AMBER, (1.5, 2.5))]
    assert lamp_points(as_mapping) == [("red", (10.0, 20.0)), ("green", (10.0, 40.0))]
    assert lamp_points(as_pairs) == [("red", (10.0, 20.0)), (UNNAMED_LAMP, (10.0, 30.0))]
    assert lamp_points(as_objects) == [("amber", (1.5, 2.5))]
    assert lamp_points(None) == [] and lamp_points(3) == []


def test_strip_spreads_at_most_max_columns_over_the_video(scenario: ScenarioFiles) -> None:
    camera = load_config(scenario.config).cameras[0]
    check = check_scene(camera, scenario.video, seconds=None)
    assert check.frames == 450
    (head,) = check.heads
    times = [s.t for s in head.strip.samples]
    # 450 frames, halved until no more than MAX_COLUMNS remain: evenly spaced over
    # the whole video.
    assert MAX_COLUMNS // 2 <= len(times) <= MAX_COLUMNS
    steps = {round(b - a, 3) for a, b in zip(times, times[1:], strict=False)}
    assert len(steps) == 1 and times[0] == 0.0 and times[-1] >= 45.0 - steps.pop() - FRAME_S
    # The background is the median of frames over the whole video: the vehicles in
    # the overview frame are gone from it.
    assert check.background is not None and check.background.shape == (HEIGHT, WIDTH, 3)
    assert 12 <= check.background_frames <= 24
    assert scenario.boxes is not None
    (frame,) = [f for f in read_boxes(scenario.boxes) if abs(f.t - check.frame_t) < 1e-3]
    assert frame.vehicles
    for vehicle in frame.vehicles:
        x1, y1, x2, y2 = (int(v) for v in vehicle.box)
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(WIDTH, x2), min(HEIGHT, y2)
        seen = check.frame[y1:y2, x1:x2].astype(int)
        empty = check.background[y1:y2, x1:x2].astype(int)
        differs = np.abs(seen - empty).max(axis=2) > 40
        assert differs.mean() > 0.3, vehicle.id


def test_warns_when_the_scene_was_drawn_for_another_image_size(
    scenario: ScenarioFiles, tmp_path: Path
) -> None:
    def shrink(data: dict[str, Any]) -> None:
        data["cameras"][0]["scene"]["image_size"] = [1920, 1080]

    config = _write_config(scenario, tmp_path / "c.yaml", shrink)
    run = _CaptureMain()
    argv = ["scene", "check", "--config", str(config), "--out", str(tmp_path / "o")]
    assert run.run([*argv, "--seconds", "1"]) == 0, run.err
    assert "warning: scene.image_size is 1920x1080 but the video's frames are 1280x720" in run.out


def test_notes_points_off_the_frame_and_heads_it_cannot_read(
    scenario: ScenarioFiles, tmp_path: Path
) -> None:
    def edit(data: dict[str, Any]) -> None:
        scene = data["cameras"][0]["scene"]
        del scene["image_size"]
        scene["lanes"][0]["polygon"] = [[0, 300], [1400, 300], [1400, 542], [0, 542]]
        scene["signal_heads"].append({"id": "ctl", "source": "controller"})

    config = _write_config(scenario, tmp_path / "c.yaml", edit)
    run = _CaptureMain()
    argv = ["scene", "check", "--config", str(config), "--out", str(tmp_path / "o")]
    assert run.run([*argv, "--seconds", "1"]) == 0, run.err
    assert "warning: lane far: point (1400, 300) lies outside the 1280x720 frame" in run.out
    assert "ctl: not read (source controller, no region)" in run.out
    assert "main: green at 0.00 s" in run.out


@pytest.mark.skipif(
    "detection_region" not in CameraConfig.model_fields, reason="no detection_region setting"
)
def test_draws_the_detection_region(scenario: ScenarioFiles, tmp_path: Path) -> None:
    def region(data: dict[str, Any]) -> None:
        data["cameras"][0]["detection_region"] = [100, 250, 1100, 700]

    config = _write_config(scenario, tmp_path / "c.yaml", region)
    run = _CaptureMain()
    argv = ["scene", "check", "--config", str(config), "--out", str(tmp_path / "o")]
    assert run.run([*argv, "--seconds", "1"]) == 0, run.err
    overview = cv2.imread(str(tmp_path / "o" / "overview.png")).astype(int)
    source = _frame_at(scenario.video, 0.5).astype(int)
    # The region's bottom edge, dashed: about half its pixels drawn, the rest the frame's.
    edge = list(range(300, 780))
    drawn = [np.abs(overview[699, x] - source[699, x]).max() > 40 for x in edge]
    assert 0.3 < sum(drawn) / len(drawn) < 0.8
    below = [np.abs(overview[710, x] - source[710, x]).max() > 40 for x in edge]
    assert not any(below)


@pytest.mark.parametrize(
    ("extra", "edit", "message"),
    [
        (["--camera", "nope"], None, "--camera 'nope': no such camera in {config}; its cameras: "),
        (["--video", "{tmp}/missing.mp4"], None, "--video {tmp}/missing.mp4: no such file"),
        (["--video", "{tmp}/c.yaml"], None, "--video {tmp}/c.yaml: cannot decode it"),
        (["--seconds", "-1"], None, "--seconds must be positive"),
        (["--every", "0"], None, "--every must be positive"),
        ([], "no_scene", "camera 'scenario-red-light' has no scene to check"),
        ([], "stream", "--video: camera 'scenario-red-light' reads a stream (rtsp://"),
    ],
)
def test_bad_input_is_a_clear_error(
    scenario: ScenarioFiles,
    tmp_path: Path,
    extra: list[str],
    edit: str | None,
    message: str,
) -> None:
    def change(data: dict[str, Any]) -> None:
        camera = data["cameras"][0]
        if edit == "no_scene":
            camera["scene"] = {"image_size": [WIDTH, HEIGHT]}
            camera["rules"] = []
        elif edit == "stream":
            camera["source"]["url"] = "rtsp://10.0.0.9/stream1"

    config = _write_config(scenario, tmp_path / "c.yaml", change)
    run = _CaptureMain()
    argv = ["scene", "check", "--config", str(config), "--out", str(tmp_path / "o")]
    argv += [arg.format(tmp=tmp_path) for arg in extra]
    assert run.run(argv) == 1
    assert run.err.startswith("error: ")
    assert message.format(tmp=tmp_path, config=config) in run.err
    if extra[:1] == ["--camera"]:
        assert "scenario-red-light" in run.err
    assert not (tmp_path / "o").exists()
