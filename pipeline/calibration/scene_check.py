"""An installer's check of one camera's scene against its video.

`trafficcam scene check` reads the camera's video as the pipeline would (stream
times from the first frame, the camera's analysis rate) and writes two pictures:

- `overview.png`: a frame from the middle of the part read, with the stop line,
  its junction side, lanes and their directions, crosswalks, zones, signal head
  regions and lamps (and the detection region, where configured) drawn and
  labelled, at the frame's own size;
- `signals.png`: per signal head, its crop sampled over time with the phase read.

It also returns each head's phase changes with their stream times. A stop line a
few pixels off its painted line, a junction side pointing back at the camera or a
head region that misses its lamps is then seen before the camera goes live.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

from pipeline.calibration.scene_overlay import (
    HeadStrip,
    StripSample,
    draw_overview,
    draw_signal_strips,
    lamp_points,
)
from pipeline.config import AppConfig, CameraConfig, SignalHead
from pipeline.geometry import Point
from pipeline.signals.image import Phase, SignalTracker
from streams.timeline import Sampler, Timeline

__all__ = [
    "DEFAULT_SECONDS",
    "MAX_COLUMNS",
    "HeadReport",
    "SceneCheck",
    "SceneCheckError",
    "check_scene",
    "report_lines",
    "select_camera",
    "video_for",
    "write_pictures",
]

DEFAULT_SECONDS = 180.0
"""Video read by default: longer than a full signal cycle at most junctions."""
MAX_COLUMNS = 60
"""Most crops per head in `signals.png` when `every` is not given."""
_BACKGROUND_FRAMES = 24
"""Most frames in the median of `background.png` (whole frames, held in memory)."""
_MIN_BACKGROUND_FRAMES = 5
"""Fewer frames than this make no background: a median of two or three keeps the traffic."""
_CROP_MARGIN = 0.3
"""Share of the region's size shown around it in a head's crop: a region that misses
its lamps shows them just outside the outline."""
# Attribute names under which a signal reader may expose what it learned; read with
# getattr so the check works with readers that learn nothing.
_LEARNED_LAYOUT_ATTRIBUTES = ("learned_lamps", "lamp_layout", "layout")


class SceneCheckError(Exception):
    """Input the check cannot work with; the message names the option or field."""


@dataclass
class HeadReport:
    """What was read of one signal head.

    Attributes:
        head: The configured head.
        changes: (stream time, phase) of each phase the tracker entered, in order;
            the time is when the phase began (its colour first seen).
        strip: The crops over time, for `signals.png`.
        learned_lamps: (colour, centre) of each lamp in the reader's layout at the end,
            where the reader exposes one (empty if not).
    """

    head: SignalHead
    changes: list[tuple[float, Phase]]
    strip: HeadStrip
    learned_lamps: list[tuple[str, Point]] = field(default_factory=list)


@dataclass
class SceneCheck:
    """The result of `check_scene`.

    Attributes:
        camera: The camera checked.
        video: The video read.
        size: Width, height of its frames.
        frame: The overview frame (BGR).
        frame_t: Its stream time.
        first_t: Stream time of the first frame analysed (0.0).
        last_t: Stream time of the last frame analysed.
        frames: Frames analysed (at the camera's analysis rate).
        heads: One report per head read from the image.
        notes: Heads not read, and why.
        warnings: Mismatches between the config and the video.
        detection: (label, box) of the part of the frame the detector looks at and of
            each of its tiles; empty when it looks at the whole frame.
        background: Per-pixel median of frames spread over the part read: moving
            traffic drops out and the painted markings show (None from too few frames).
        background_frames: How many frames that median is of.
    """

    camera: CameraConfig
    video: Path
    size: tuple[int, int]
    frame: np.ndarray
    frame_t: float
    first_t: float
    last_t: float
    frames: int
    heads: list[HeadReport]
    notes: list[str]
    warnings: list[str]
    detection: list[tuple[str, tuple[float, float, float, float]]] = field(default_factory=list)
    background: np.ndarray | None = None
    background_frames: int = 0


def select_camera(
    config: AppConfig, camera_id: str | None, *, source: str = "--config"
) -> CameraConfig:
    """The camera `camera_id`, or the config's first camera when it is None.

    Raises:
        SceneCheckError: no cameras, an unknown id (listing the known ones), or a
            camera with nothing in its scene.
    """
    if not config.cameras:
        raise SceneCheckError(f"{source} has no cameras")
    if camera_id is None:
        camera = config.cameras[0]
    else:
        try:
            camera = config.camera(camera_id)
        except KeyError:
            known = ", ".join(c.id for c in config.cameras)
            raise SceneCheckError(
                f"--camera {camera_id!r}: no such camera in {source}; its cameras: {known}"
            ) from None
    scene = camera.scene
    if not (
        scene.stop_line
        or scene.lanes
        or scene.crosswalks
        or scene.zones
        or scene.signal_heads
        or scene.calibration
    ):
        raise SceneCheckError(
            f"camera {camera.id!r} has no scene to check: its scene has no stop_line, lanes, "
            "crosswalks, zones or signal_heads"
        )
    return camera


def video_for(camera: CameraConfig, video: str | Path | None) -> Path:
    """`video`, else the camera's source when that is a file.

    Raises:
        SceneCheckError: naming --video when there is no file to read.
    """
    if video is None:
        if not camera.source.is_file:
            raise SceneCheckError(
                f"--video: camera {camera.id!r} reads a stream ({camera.source.url}); "
                "pass --video FILE with a recording of it"
            )
        path = Path(camera.source.url)
        if not path.is_file():
            raise SceneCheckError(
                f"--video: camera {camera.id!r}'s source.url {path} does not exist; "
                "pass --video FILE"
            )
        return path
    path = Path(video)
    if not path.is_file():
        raise SceneCheckError(f"--video {path}: no such file")
    return path


def check_scene(
    camera: CameraConfig,
    video: Path,
    *,
    seconds: float | None = DEFAULT_SECONDS,
    every: float | None = None,
) -> SceneCheck:
    """Read `seconds` of `video` at the camera's analysis rate and its heads on each frame.

    Args:
        camera: The camera whose scene is checked.
        video: A recording of the camera.
        seconds: Stream seconds read from the start; None reads the whole video.
        every: Seconds between two crops of a head in its strip; None spreads at most
            `MAX_COLUMNS` crops over the part read.

    Raises:
        SceneCheckError: bad `seconds`/`every`, or a video that cannot be decoded.
    """
    if seconds is not None and seconds <= 0:
        raise SceneCheckError(f"--seconds must be positive, got {seconds:g}")
    if every is not None and every <= 0:
        raise SceneCheckError(f"--every must be positive, got {every:g}")
    readers = [_HeadReader(head) for head in camera.scene.signal_heads if _reads_image(head)]
    notes = [
        f"{head.id}: not read (source {head.source}, no region)"
        for head in camera.scene.signal_heads
        if not _reads_image(head)
    ]
    read = _read_video(video, camera.analysis_fps, seconds, every, readers)
    if read.overview is None or read.first_t is None:
        raise SceneCheckError(f"--video {video}: no frames decoded")
    size, kept = read.size, read.kept
    heads = [reader.report() for reader in readers]
    detection, problem = _detection_boxes(camera, size)
    warnings = _warnings(camera, size) + ([problem] if problem else [])
    return SceneCheck(
        camera=camera,
        video=video,
        size=size,
        frame=read.overview[1],
        frame_t=read.overview[0],
        first_t=read.first_t,
        last_t=read.last_t,
        frames=read.frames,
        heads=heads,
        notes=notes,
        warnings=warnings,
        detection=detection,
        background=_median(kept) if len(kept) >= _MIN_BACKGROUND_FRAMES else None,
        background_frames=len(kept),
    )


@dataclass
class _VideoRead:
    """What one pass over the video gathered besides the heads' readings."""

    frames: int = 0
    first_t: float | None = None
    last_t: float = 0.0
    overview: tuple[float, np.ndarray] | None = None
    size: tuple[int, int] = (0, 0)
    kept: list[np.ndarray] = field(default_factory=list)


def _read_video(
    video: Path,
    analysis_fps: float,
    seconds: float | None,
    every: float | None,
    readers: list[_HeadReader],
) -> _VideoRead:
    """Decode `seconds` of `video` at `analysis_fps`, feeding each frame to `readers`."""
    columns = _Columns(every)
    # The background's frames are spread over the whole part read like the strips'
    # columns, fewer of them: each is a whole frame held in memory.
    stills = _Columns(None, most=_BACKGROUND_FRAMES)
    read = _VideoRead()
    sampler = Sampler(analysis_fps)
    middle: float | None = None
    for t, frame, duration in _decode(video):
        if seconds is not None and t >= seconds - 1e-6:
            break
        if middle is None:
            # The overview is the frame at the middle of the part read, where the
            # container says how long the video is; else the last frame.
            spans = [x for x in (seconds, duration) if x is not None]
            middle = min(spans) / 2 if spans else float("inf")
        if not sampler.take(t):
            continue
        image = frame.to_ndarray(format="bgr24")
        read.size = (image.shape[1], image.shape[0])
        read.frames += 1
        read.first_t = t if read.first_t is None else read.first_t
        read.last_t = t
        if read.overview is None or read.overview[0] < middle:
            read.overview = (t, image)
        column = columns.take(t)
        for reader in readers:
            reader.read(image, t, column)
        if stills.take(t):
            read.kept.append(image)
        if stills.thin():
            read.kept = read.kept[::2]
        if columns.thin():
            for reader in readers:
                reader.thin()
    return read


def write_pictures(check: SceneCheck, out_dir: Path) -> list[Path]:
    """Write `overview.png` and `signals.png` (when any head was read) into `out_dir`.

    Raises:
        SceneCheckError: naming --out when the directory cannot be written.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SceneCheckError(f"--out {out_dir}: cannot create it: {exc.strerror or exc}") from None
    w, h = check.size
    header = f"{check.camera.id} | {check.video.name} {w}x{h} | frame at {check.frame_t:.2f} s"
    overview = draw_overview(
        check.frame,
        check.camera,
        learned_lamps={r.head.id: r.learned_lamps for r in check.heads if r.learned_lamps},
        detection=check.detection,
        header=header,
        warnings=check.warnings,
    )
    pictures = {"overview.png": overview}
    if check.background is not None:
        pictures["background.png"] = draw_overview(
            check.background,
            check.camera,
            detection=check.detection,
            header=f"{check.camera.id} | median of {check.background_frames} frames over "
            f"{check.first_t:.0f}-{check.last_t:.0f} s: moving traffic removed",
            warnings=check.warnings,
        )
    if check.heads:
        pictures["signals.png"] = draw_signal_strips([r.strip for r in check.heads])
    paths = []
    for name, image in pictures.items():
        path = out_dir / name
        if not cv2.imwrite(str(path), image):
            raise SceneCheckError(f"--out {out_dir}: cannot write {name}")
        paths.append(path)
    return paths


def report_lines(check: SceneCheck) -> list[str]:
    """What the check read, for a person: the video, warnings, each head's phase changes."""
    w, h = check.size
    lines = [
        f"camera {check.camera.id}: {check.video} {w}x{h}, read {check.first_t:.2f}-"
        f"{check.last_t:.2f} s ({check.frames} frames at {check.camera.analysis_fps:g} frames/s)"
    ]
    lines.extend(f"warning: {warning}" for warning in check.warnings)
    for report in check.heads:
        if not report.changes:
            lines.append(f"{report.head.id}: unknown throughout (no lamp read)")
            continue
        lines.append(
            f"{report.head.id}: "
            + ", ".join(f"{phase.value} at {t:.2f} s" for t, phase in report.changes)
        )
    lines.extend(check.notes)
    return lines


# ---------------------------------------------------------------- reading


def _reads_image(head: SignalHead) -> bool:
    return head.region is not None and head.source != "controller"


def _decode(video: Path) -> Iterator[tuple[float, av.VideoFrame, float | None]]:
    """Each frame with its stream time (the pipeline's clock: the first frame is 0.0)
    and the video's duration in seconds where the container says it."""
    timeline = Timeline()
    try:
        with av.open(str(video)) as container:
            if not container.streams.video:
                raise SceneCheckError(f"--video {video}: the file has no video stream")
            stream = container.streams.video[0]
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            for frame in container.decode(stream):
                yield timeline.map(frame.time, time.monotonic()), frame, duration
    except av.FFmpegError as exc:
        raise SceneCheckError(f"--video {video}: cannot decode it: {exc}") from None


class _Columns:
    """Which analysed frames get a column in the strips (or a place in the background).

    With a fixed `every`, one column per `every` seconds. Without one, every frame
    at first, then every other one each time the columns pass `MAX_COLUMNS`: the
    strip spans the whole part read with between half and all of `MAX_COLUMNS`
    columns, without knowing its length in advance.
    """

    def __init__(self, every: float | None, *, most: int = MAX_COLUMNS) -> None:
        self.every = every
        self.most = most
        self._due: float | None = None
        self._stride = 1
        self._index = 0
        self._kept = 0

    def take(self, t: float) -> bool:
        if self.every is not None:
            if self._due is not None and t + 1e-4 < self._due:
                return False
            self._due = t + self.every if self._due is None else self._due + self.every
            if self._due <= t:
                self._due = t + self.every
            return True
        keep = self._index % self._stride == 0
        self._index += 1
        self._kept += keep
        return keep

    def thin(self) -> bool:
        """True (once) when the kept columns must be halved: drop every other one."""
        if self.every is not None or self._kept <= self.most:
            return False
        self._stride *= 2
        self._kept = (self._kept + 1) // 2
        return True


class _HeadReader:
    """One head's tracker, its phase changes and its crops."""

    def __init__(self, head: SignalHead) -> None:
        assert head.region is not None
        self.head = head
        self.tracker = SignalTracker(
            head.region,
            lamps={Phase(colour): at for colour, at in head.lamps.items()},
            arrow=head.kind == "arrow",
        )
        self.changes: list[tuple[float, Phase]] = []
        self.samples: list[StripSample] = []
        self._last = Phase.UNKNOWN
        self._crop_box: tuple[int, int, int, int] | None = None

    def read(self, image: np.ndarray, t: float, column: bool) -> None:
        state = self.tracker.update(image, t)
        if state.phase is not self._last:
            self.changes.append((state.since if state.since is not None else t, state.phase))
            self._last = state.phase
        if column:
            # The frame's own reading, where the tracker keeps it (a Phase, or a reading
            # object with a phase): it shows a head that flickers under a steady phase.
            reading = getattr(self.tracker, "last_reading", None)
            reading = getattr(reading, "phase", reading)
            x1, y1, x2, y2 = self._crop(image)
            self.samples.append(
                StripSample(
                    t,
                    image[y1:y2, x1:x2].copy(),
                    state.phase,
                    reading if isinstance(reading, Phase) else None,
                )
            )

    def thin(self) -> None:
        self.samples = self.samples[::2]

    def report(self) -> HeadReport:
        learned: list[tuple[str, Point]] = []
        for name in _LEARNED_LAYOUT_ATTRIBUTES:
            learned = lamp_points(getattr(self.tracker, name, None))
            if learned:
                break
        x1, y1, _, _ = self._crop_box or (0, 0, 0, 0)
        assert self.head.region is not None
        rx1, ry1, rx2, ry2 = self.head.region
        lamps = [(str(c), p) for c, p in self.head.lamps.items()] + learned
        return HeadReport(
            head=self.head,
            changes=self.changes,
            strip=HeadStrip(
                head=self.head,
                samples=self.samples,
                region_in_crop=(
                    round(rx1 - x1),
                    round(ry1 - y1),
                    round(rx2 - x1),
                    round(ry2 - y1),
                ),
                lamps_in_crop=[(c, (p[0] - x1, p[1] - y1)) for c, p in lamps],
                changes=self.changes,
            ),
            learned_lamps=learned,
        )

    def _crop(self, image: np.ndarray) -> tuple[int, int, int, int]:
        """The region grown by `_CROP_MARGIN` on each side, clipped to the frame; the
        same box on every frame, so the columns line up."""
        if self._crop_box is None:
            assert self.head.region is not None
            h, w = image.shape[:2]
            x1, y1, x2, y2 = self.head.region
            px = max(4.0, _CROP_MARGIN * (x2 - x1))
            py = max(4.0, _CROP_MARGIN * (y2 - y1))
            box = (
                max(0, int(x1 - px)),
                max(0, int(y1 - py)),
                min(w, int(np.ceil(x2 + px))),
                min(h, int(np.ceil(y2 + py))),
            )
            if box[2] <= box[0] or box[3] <= box[1]:
                # Outside the frame: a 1x1 grey crop keeps the strip drawable; the
                # warning says why.
                box = (0, 0, 1, 1)
            self._crop_box = box
        return self._crop_box


# ---------------------------------------------------------------- warnings


def _warnings(camera: CameraConfig, size: tuple[int, int]) -> list[str]:
    """Config against video: the configured image size, and scene points off the frame."""
    w, h = size
    scene = camera.scene
    warnings = []
    if scene.image_size is not None and tuple(scene.image_size) != size:
        cw, ch = scene.image_size
        warnings.append(
            f"scene.image_size is {cw}x{ch} but the video's frames are {w}x{h}: the scene "
            "was drawn on another image size and does not fit this video"
        )
    shapes: list[tuple[str, list[Point]]] = []
    if scene.stop_line is not None:
        shapes.append(("stop_line", list(scene.stop_line.points)))
    shapes += [(f"lane {lane.id}", list(lane.polygon)) for lane in scene.lanes]
    shapes += [(f"crosswalk {c.id}", list(c.polygon)) for c in scene.crosswalks]
    shapes += [(f"zone {z.id}", list(z.polygon)) for z in scene.zones]
    for head in scene.signal_heads:
        if head.region is not None:
            x1, y1, x2, y2 = head.region
            shapes.append((f"signal head {head.id}", [(x1, y1), (x2, y2)]))
    for name, points in shapes:
        outside = [p for p in points if not (0 <= p[0] <= w and 0 <= p[1] <= h)]
        if outside:
            x, y = outside[0]
            warnings.append(f"{name}: point ({x:g}, {y:g}) lies outside the {w}x{h} frame")
    return warnings


def _detection_boxes(
    camera: CameraConfig, size: tuple[int, int]
) -> tuple[list[tuple[str, tuple[float, float, float, float]]], str | None]:
    """The detector's region and tiles on frames of `size`, as the pipeline cuts them,
    with a warning when the configured region does not fit the frame.

    Empty when the camera has no detection region setting (configs from before it
    existed) or the detector sees the whole frame.
    """
    settings = getattr(camera, "detection_region", None)
    if settings is None:
        return [], None
    try:
        plan_for = importlib.import_module("pipeline.runtime.detection_region").plan_for
    except (ImportError, AttributeError):
        return [], None
    try:
        plan = plan_for(camera, *size)
    except ValueError as exc:
        return [], f"detection_region: {exc}"
    if plan.whole_frame:
        return [], None
    area = getattr(settings, "area", None)
    label = f"detection region ({area})" if isinstance(area, str) else "detection region"
    boxes = [(label, _float_box(plan.region))]
    if len(plan.tiles) > 1:
        boxes += [(f"tile {i + 1}", _float_box(tile)) for i, tile in enumerate(plan.tiles)]
    return boxes, None


def _float_box(box: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    return (float(x1), float(y1), float(x2), float(y2))


def _median(frames: list[np.ndarray]) -> np.ndarray:
    """Per-pixel median, one band of rows at a time (the whole stack at once would
    need several times the frames' memory)."""
    stack = np.stack(frames)
    out = np.empty_like(stack[0])
    for top in range(0, out.shape[0], 64):
        out[top : top + 64] = np.median(stack[:, top : top + 64], axis=0).astype(np.uint8)
    return out
