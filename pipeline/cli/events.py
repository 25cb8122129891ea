"""`trafficcam events tail`: print Kafka events as they arrive."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.cli.common import CommandError, stop_on_signals
from pipeline.config import load_config

if TYPE_CHECKING:
    from pipeline.cli.common import Subparsers


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
    stop_on_signals(stop)

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


def add_parser(sub: Subparsers) -> None:
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
