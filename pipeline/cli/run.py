"""`trafficcam run`: the assembly of the running system (detector, plate reader,
recorder, worker, outbox relay, retention). `demo` runs the same assembly."""

from __future__ import annotations

import argparse
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.cli.common import CommandError, log, stop_on_signals
from pipeline.config import AppConfig, load_config

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from models.detector import Detector
    from models.plates import PlateReader
    from pipeline.cli.common import Subparsers
    from pipeline.events.relay import OutboxRelay
    from pipeline.evidence.recorder import ViolationRecorder


def build_detector(config: AppConfig) -> Detector:
    """The configured detector, from the model registry (never downloads)."""
    from models import weights

    settings = config.detector
    try:
        if settings.backend == "ultralytics":
            from models.ultralytics_backend import UltralyticsDetector

            export = {"auto": "auto", "pytorch": "pytorch", "openvino": "openvino"}.get(
                settings.runtime, "onnx"
            )
            return UltralyticsDetector.from_registry(
                settings.model,
                export=export,  # type: ignore[arg-type]
                input_size=settings.input_size,
                confidence=settings.confidence,
                class_confidence=settings.class_confidence,
                class_map=settings.class_map,
            )
        from models.darknet import DarknetDetector

        return DarknetDetector.from_registry(
            settings.model,
            input_size=settings.input_size,
            confidence=settings.confidence,
            class_confidence=settings.class_confidence,
            runtime=settings.runtime,  # type: ignore[arg-type]  # checked against the backend
            precision=settings.precision,
        )
    except (weights.ModelError, FileNotFoundError, RuntimeError) as exc:
        raise CommandError(f"detector {settings.model!r}: {exc}") from None


def build_plate_reader(config: AppConfig) -> PlateReader | None:
    """The plate reader, or None when plates are off (never downloads)."""
    from models import weights

    if not config.plates.enabled:
        return None
    from models.plates import PlateReader

    try:
        return PlateReader.from_registry(config.plates.model)
    except (weights.ModelError, FileNotFoundError) as exc:
        raise CommandError(f"plates: {exc} (or set plates.enabled: false)") from None


@dataclass
class _RelayThread:
    """The outbox relay, running beside the worker until `finish`."""

    relay: OutboxRelay
    stop: threading.Event
    thread: threading.Thread

    def finish(self) -> int:
        """Stop the relay and hand Kafka what is left; 1 when events stay behind."""
        self.stop.set()
        self.thread.join()
        status = 0
        if not self.relay.drain(timeout_s=30.0):
            log.error("Kafka did not take every event; they stay in the outbox for the next run")
            status = 1
        self.relay.close()
        return status


def _start_relay(
    config: AppConfig, session_factory: sessionmaker[Session], recorder: ViolationRecorder
) -> _RelayThread | None:
    from pipeline.events.relay import OutboxRelay

    if config.kafka is None:
        return None
    relay = OutboxRelay(session_factory, config.kafka.bootstrap_servers)
    recorder.after_commit = relay.wake  # events leave at commit, not at the next poll
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), name="outbox-relay", daemon=True)
    thread.start()
    return _RelayThread(relay, stop, thread)


def run_pipeline(config: AppConfig, stop: threading.Event) -> int:
    """Run every camera; returns the exit status. Used by `run` and `demo`."""
    import numpy as np

    from pipeline.evidence.recorder import ViolationRecorder
    from pipeline.ops.health import HealthMonitor
    from pipeline.ops.retention import start_retention
    from pipeline.runtime.worker import BackgroundSink, Worker
    from pipeline.signals.feed import controller_feed_for
    from pipeline.store.db import open_database
    from pipeline.store.repository import register_cameras

    if not config.cameras:
        raise CommandError("the config has no cameras")
    detector = build_detector(config)
    _, session_factory = open_database(config.database_url)
    with session_factory.begin() as session:
        register_cameras(session, config.cameras)
    # Models compile on their first call; do it before the cameras start, so the
    # first seconds of live video are not dropped and the first violation is not late.
    detector.detect([np.zeros((720, 1280, 3), np.uint8)])
    plates = build_plate_reader(config)
    if plates is not None:
        plates.read_vehicle(np.zeros((96, 160, 3), np.uint8))
    recorder = ViolationRecorder(config, session_factory, detector, plates)
    sink = BackgroundSink(recorder)
    worker = Worker(
        config,
        detector,
        sink,
        stop=stop,
        health=HealthMonitor(config, session_factory),
        clips=True,
        signal_feed=controller_feed_for(config, session_factory),
    )
    relay = _start_relay(config, session_factory, recorder)
    retention_stop = threading.Event()
    retention_thread = start_retention(config, session_factory, retention_stop)
    log.info(
        "running %d camera(s): %s", len(config.cameras), ", ".join(c.id for c in config.cameras)
    )
    stats = worker.run()
    sink.close()
    retention_stop.set()
    if retention_thread is not None:
        retention_thread.join()
    log.info(
        "processed %d frames in %.1f s (%.1f frames/s), %d violation(s)",
        stats.frames,
        stats.seconds,
        stats.fps,
        len(recorder.recorded),
    )
    return relay.finish() if relay is not None else 0


def cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    stop = threading.Event()
    stop_on_signals(stop)
    return run_pipeline(config, stop)


def add_parser(sub: Subparsers) -> None:
    run = sub.add_parser("run", help="run the workers for every camera")
    run.add_argument("--config", required=True)
    run.set_defaults(func=cmd_run)
