"""`trafficcam` command line: the composition root of the project.

Every subcommand reports bad input as one clear message and exit status 1; it
never shows a traceback for a mistake the user can fix.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from pipeline.config import AppConfig, ConfigError, load_config

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

log = logging.getLogger("trafficcam")

# What `trafficcam models pull` (and `make setup`) fetches: both offline COCO detectors,
# so a config can switch between them on a machine that is offline afterwards.
DEFAULT_MODELS = ("yolov3-tiny", "yolov4-tiny", "plate-yolov8n")


class CommandError(Exception):
    """A problem with the command's input; printed without a traceback."""


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("urllib3", "ultralytics", "multipart", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # kafka-python logs every failed connection attempt at ERROR while a broker is
    # down; the relay reports that state itself, once, as a warning.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


# ---------------------------------------------------------------- models


def cmd_models_pull(args: argparse.Namespace) -> int:
    from models import weights

    for name in args.names or DEFAULT_MODELS:
        try:
            path = weights.pull(name)
        except weights.ModelError as exc:
            raise CommandError(str(exc)) from None
        print(f"{name}: {path}")
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    from models import weights

    for status in weights.list_models():
        state = "pulled" if status.pulled else "not pulled"
        print(f"{status.name:16} {state:11} {status.description}")
    return 0


def cmd_models_verify(args: argparse.Namespace) -> int:
    from models import weights

    failed = False
    for name in args.names or [s.name for s in weights.list_models() if s.pulled]:
        try:
            weights.verify(name)
            print(f"{name}: ok")
        except weights.ModelError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


# ---------------------------------------------------------------- scenario / eval


def cmd_scenario(args: argparse.Namespace) -> int:
    from pipeline.evaluation import scenario

    try:
        files = scenario.generate(args.name, Path(args.out), seed=args.seed)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    print(f"video:  {files.video}\nconfig: {files.config}\ntruth:  {files.truth}")
    return 0


def build_detector(config: AppConfig) -> Any:
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


def build_plate_reader(config: AppConfig) -> Any:
    """The plate reader, or None when plates are off (never downloads)."""
    from models import weights

    if not config.plates.enabled:
        return None
    from models.plates import PlateReader

    try:
        return PlateReader.from_registry(config.plates.model)
    except (weights.ModelError, FileNotFoundError) as exc:
        raise CommandError(f"plates: {exc} (or set plates.enabled: false)") from None


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


# ---------------------------------------------------------------- run


def run_pipeline(config: AppConfig, stop: threading.Event) -> int:
    """Run every camera; returns the exit status. Used by `run` and `demo`."""
    import numpy as np

    from pipeline.events.relay import OutboxRelay
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

    relay = None
    relay_stop = threading.Event()
    relay_thread = None
    if config.kafka is not None:
        relay = OutboxRelay(session_factory, config.kafka.bootstrap_servers)
        recorder.after_commit = relay.wake  # events leave at commit, not at the next poll
        relay_thread = threading.Thread(
            target=relay.run, args=(relay_stop,), name="outbox-relay", daemon=True
        )
        relay_thread.start()
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
    status = 0
    if relay is not None and relay_thread is not None:
        relay_stop.set()
        relay_thread.join()
        if not relay.drain(timeout_s=30.0):
            log.error("Kafka did not take every event; they stay in the outbox for the next run")
            status = 1
        relay.close()
    return status


def cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    stop = threading.Event()
    _stop_on_signals(stop)
    return run_pipeline(config, stop)


# ---------------------------------------------------------------- evidence


def _evidence_dirs(args: argparse.Namespace, config: AppConfig | None) -> list[Path]:
    """Directories the evidence is written into: whoever can write there (a worker, an
    intruder on it) must not also choose the key the evidence is checked with."""
    dirs = []
    if args.target and Path(args.target).is_dir():
        dirs.append(Path(args.target).absolute().parent)  # the package's store
    if config is not None:
        dirs.append(config.evidence.path)
        store_path = getattr(config.evidence.store, "path", None)
        if store_path is not None:
            dirs.append(Path(store_path))
    return dirs


def _refuse_inside(path: Path, dirs: list[Path], what: str) -> None:
    real = path.resolve()
    for directory in dirs:
        if real.is_relative_to(directory.resolve()):
            raise CommandError(
                f"{what} {path} lies in the evidence directory {directory}, which the "
                "evidence writer can change: keep the key that checks evidence elsewhere"
            )


def _trusted_public_key(args: argparse.Namespace) -> Ed25519PublicKey:
    """`--public-key FILE` when given (trusted explicitly), else the public half of the
    config's signing key, which must be the key `evidence.signing_key_id` pins when set.

    A key file lying in the evidence directory is never trusted.
    """
    from pipeline.store.signing import SigningKeyError, key_id, load_public_key

    config = load_config(args.config) if Path(args.config).is_file() else None
    dirs = _evidence_dirs(args, config)
    try:
        if args.public_key:
            _refuse_inside(Path(args.public_key), dirs, "--public-key")
            return load_public_key(Path(args.public_key))
        if config is None:
            raise CommandError(
                f"no public key to check signatures with: pass --public-key FILE, "
                f"or --config naming a config ({args.config} does not exist)"
            )
        key_path = config.evidence.verifying_key_path
        _refuse_inside(
            key_path,
            dirs,
            "evidence.public_key" if config.evidence.public_key else "evidence.signing_key",
        )
        key = load_public_key(key_path)
    except SigningKeyError as exc:
        raise CommandError(str(exc)) from None
    found, pinned = key_id(key), config.evidence.signing_key_id
    if pinned is None:
        print(
            f"trusting the key at {key_path} (id {found}); pin it in the config with "
            f"evidence.signing_key_id: {found}",
            file=sys.stderr,
        )
    elif found != pinned:
        raise CommandError(
            f"{key_path} holds key {found[:16]}..., not the pinned evidence.signing_key_id "
            f"{pinned[:16]}...: the signing key was replaced. Pass --public-key FILE to "
            "trust another key explicitly"
        )
    return key


def cmd_evidence_verify(args: argparse.Namespace) -> int:
    from pipeline.evidence.package import EvidenceStore, verify_package_dir
    from pipeline.store.blobs import BlobError, open_blob_store
    from pipeline.store.db import open_database, redact_url
    from pipeline.store.hashing import sha256_bytes
    from pipeline.store.repository import all_violation_ids, get_violation

    public_key = _trusted_public_key(args)
    if args.target and Path(args.target).is_dir():
        problems = verify_package_dir(Path(args.target), public_key)
        checked = 1
    else:
        if not args.all and not args.target:
            raise CommandError("say what to verify: --all, a violation id, or a package directory")
        config = load_config(args.config)
        blobs = open_blob_store(config.evidence)
        store = EvidenceStore(blobs)
        _, session_factory = open_database(config.database_url)
        problems = []
        with session_factory() as session:
            ids = all_violation_ids(session) if args.all else [args.target]
            checked = len(ids)
            for violation_id in ids:
                violation = get_violation(session, violation_id)
                if violation is None:
                    raise CommandError(
                        f"no violation {violation_id!r} in {redact_url(config.database_url)}"
                    )
                if violation.evidence_deleted_at is not None:
                    # Removed on purpose; the rows still say what the files were.
                    deleted_on = violation.evidence_deleted_at.date().isoformat()
                    print(f"{violation_id}: evidence deleted under retention on {deleted_on}")
                    continue
                # The database's own hashes are checked too: a manifest rewritten
                # together with its files would still pass a manifest-only check.
                for item in violation.evidence:
                    key = blobs.key_of(item.uri)
                    if key is None:
                        problems.append(f"{item.uri}: not in the evidence store {blobs!r}")
                        continue
                    try:
                        data = blobs.get(key)
                    except BlobError as exc:
                        problems.append(str(exc))
                        continue
                    if sha256_bytes(data) != item.sha256:
                        problems.append(f"{blobs.uri(key)}: SHA-256 does not match the database")
                problems.extend(
                    p
                    for p in store.verify_package(violation.evidence_dir, public_key)
                    if p not in problems
                )
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"checked {checked} evidence package(s): {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_evidence_public_key(args: argparse.Namespace) -> int:
    from pipeline.store.signing import (
        SigningKeyError,
        key_id,
        load_or_create_signing_key,
        public_key_pem,
    )

    path = load_config(args.config).evidence.signing_key_path
    try:
        public_key = load_or_create_signing_key(path).public_key()
    except SigningKeyError as exc:
        raise CommandError(str(exc)) from None
    pem = public_key_pem(public_key)
    if args.out:
        Path(args.out).write_bytes(pem)
        print(f"public key {key_id(public_key)} written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(pem.decode("ascii"))
    return 0


# ---------------------------------------------------------------- retention


def cmd_retention_run(args: argparse.Namespace) -> int:
    from pipeline.ops.retention import EvidenceRetention
    from pipeline.store.db import open_database

    config = load_config(args.config)
    _, session_factory = open_database(config.database_url)
    report = EvidenceRetention(config, session_factory).run(dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for deletion in report.deletions:
        print(
            f"{verb} {deletion.violation_id} {deletion.status} "
            f"offence {deletion.offence_time.isoformat()} ({deletion.reason}) {deletion.size} bytes"
        )
    print(report.summary())
    if report.alert:
        print(f"alert: {report.alert}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- events


def _tail_servers(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Bootstrap servers and topics for `events tail`: the flags, else the config."""
    from pipeline.config import KafkaConfig, KafkaTopics

    topics = KafkaTopics()
    servers: list[str] = []
    if args.bootstrap:
        try:
            servers = KafkaConfig(bootstrap_servers=args.bootstrap).bootstrap_servers
        except ValueError as exc:
            raise CommandError(f"--bootstrap: {exc}") from None
    if not servers or not args.topics:
        if Path(args.config).is_file():
            config = load_config(args.config)
            if config.kafka is not None:
                servers = servers or config.kafka.bootstrap_servers
                topics = config.kafka.topics
        if not servers:
            raise CommandError(
                f"no Kafka to read from: pass --bootstrap HOST:PORT, or --config naming a "
                f"config with a kafka section ({args.config} has none or does not exist)"
            )
    return servers, list(args.topics) or list(topics.model_dump().values())


def cmd_events_tail(args: argparse.Namespace) -> int:
    from kafka.errors import KafkaError

    from pipeline.events.tail import EventTail

    servers, topics = _tail_servers(args)
    stop = threading.Event()
    _stop_on_signals(stop)

    def ready(partitions: Sequence[Any]) -> None:
        start = "the beginning" if args.from_beginning else "now"
        print(
            f"following {', '.join(topics)} as group {args.group} "
            f"({len(partitions)} partition(s), new group from {start}); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )

    tail = EventTail(
        servers,
        topics,
        group=args.group,
        from_beginning=args.from_beginning,
        session_timeout_ms=args.session_timeout_ms,
    )
    try:
        tail.run(sys.stdout, stop, raw=args.json, on_ready=ready)
    except KafkaError as exc:
        raise CommandError(f"Kafka at {', '.join(servers)}: {exc}") from None
    return 0


# ---------------------------------------------------------------- serve / users


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from review_ui.app import create_app
    from review_ui.session_secret import SessionSecretError

    config = load_config(args.config)
    try:
        app = create_app(config)
    except SessionSecretError as exc:
        raise CommandError(str(exc)) from None
    print(f"review UI on http://{args.host}:{args.port}")
    # proxy_headers off: X-Forwarded-For is read by the app itself, and believed only
    # from review.trusted_proxies (uvicorn's own default trusts 127.0.0.1 for it).
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=False)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    env = os.environ.get("TRAFFICCAM_PASSWORD")
    if env:
        return env
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CommandError("the two passwords differ")
    return first


def _with_users(args: argparse.Namespace, action: Callable[[Any], str]) -> int:
    from pipeline.store.db import open_database
    from pipeline.store.users import UserError

    config = load_config(args.config)
    _, session_factory = open_database(config.database_url)
    try:
        with session_factory.begin() as session:
            print(action(session))
    except UserError as exc:
        raise CommandError(str(exc)) from None
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    from pipeline.store.users import add_user

    password = _read_password(args)
    return _with_users(
        args,
        lambda s: f"added {add_user(s, args.name, password, args.role).username} ({args.role})",
    )


def cmd_users_passwd(args: argparse.Namespace) -> int:
    from pipeline.store.users import set_password

    password = _read_password(args)

    def change(session: Any) -> str:
        set_password(session, args.name, password)
        return f"password of {args.name} changed"

    return _with_users(args, change)


def cmd_users_disable(args: argparse.Namespace) -> int:
    from pipeline.store.users import set_disabled

    def disable(session: Any) -> str:
        set_disabled(session, args.name)
        return f"{args.name} disabled"

    return _with_users(args, disable)


def cmd_users_plates(args: argparse.Namespace) -> int:
    from pipeline.store.users import set_plate_access

    def grant(session: Any) -> str:
        set_plate_access(session, args.name, not args.revoke)
        return f"{args.name} {'no longer sees' if args.revoke else 'now sees'} plates"

    return _with_users(args, grant)


# ---------------------------------------------------------------- tokens


def _with_tokens(args: argparse.Namespace, action: Callable[[Any], str]) -> int:
    from pipeline.store.api_tokens import TokenError
    from pipeline.store.db import open_database

    config = load_config(args.config)
    _, session_factory = open_database(config.database_url)
    try:
        with session_factory.begin() as session:
            print(action(session))
    except TokenError as exc:
        raise CommandError(str(exc)) from None
    return 0


def cmd_tokens_add(args: argparse.Namespace) -> int:
    from pipeline.store.api_tokens import add_token

    def add(session: Any) -> str:
        made = add_token(
            session,
            args.name,
            args.role,
            cameras=args.camera or (),
            heads=args.head or (),
            controller_id=args.controller,
        )
        heads = ", ".join(made.heads) if made.heads else "all their heads"
        return (
            f"token {made.name} ({made.role}) for cameras {', '.join(made.cameras)} "
            f"({heads}), controller {made.controller_id}; send it as "
            f"'Authorization: Bearer <token>'. It is shown only now:\n{made.token}"
        )

    return _with_tokens(args, add)


def cmd_tokens_list(args: argparse.Namespace) -> int:
    from pipeline.store.api_tokens import describe_scope, list_tokens

    def show(session: Any) -> str:
        rows = list_tokens(session)
        if not rows:
            return "no tokens"
        return "\n".join(
            f"{row.name}\t{row.role}\tcreated {row.created_at:%Y-%m-%d %H:%M} UTC\t"
            + (f"revoked {row.revoked_at:%Y-%m-%d %H:%M} UTC" if row.revoked_at else "active")
            + f"\t{describe_scope(row)}"
            for row in rows
        )

    return _with_tokens(args, show)


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    from pipeline.store.api_tokens import revoke_token

    def revoke(session: Any) -> str:
        revoke_token(session, args.name)
        return f"token {args.name} revoked"

    return _with_tokens(args, revoke)


# ---------------------------------------------------------------- scene


def cmd_scene_check(args: argparse.Namespace) -> int:
    from pipeline.calibration import scene_check

    config = load_config(args.config)
    try:
        camera = scene_check.select_camera(config, args.camera, source=args.config)
        video = scene_check.video_for(camera, args.video)
        check = scene_check.check_scene(
            camera, video, seconds=args.seconds or None, every=args.every
        )
        out = Path(args.out) if args.out else Path(f"scene-check-{camera.id}")
        written = scene_check.write_pictures(check, out)
    except scene_check.SceneCheckError as exc:
        raise CommandError(str(exc)) from None
    for line in scene_check.report_lines(check):
        print(line)
    for path in written:
        print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.cli.demo import run_demo

    return run_demo(port=args.port, workdir=Path(args.workdir) if args.workdir else None)


# ---------------------------------------------------------------- doctor


def cmd_doctor(args: argparse.Namespace) -> int:
    from pipeline.ops import doctor

    text, status = doctor.report(doctor.run_checks(DEFAULT_MODELS))
    print(text)
    return status


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficcam", description="Traffic-camera violation detection."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    models = sub.add_parser("models", help="model registry").add_subparsers(
        dest="models_command", required=True
    )
    pull = models.add_parser("pull", help="fetch and verify models")
    pull.add_argument("names", nargs="*", help=f"model names (default: {' '.join(DEFAULT_MODELS)})")
    pull.set_defaults(func=cmd_models_pull)
    models.add_parser("list", help="list known models").set_defaults(func=cmd_models_list)
    verify = models.add_parser("verify", help="check pulled models' hashes")
    verify.add_argument("names", nargs="*")
    verify.set_defaults(func=cmd_models_verify)

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

    run = sub.add_parser("run", help="run the workers for every camera")
    run.add_argument("--config", required=True)
    run.set_defaults(func=cmd_run)

    evidence = sub.add_parser("evidence", help="evidence packages").add_subparsers(
        dest="evidence_command", required=True
    )
    ev_verify = evidence.add_parser("verify", help="check evidence hashes and signatures")
    ev_verify.add_argument("target", nargs="?", help="violation id or package directory")
    ev_verify.add_argument("--all", action="store_true", help="every stored violation")
    ev_verify.add_argument("--config", default="trafficcam.yaml")
    ev_verify.add_argument(
        "--public-key", help="PEM public key to trust (default: the config's signing key)"
    )
    ev_verify.set_defaults(func=cmd_evidence_verify)
    ev_public = evidence.add_parser(
        "public-key", help="export the PEM public key that checks manifest signatures"
    )
    ev_public.add_argument("--config", default="trafficcam.yaml")
    ev_public.add_argument("--out", help="write it to this file (default: stdout)")
    ev_public.set_defaults(func=cmd_evidence_public_key)

    retention = sub.add_parser("retention", help="evidence retention").add_subparsers(
        dest="retention_command", required=True
    )
    retention_run = retention.add_parser(
        "run", help="delete evidence past retention (and make room on a full disk) once"
    )
    retention_run.add_argument("--config", default="trafficcam.yaml")
    retention_run.add_argument(
        "--dry-run", action="store_true", help="print what would be deleted; delete nothing"
    )
    retention_run.set_defaults(func=cmd_retention_run)

    events = sub.add_parser("events", help="Kafka events").add_subparsers(
        dest="events_command", required=True
    )
    tail = events.add_parser("tail", help="print events as they arrive (a consumer group)")
    tail.add_argument("topics", nargs="*", metavar="TOPIC", help="default: every trafficcam topic")
    tail.add_argument("--config", default="trafficcam.yaml", help="where Kafka and topics are")
    tail.add_argument(
        "--bootstrap", action="append", metavar="HOST:PORT", help="broker (overrides the config)"
    )
    tail.add_argument(
        "--group",
        default="trafficcam-tail",
        help="consumer group; a second run continues where the last one stopped",
    )
    tail.add_argument(
        "--from-beginning",
        action="store_true",
        help="a new group starts at the oldest event (default: only new ones)",
    )
    tail.add_argument("--json", action="store_true", help="print each event's raw JSON")
    tail.add_argument("--session-timeout-ms", type=int, default=10000, help=argparse.SUPPRESS)
    tail.set_defaults(func=cmd_events_tail)

    serve = sub.add_parser("serve", help="serve the review UI")
    serve.add_argument("--config", required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)

    scene = sub.add_parser("scene", help="a camera's scene config").add_subparsers(
        dest="scene_command", required=True
    )
    scene_check = scene.add_parser(
        "check",
        help="draw the scene on the camera's video and read its signal heads over time",
    )
    scene_check.add_argument("--config", required=True)
    scene_check.add_argument(
        "--video", help="a recording of the camera (default: its source, when a file)"
    )
    scene_check.add_argument("--camera", help="camera id (default: the config's first)")
    scene_check.add_argument(
        "--out", help="folder for overview.png and signals.png (default: ./scene-check-CAMERA)"
    )
    scene_check.add_argument(
        "--seconds",
        type=float,
        default=180.0,
        help="stream seconds read from the start (default 180; 0: the whole video)",
    )
    scene_check.add_argument(
        "--every",
        type=float,
        help="seconds between a head's crops in signals.png (default: at most 60 crops)",
    )
    scene_check.set_defaults(func=cmd_scene_check)

    demo = sub.add_parser("demo", help="everything, embedded, on a generated camera")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--workdir", help="where the demo keeps its files (default: ./var/demo)")
    demo.set_defaults(func=cmd_demo)

    sub.add_parser(
        "doctor", help="check system dependencies; names the Debian package of each missing one"
    ).set_defaults(func=cmd_doctor)

    users = sub.add_parser("users", help="review UI accounts").add_subparsers(
        dest="users_command", required=True
    )
    for name, func, help_text in (
        ("add", cmd_users_add, "add a user"),
        ("passwd", cmd_users_passwd, "change a password"),
        ("disable", cmd_users_disable, "disable a user"),
    ):
        command = users.add_parser(name, help=help_text)
        command.add_argument("name")
        command.add_argument("--config", default="trafficcam.yaml")
        if name == "add":
            command.add_argument(
                "--role", required=True, choices=("police", "operator", "analyst", "admin")
            )
        if name != "disable":
            command.add_argument(
                "--password-stdin", action="store_true", help="read the password from stdin"
            )
        command.set_defaults(func=func)

    plates = users.add_parser(
        "plates", help="let an analyst see plates whole in the history (--revoke: stop)"
    )
    plates.add_argument("name")
    plates.add_argument("--revoke", action="store_true", help="mask plates again")
    plates.add_argument("--config", default="trafficcam.yaml")
    plates.set_defaults(func=cmd_users_plates)

    tokens = sub.add_parser(
        "tokens", help="API tokens of machine clients (signal controllers)"
    ).add_subparsers(dest="tokens_command", required=True)
    token_add = tokens.add_parser("add", help="make a token; it is printed once, never stored")
    token_add.add_argument("name", help="the client's name, e.g. controller-ltk-hangbai")
    token_add.add_argument("--role", required=True, choices=("signal-controller",))
    token_add.add_argument(
        "--camera", action="append", help="a camera it reports for (repeat for several)"
    )
    token_add.add_argument(
        "--head",
        action="append",
        help="a head it reports: HEAD (of each --camera) or CAMERA/HEAD (default: all heads)",
    )
    token_add.add_argument("--controller", help="the controller id its posts carry")
    token_add.set_defaults(func=cmd_tokens_add)
    token_list = tokens.add_parser("list", help="list tokens (names, roles, revoked or not)")
    token_list.set_defaults(func=cmd_tokens_list)
    token_revoke = tokens.add_parser("revoke", help="revoke a token at once")
    token_revoke.add_argument("name")
    token_revoke.set_defaults(func=cmd_tokens_revoke)
    for command in (token_add, token_list, token_revoke):
        command.add_argument("--config", default="trafficcam.yaml")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return int(args.func(args))
    except (ConfigError, CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
