"""Generated scenarios: files, video format, truth, config, and the real detector."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import av
import pytest
import yaml

from models import weights
from models.darknet import DarknetDetector
from pipeline.config import parse_config
from pipeline.evaluation.scenario import SCENARIOS, ScenarioFiles, build_script, generate
from pipeline.evaluation.scenario.groundtruth import DetectionTally, TruthFrame, read_boxes
from pipeline.signals.image import classify_lamp

WIDTH, HEIGHT, FPS, DURATION_S = 1280, 720, 10, 45.0


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> ScenarioFiles:
    # Sprites are cut into the real cache on first use (one `apt-get download`).
    return generate("red_light", tmp_path_factory.mktemp("red_light"))


@pytest.fixture(scope="module")
def frames(scenario: ScenarioFiles) -> list[TruthFrame]:
    assert scenario.boxes is not None
    return list(read_boxes(scenario.boxes))


def _crossings(frames: list[TruthFrame], stop_x: float) -> list[tuple[str, str, float]]:
    """(vehicle id, class, time) of each anchor passing `stop_x`, from the boxes alone."""
    anchors: dict[str, list[tuple[float, float]]] = defaultdict(list)
    classes: dict[str, str] = {}
    for frame in frames:
        for v in frame.vehicles:
            anchors[v.id].append((frame.t, (v.box[0] + v.box[2]) / 2))
            classes[v.id] = v.cls
    out = []
    for vid, track in anchors.items():
        for (t0, x0), (t1, x1) in zip(track, track[1:], strict=False):
            if x0 < stop_x <= x1:
                out.append((vid, classes[vid], t0 + (t1 - t0) * (stop_x - x0) / (x1 - x0)))
    return sorted(out, key=lambda c: c[2])


def test_writes_the_files(scenario: ScenarioFiles) -> None:
    for path in (scenario.video, scenario.config, scenario.truth, scenario.boxes):
        assert path is not None and path.is_file() and path.stat().st_size > 0
    assert scenario.video.name == "video.mp4"


def test_video_is_h264_with_one_keyframe_per_second(scenario: ScenarioFiles) -> None:
    with av.open(str(scenario.video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (WIDTH, HEIGHT)
        assert stream.time_base is not None and stream.time_base <= Fraction(1, FPS)
        times, keyframes = [], []
        for index, frame in enumerate(container.decode(stream)):
            assert frame.format.name == "yuv420p"
            times.append(frame.time)
            if frame.key_frame:
                keyframes.append(index)
    assert len(times) == round(DURATION_S * FPS)
    assert times[0] == 0.0
    assert times[-1] == pytest.approx(DURATION_S - 1 / FPS, abs=1e-3)
    steps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert steps == pytest.approx([1 / FPS] * len(steps), abs=1e-3)
    assert keyframes == list(range(0, len(times), FPS))


def test_truth_is_exactly_the_red_crossings(
    scenario: ScenarioFiles, frames: list[TruthFrame]
) -> None:
    script = build_script("red_light")
    truth = yaml.safe_load(scenario.truth.read_text())["violations"]
    assert len(truth) >= 3
    assert {v["vehicle"] for v in truth} >= {"car", "motorbike", "bus"}
    crossings = _crossings(frames, script.layout.stop_x)
    phases = [script.plan.phase_at(t) for _, _, t in crossings]
    red = [c for c, p in zip(crossings, phases, strict=True) if p == "red"]
    assert "amber" in phases and "green" in phases  # not every crossing is an offence
    assert len(red) == len(truth)
    for (_, cls, t), entry in zip(red, truth, strict=True):
        assert entry["rule"] == "red_light"
        assert entry["vehicle"] == cls
        # Frames are 0.1 s apart, so the crossing from boxes is within a frame of exact.
        assert entry["t_start"] < t < entry["t_end"]
        assert entry["t_end"] - entry["t_start"] <= 1.5
    for (_, _, t), phase in zip(crossings, phases, strict=True):
        if phase != "red":
            assert not any(v["t_start"] <= t <= v["t_end"] for v in truth)


def test_one_vehicle_waits_at_the_line_on_red(frames: list[TruthFrame]) -> None:
    stop_x = build_script("red_light").layout.stop_x
    still: dict[str, list[TruthFrame]] = defaultdict(list)
    last: dict[str, tuple[float, ...]] = {}
    for frame in frames:
        for v in frame.vehicles:
            if last.get(v.id) == v.box and v.box[2] <= stop_x:
                still[v.id].append(frame)
            last[v.id] = v.box
    waiting = {vid: fs for vid, fs in still.items() if len(fs) >= 2 * FPS}
    assert waiting, "no vehicle stands at the stop line"
    for fs in waiting.values():
        assert fs[0].signal == "red"
        # It pulls away a reaction time (under a second) after the light turns green.
        late = [f for f in fs if f.signal != "red"]
        assert {f.signal for f in late} <= {"green"} and len(late) < FPS


def test_config_has_the_documented_keys(scenario: ScenarioFiles) -> None:
    data = yaml.safe_load(scenario.config.read_text())
    assert set(data) == {"database_url", "evidence", "detector", "cameras"}
    assert data["detector"]["model"] == "yolov3-tiny"
    [camera] = data["cameras"]
    assert camera["source"] == {"url": "video.mp4", "loop": False, "realtime": False}
    assert camera["rules"] == [{"type": "red_light", "amber_grace_s": 0.0}]
    assert set(camera["scene"]) == {"image_size", "stop_line", "signal_heads", "lanes"}
    config = parse_config(data, source=str(scenario.config), base=scenario.config.parent)
    assert Path(config.cameras[0].source.url) == scenario.video.resolve()


def test_signal_region_reads_the_planned_phase(
    scenario: ScenarioFiles, frames: list[TruthFrame]
) -> None:
    camera = yaml.safe_load(scenario.config.read_text())["cameras"][0]
    region = tuple(camera["scene"]["signal_heads"][0]["region"])
    with av.open(str(scenario.video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % 5 == 0:
                image = frame.to_ndarray(format="bgr24")
                assert classify_lamp(image, region).value == frames[index].signal, index


def test_same_seed_same_truth(scenario: ScenarioFiles, tmp_path: Path) -> None:
    again = generate("red_light", tmp_path / "again", write_boxes=False)
    assert again.truth.read_text() == scenario.truth.read_text()
    assert again.boxes is None
    other = build_script("red_light", seed=1).violations()
    assert [c.t for c in other] != [c.t for c in build_script("red_light").violations()]


def test_unknown_scenario_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="red_light") as excinfo:
        generate("no_such_scene", tmp_path)
    assert all(name in str(excinfo.value) for name in SCENARIOS)
    assert not any(tmp_path.iterdir())


def test_detector_sees_every_vehicle(scenario: ScenarioFiles, frames: list[TruthFrame]) -> None:
    camera_config = yaml.safe_load(scenario.config.read_text())
    detector = DarknetDetector(
        weights.pull("yolov3-tiny"), input_size=camera_config["detector"]["input_size"]
    )
    tally = DetectionTally()
    with av.open(str(scenario.video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % 4 or not any(v.in_view for v in frames[index].vehicles):
                continue
            [dets] = detector.detect([frame.to_ndarray(format="bgr24")])
            tally.add(frames[index], dets.xyxy, dets.class_names)
    assert set(tally.cls.values()) == {"car", "motorbike", "bus"}
    rates = {vid: tally.rate(vid) for vid in tally.seen}
    assert min(rates.values()) >= 0.8, rates
