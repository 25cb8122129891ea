"""The worker loop: every camera's source, one shared detector, per-camera analysis.

A reader thread per camera (inside `StreamSource`) decodes and samples frames;
this loop takes whatever frames are ready, detects them as one batch, and hands
each camera's results to its own `CameraPipeline`. A camera whose processing
fails is logged and skipped for that frame; the others carry on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from models.detector import Detector
from pipeline.config import AppConfig, CameraConfig
from pipeline.evidence.clips import CLIPS_DIR, clear_stale_clips, request_clip
from pipeline.ops.health import HealthMonitor
from pipeline.runtime.camera_pipeline import CameraPipeline, Finding, SignalLog
from pipeline.runtime.detection_region import CameraRegions
from pipeline.signals.feed import ControllerFeed
from streams.frame import Frame
from streams.source import StreamSource

log = logging.getLogger(__name__)


def handle_safely(
    sink: FindingSink, finding: Finding, prepare: Callable[[Finding], Finding] | None = None
) -> None:
    """Hand `finding` (after `prepare`, e.g. asking for its clip) to `sink`; a failure
    is logged for its camera and never stops the loop or the other cameras."""
    try:
        sink.handle(prepare(finding) if prepare is not None else finding)
    except Exception:
        log.exception(
            "camera %s: could not record a %s violation",
            finding.camera.id,
            finding.candidate.rule_type,
        )


class FindingSink(Protocol):
    def handle(self, finding: Finding) -> None: ...


class BackgroundSink:
    """Hands findings to a slower sink on its own thread.

    Writing evidence, reading the plate and committing take far longer than one
    frame; done in the frame loop they make the live sources drop frames. The
    queue is bounded so a stuck disk or database slows the loop down (the put
    blocks) instead of growing memory; findings are never dropped.
    """

    _DONE = None

    def __init__(self, sink: FindingSink, *, max_pending: int = 64) -> None:
        self.sink = sink
        self._queue: queue.Queue[Finding | None] = queue.Queue(maxsize=max_pending)
        self._thread = threading.Thread(target=self._run, name="finding-sink", daemon=True)
        self._thread.start()

    def handle(self, finding: Finding) -> None:
        self._queue.put(finding)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        """Finish every queued finding, then stop the thread."""
        self._queue.put(self._DONE)
        self._thread.join()

    def _run(self) -> None:
        while (finding := self._queue.get()) is not self._DONE:
            handle_safely(self.sink, finding)


class CollectingSink:
    """Keeps findings in memory (evaluation, tests)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def handle(self, finding: Finding) -> None:
        self.findings.append(finding)


@dataclass
class WorkerStats:
    frames: int = 0
    seconds: float = 0.0
    findings: int = 0
    per_camera_frames: dict[str, int] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def open_source(camera: CameraConfig) -> StreamSource:
    return StreamSource(
        camera.id,
        camera.source.url,
        analysis_fps=camera.analysis_fps,
        loop=camera.source.loop,
        realtime=camera.source.realtime,
        rtsp_transport=camera.source.rtsp_transport,
        open_timeout_s=camera.source.open_timeout_s,
        read_timeout_s=camera.source.read_timeout_s,
        buffer_seconds=camera.source.buffer_seconds,
        recorded_at=camera.source.recorded_at,
    )


class Worker:
    """Runs all configured cameras until stopped or, for file sources, until done."""

    def __init__(
        self,
        config: AppConfig,
        detector: Detector,
        sink: FindingSink,
        *,
        stop: threading.Event | None = None,
        max_batch: int | None = None,
        report_every_s: float = 30.0,
        health: HealthMonitor | None = None,
        clips: bool = False,
        signal_feed: ControllerFeed | None = None,
        signal_log: SignalLog | None = None,
    ) -> None:
        self.config = config
        # Controllers' phase changes for heads that take them; followed while running.
        self.signal_feed = signal_feed
        # Only a recorder wants clips; evaluation runs would write them for nothing.
        self.clips = clips
        self.detector = detector
        self.sink = sink
        self.stop = stop or threading.Event()
        # One detector call serves every camera: frames are batched across cameras up to
        # detector.batch_size, a partial batch waiting at most detector.max_wait_ms.
        self.max_batch = max_batch or config.detector.batch_size
        self.max_wait_s = config.detector.max_wait_ms / 1000
        self.input_sizes = {c.id: c.detector_input_size for c in config.cameras}
        # Each camera's frames are cut to its detection region (and tiles) inside the
        # same batched call; boxes come back in frame pixels.
        detector_settings = config.detector
        self.regions = CameraRegions(
            config.cameras,
            input_size_range=(
                (
                    detector_settings.input_size,
                    max(detector_settings.input_size, detector_settings.auto_input_size_max),
                )
                if detector_settings.auto_input_size_max is not None
                else None
            ),
        )
        self.report_every_s = report_every_s
        self.health = health
        self.pipelines = {
            camera.id: CameraPipeline(
                camera,
                tracker=config.tracker,
                signal_feed=signal_feed,
                plates=config.plates,
                # Every analysed frame's signal states, for accuracy runs; off by default.
                signal_log=signal_log,
            )
            for camera in config.cameras
        }
        self.sources: dict[str, StreamSource] = {}
        self.stats = WorkerStats()

    @property
    def runs_to_completion(self) -> bool:
        """True when every source is a file that does not loop."""
        return all(c.source.is_file and not c.source.loop for c in self.config.cameras)

    def run(self) -> WorkerStats:
        started = time.monotonic()
        next_report = started + self.report_every_s
        reported_frames = 0
        if self.clips:
            clear_stale_clips(self.config.evidence.path / CLIPS_DIR)
        self.sources = {camera.id: open_source(camera) for camera in self.config.cameras}
        if self.signal_feed is not None:
            self.signal_feed.start()
        for source in self.sources.values():
            source.start()
        next_health = started
        if self.health is not None:
            self.health.attach(self.sources)
        try:
            while not self.stop.is_set():
                frames = self._ready_frames()
                if frames:
                    self._analyse(frames)
                elif self.runs_to_completion and all(s.finished for s in self.sources.values()):
                    break
                else:
                    time.sleep(0.005)
                now = time.monotonic()
                if self.health is not None and now >= next_health:
                    # A few ms for all cameras every few seconds, never per frame.
                    self.health.tick()
                    next_health = now + self.health.settings.check_every_s
                if now >= next_report:
                    self._report(
                        self.stats.frames - reported_frames, now - next_report + self.report_every_s
                    )
                    reported_frames, next_report = self.stats.frames, now + self.report_every_s
        finally:
            for source in self.sources.values():
                source.stop()
            for pipeline in self.pipelines.values():
                # Plate reads waiting on crops go ahead with what they have; findings held
                # back for more frames are decided (without a clip: the stream is over).
                for finding in pipeline.close():
                    self.stats.findings += 1
                    handle_safely(self.sink, finding)
            if self.signal_feed is not None:
                self.signal_feed.stop()
            if self.health is not None:
                self.health.tick()  # operators see the cameras go offline, reason "stopped"
            self.stats.seconds = time.monotonic() - started
        return self.stats

    def _report(self, frames: int, seconds: float) -> None:
        cameras = ", ".join(
            f"{cid} {s.stats.state} dropped={s.stats.dropped} reconnects={s.stats.reconnects}"
            for cid, s in self.sources.items()
        )
        log.info(
            "analysed %.1f frames/s over the last %.0f s; %s", frames / seconds, seconds, cameras
        )

    def _ready_frames(self) -> list[Frame]:
        """At most one frame per camera (latest-frame semantics), up to `max_batch`;
        once one is ready, wait up to `max_wait_s` for the other cameras to fill the
        batch, since one call on N frames costs less than N calls on one."""
        frames: list[Frame] = []
        pending = list(self.sources.values())
        deadline: float | None = None
        while pending and len(frames) < self.max_batch:
            for source in list(pending):
                frame = source.read(timeout=0.0)
                if frame is not None:
                    frames.append(frame)
                    pending.remove(source)
                    if len(frames) >= self.max_batch:
                        break
            if not frames or not pending or len(frames) >= self.max_batch:
                break
            now = time.monotonic()
            deadline = deadline if deadline is not None else now + self.max_wait_s
            if now >= deadline or self.stop.is_set():
                break
            time.sleep(min(0.002, deadline - now))
        return frames

    def _analyse(self, frames: list[Frame]) -> None:
        sizes = [self.input_sizes.get(f.camera_id) for f in frames]
        detections = self.regions.detect(
            self.detector, [f.image for f in frames], [f.camera_id for f in frames], sizes
        )
        for frame, found in zip(frames, detections, strict=True):
            pipeline = self.pipelines[frame.camera_id]
            try:
                findings = pipeline.process(frame, found)
            except Exception:
                log.exception("camera %s: analysis failed on frame %d", frame.camera_id, frame.seq)
                continue
            self.stats.frames += 1
            self.stats.per_camera_frames[frame.camera_id] = (
                self.stats.per_camera_frames.get(frame.camera_id, 0) + 1
            )
            for finding in findings:
                self.stats.findings += 1
                handle_safely(self.sink, finding, self._with_clip if self.clips else None)

    def _with_clip(self, finding: Finding) -> Finding:
        """Ask the camera's ring for the clip now, while it still holds the seconds
        before the offence; the ring writes it later, off this loop."""
        evidence = self.config.evidence
        pending = request_clip(
            self.sources.get(finding.camera.id),
            finding.candidate.offence_t,
            before_s=evidence.clip_before_s,
            after_s=evidence.clip_after_s,
            buffer_seconds=finding.camera.source.buffer_seconds,
            staging_dir=evidence.path / CLIPS_DIR,
        )
        return replace(finding, clip=pending)
