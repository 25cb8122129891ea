"""`trafficcam events tail`: print events as they arrive, as a consumer group.

Offsets are committed after every printed batch, so a second run of the same
group continues where the first stopped. A new group starts at the end of each
topic (only what arrives from now on) unless told to start from the beginning;
either way its starting offsets are committed as soon as it has its partitions,
so events published while it is stopped are printed by its next run.

Example:
    >>> tail = EventTail(["127.0.0.1:9092"], ["violations"], group="ops")  # doctest: +SKIP
    >>> tail.run(sys.stdout, threading.Event())
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from pipeline.events.relay import ReceivedEvent, decode_record

log = logging.getLogger(__name__)

DEFAULT_GROUP = "trafficcam-tail"
_POLL_MS = 500


def _text(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def describe(event: ReceivedEvent) -> str:
    """One readable line for an event: its time, type and what matters about it."""
    payload: Mapping[str, Any] = event.payload
    kind = payload.get("type")
    g = payload.get
    if kind == "violation":
        detail = (
            f"{g('camera_id')} {g('rule_type')} {g('vehicle_class')} "
            f"plate={_text(g('plate'))} violation={g('violation_id')}"
        )
        when = g("offence_time")
    elif kind == "review":
        detail = (
            f"violation={g('violation_id')} {g('decision')} by {g('reviewer')}: "
            f"{_text(g('reason'))}"
        )
        if g("plate_correction"):
            detail += f" plate->{g('plate_correction')}"
        when = g("decided_at")
    elif kind == "camera_health":
        detail = f"{g('camera_id')} {g('state')} {_text(g('reason'))}"
        when = g("at")
    elif kind == "camera_alert":
        detail = f"{g('camera_id')} {g('previous_state')} -> {g('state')} {_text(g('reason'))}"
        when = g("at")
    elif kind == "system_alert":
        detail = f"{g('severity')} {g('kind')}: {g('message')}"
        when = g("at")
    else:
        detail = json.dumps(dict(payload), ensure_ascii=False, separators=(",", ":"))
        when = g("at")
    return f"{_text(when)} {event.topic} {_text(kind)} {detail}"


class EventTail:
    """Follows topics as a member of a consumer group and prints each event.

    Args:
        bootstrap_servers: `host:port` list.
        topics: topics to follow.
        group: consumer group; its committed offsets say where a run starts.
        from_beginning: for a group without committed offsets, start at the
            oldest event instead of the newest.
        session_timeout_ms: group session timeout (joins take about half of it on Tansu).
    """

    def __init__(
        self,
        bootstrap_servers: Sequence[str],
        topics: Sequence[str],
        *,
        group: str = DEFAULT_GROUP,
        from_beginning: bool = False,
        session_timeout_ms: int = 10000,
    ) -> None:
        if not topics:
            raise ValueError("no topics to follow")
        self.topics = list(dict.fromkeys(topics))
        self.group = group
        self._consumer_config: dict[str, Any] = {
            "bootstrap_servers": list(bootstrap_servers),
            "group_id": group,
            "client_id": f"trafficcam-tail-{group}",
            "auto_offset_reset": "earliest" if from_beginning else "latest",
            # Committed by hand after each printed batch: "printed" is what counts as read.
            "enable_auto_commit": False,
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": max(100, session_timeout_ms // 3),
        }

    def run(
        self,
        out: TextIO,
        stop: threading.Event,
        *,
        raw: bool = False,
        on_ready: Callable[[list[TopicPartition]], None] | None = None,
    ) -> int:
        """Print events until `stop` is set; returns how many were printed.

        Args:
            out: where lines go (flushed after each batch).
            raw: print each event's JSON as published instead of a readable line.
            on_ready: called once the group has assigned partitions and their
                starting offsets are committed (events from then on are printed).
        """
        consumer = KafkaConsumer(**self._consumer_config)
        consumer.subscribe(self.topics)
        pinned: set[TopicPartition] = set()
        printed = 0
        try:
            while not stop.is_set():
                batches = consumer.poll(timeout_ms=_POLL_MS)
                new = set(consumer.assignment()) - pinned
                if new:
                    # Resolving the position applies the reset policy now; committing it
                    # means a run stopped before any event still leaves its place.
                    for partition in new:
                        consumer.position(partition)
                    pinned |= new
                for records in batches.values():
                    for record in records:
                        event = decode_record(record)
                        if event is None:
                            continue
                        out.write(self._format(event, raw) + "\n")
                        printed += 1
                out.flush()
                if new or batches:
                    consumer.commit()
                if new and on_ready is not None:
                    on_ready(sorted(pinned, key=lambda tp: (tp.topic, tp.partition)))
        finally:
            try:
                consumer.commit()
            except Exception as error:  # leaving the group must not hide why we stopped
                log.warning("events tail: final commit failed: %s", error)
            consumer.close(autocommit=False)
        return printed

    @staticmethod
    def _format(event: ReceivedEvent, raw: bool) -> str:
        if raw:
            return json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"))
        return describe(event)
