"""`trafficcam demo`: the whole system on embedded parts, on one generated camera.

Generates (once, cached) the red-light scenario, serves its video as a looping
RTSP camera when gst-rtsp-server is installed (else reads the file in a loop at
real time), starts an embedded Tansu broker unless KAFKA_BOOTSTRAP_SERVERS is
set, runs the worker with the outbox relay, and serves the review UI. Ctrl-C
stops every process it started.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from pipeline.cli.run import run_pipeline
from pipeline.config import AppConfig, KafkaConfig, load_config

if TYPE_CHECKING:
    from pipeline.cli.common import Subparsers

# The parts below are imported where they are used: every `trafficcam` command loads
# this module to list `demo`, and only `demo` needs them.
log = logging.getLogger(__name__)

DEMO_USER = "officer"
DEMO_PASSWORD = "demo-officer"
DEMO_SCENARIO = "red_light"


def prepare_scenario(workdir: Path) -> Path:
    """The demo scenario's config path, generating the scenario on first use."""
    from pipeline.evaluation import scenario

    scenario_dir = workdir / "scenario"
    config_path = scenario_dir / "trafficcam.yaml"
    if not (config_path.is_file() and (scenario_dir / "video.mp4").is_file()):
        log.info("generating the %s demo scenario in %s", DEMO_SCENARIO, scenario_dir)
        scenario.generate(DEMO_SCENARIO, scenario_dir)
    return config_path


def demo_config(base: AppConfig, workdir: Path, source_url: str, bootstrap: str) -> AppConfig:
    """The scenario's camera, pointed at a live source, with demo storage and Kafka."""
    camera = base.cameras[0]
    looping_file = "://" not in source_url
    source = camera.source.model_copy(
        update={"url": source_url, "loop": looping_file, "realtime": True}
    )
    return base.model_copy(
        update={
            "database_url": f"sqlite:///{workdir / 'trafficcam.db'}",
            "evidence": base.evidence.model_copy(update={"path": workdir / "evidence"}),
            "kafka": KafkaConfig(bootstrap_servers=bootstrap.split(",")),
            "cameras": [camera.model_copy(update={"source": source})],
        }
    )


def ensure_demo_user(config: AppConfig) -> None:
    from pipeline.store.db import open_database
    from pipeline.store.users import add_user, find_user

    _, session_factory = open_database(config.database_url)
    with session_factory.begin() as session:
        if find_user(session, DEMO_USER) is None:
            add_user(session, DEMO_USER, DEMO_PASSWORD, "police")


def _kafka_bootstrap(stack: ExitStack) -> str:
    """$KAFKA_BOOTSTRAP_SERVERS, else an embedded broker that `stack` stops."""
    from pipeline.config.environment import environment
    from pipeline.events.broker import EmbeddedBroker

    bootstrap = environment().kafka_bootstrap_servers
    if not bootstrap:
        broker = stack.enter_context(EmbeddedBroker().start())
        bootstrap = broker.bootstrap
        log.info("embedded Kafka-compatible broker (Tansu) on %s", bootstrap)
    return bootstrap


def _camera_source(stack: ExitStack, video: Path) -> str:
    """The video served as a looping RTSP camera that `stack` stops, else the file."""
    from streams.rtsp_launcher import rtsp_server_available, start_rtsp_server

    if rtsp_server_available():
        server = start_rtsp_server({"/camera": video}, loop=True)
        stack.callback(server.stop)
        source_url = server.url("/camera")
        log.info("demo camera served over RTSP at %s", source_url)
    else:
        source_url = str(video)
        log.warning("gst-rtsp-server not installed: reading %s as a looping file", video)
    return source_url


def run_demo(*, port: int = 8000, workdir: Path | None = None) -> int:
    import uvicorn
    import yaml

    from pipeline.events.broker import ensure_topics
    from review_ui.app import create_app

    workdir = (workdir or Path("var/demo")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    base = load_config(prepare_scenario(workdir))
    video = Path(base.cameras[0].source.url)

    with ExitStack() as stack:
        bootstrap = _kafka_bootstrap(stack)
        source_url = _camera_source(stack, video)
        config = demo_config(base, workdir, source_url, bootstrap)
        (workdir / "trafficcam.yaml").write_text(
            yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
        )
        assert config.kafka is not None
        ensure_topics(bootstrap, list(config.kafka.topics.model_dump().values()))
        ensure_demo_user(config)

        stop = threading.Event()
        server_config = uvicorn.Config(
            create_app(config), host="127.0.0.1", port=port, log_level="warning"
        )
        web = uvicorn.Server(server_config)
        web_thread = threading.Thread(target=web.run, name="review-ui", daemon=True)
        web_thread.start()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        print(
            f"\n  trafficcam demo: open http://127.0.0.1:{port}\n"
            f"  log in as {DEMO_USER} / {DEMO_PASSWORD} (role police)\n"
            f"  camera: {source_url}   Kafka: {bootstrap}   files: {workdir}\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        try:
            status = run_pipeline(config, stop)
        finally:
            web.should_exit = True
            web_thread.join(timeout=5)
    return status


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(port=args.port, workdir=Path(args.workdir) if args.workdir else None)


def add_parser(sub: Subparsers) -> None:
    demo = sub.add_parser("demo", help="everything, embedded, on a generated camera")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--workdir", help="where the demo keeps its files (default: ./var/demo)")
    demo.set_defaults(func=cmd_demo)
