"""`trafficcam demo`: the whole system on embedded parts, on one generated camera.

Generates (once, cached) the red-light scenario, serves its video as a looping
RTSP camera when gst-rtsp-server is installed (else reads the file in a loop at
real time), starts an embedded Tansu broker unless KAFKA_BOOTSTRAP_SERVERS is
set, runs the worker with the outbox relay, and serves the review UI. Ctrl-C
stops every process it started.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

import uvicorn
import yaml

from pipeline.config import AppConfig, KafkaConfig, load_config
from pipeline.evaluation import scenario
from pipeline.events.broker import EmbeddedBroker, ensure_topics
from pipeline.store.db import open_database
from pipeline.store.users import add_user, find_user

log = logging.getLogger(__name__)

DEMO_USER = "officer"
DEMO_PASSWORD = "demo-officer"
DEMO_SCENARIO = "red_light"


def prepare_scenario(workdir: Path) -> Path:
    """The demo scenario's config path, generating the scenario on first use."""
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
    _, session_factory = open_database(config.database_url)
    with session_factory.begin() as session:
        if find_user(session, DEMO_USER) is None:
            add_user(session, DEMO_USER, DEMO_PASSWORD, "police")


def run_demo(*, port: int = 8000, workdir: Path | None = None) -> int:
    from pipeline.cli.main import run_pipeline
    from review_ui.app import create_app
    from streams.rtsp_launcher import rtsp_server_available, start_rtsp_server

    workdir = (workdir or Path("var/demo")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    base = load_config(prepare_scenario(workdir))
    video = Path(base.cameras[0].source.url)

    with ExitStack() as stack:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            broker = stack.enter_context(EmbeddedBroker().start())
            bootstrap = broker.bootstrap
            log.info("embedded Kafka-compatible broker (Tansu) on %s", bootstrap)
        if rtsp_server_available():
            server = start_rtsp_server({"/camera": video}, loop=True)
            stack.callback(server.stop)
            source_url = server.url("/camera")
            log.info("demo camera served over RTSP at %s", source_url)
        else:
            source_url = str(video)
            log.warning("gst-rtsp-server not installed: reading %s as a looping file", video)

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
