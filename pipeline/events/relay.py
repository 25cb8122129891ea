"""Violation/review events: the versioned JSON schema, the outbox relay, a consumer.

The violation row and its outbox row are written in one transaction (see
`pipeline.store.repository.record_violation`); `OutboxRelay` then publishes the
outbox to Kafka and marks rows sent only once the broker has acknowledged them.
Kafka being down means events wait in the outbox. A retry reuses the event's
`event_id`, so delivery is at least once and consumers dedupe on `event_id`.

Example:
    >>> event = violation_event(...)  # doctest: +SKIP
    >>> record_violation(session, row, evidence, [as_pending(event, "violations")])
    >>> OutboxRelay(sessions, ["127.0.0.1:9092"]).drain(10)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.serializer import Serializer
from sqlalchemy.orm import Session

from pipeline.store.repository import (
    EVENT_SCHEMA_VERSION,
    PendingEvent,
    count_pending_events,
    mark_sent,
    note_attempts,
    pending_events,
)

log = logging.getLogger(__name__)

SCHEMAS = Path(__file__).parent / "schemas"
EVENT_ID_HEADER = "event_id"

# The delivery guarantees are not up for override; everything else is.
_FIXED_PRODUCER_CONFIG: dict[str, Any] = {"acks": "all", "enable_idempotence": True}
# kafka-python's defaults (60 s max_block, 30 s bootstrap, 120 s delivery) would
# stall the relay for minutes when the broker is down; these bound one attempt
# to about ten seconds, after which the rows simply wait for the next one.
DEFAULT_PRODUCER_CONFIG: dict[str, Any] = {
    "client_id": "trafficcam-outbox",
    "linger_ms": 5,
    "max_block_ms": 5000,
    "bootstrap_timeout_ms": 5000,
    "request_timeout_ms": 5000,
    "delivery_timeout_ms": 10000,
    "reconnect_backoff_max_ms": 1000,
}


class EventError(ValueError):
    """An event that does not match its JSON Schema (or has no known type)."""


# ---------------------------------------------------------------------------
# Event construction and validation


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z` suffix; naive datetimes are refused, not guessed."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; events carry UTC-aware times only")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def violation_event(
    *,
    event_id: str,
    violation_id: str,
    camera_id: str,
    camera_name: str,
    location: Mapping[str, Any],
    rule_type: str,
    rule_version: str,
    vehicle_class: str,
    track_id: int,
    offence_time: datetime,
    measurements: Mapping[str, Any],
    explanation: str,
    scene_version: str,
    evidence: Sequence[Mapping[str, Any]],
    manifest_sha256: str,
    plate: str | None = None,
    plate_confidence: float | None = None,
) -> dict[str, Any]:
    """Build a `violation` event (schema version 1) ready for the outbox.

    Args:
        event_id: id reused on every retry; consumers dedupe on it.
        location: `{"text", "lat", "lon"}` of the camera.
        evidence: `{"kind", "uri", "sha256", "size"}` per evidence file.
        offence_time: UTC-aware time of the offence.

    Returns:
        A JSON-able dict that validates against `violation.schema.json`.
    """
    return {
        "schema_version": EVENT_SCHEMA_VERSION,
        "event_id": event_id,
        "type": "violation",
        "violation_id": violation_id,
        "camera_id": camera_id,
        "camera_name": camera_name,
        "location": {
            "text": str(location["text"]),
            "lat": float(location["lat"]),
            "lon": float(location["lon"]),
        },
        "rule_type": rule_type,
        "rule_version": rule_version,
        "vehicle_class": vehicle_class,
        "track_id": int(track_id),
        "offence_time": utc_iso(offence_time),
        "plate": plate,
        "plate_confidence": plate_confidence,
        # A JSON round trip turns tuples and numpy scalars' str() forms into plain
        # JSON now, so the payload stored in the outbox is exactly what is sent.
        "measurements": json.loads(json.dumps(dict(measurements), default=_json_fallback)),
        "explanation": explanation,
        "scene_version": scene_version,
        "evidence": [
            {
                "kind": str(item["kind"]),
                "uri": str(item["uri"]),
                "sha256": str(item["sha256"]),
                "size": int(item["size"]),
            }
            for item in evidence
        ],
        "manifest_sha256": manifest_sha256,
    }


def _json_fallback(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_iso(value)
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def as_pending(event: Mapping[str, Any], topic: str) -> PendingEvent:
    """Wrap an event for `record_violation`: keyed by camera id, so one camera's
    events stay in order on one partition."""
    return PendingEvent(
        topic=topic, key=str(event["camera_id"]), payload=dict(event), event_id=event["event_id"]
    )


@cache
def _validator(event_type: str) -> Draft202012Validator:
    path = SCHEMAS / f"{event_type}.schema.json"
    if not path.is_file():
        raise EventError(f"no schema for event type {event_type!r}")
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of one event type (`violation`, `review`)."""
    return dict(_validator(event_type).schema)


def validate_event(event: Mapping[str, Any]) -> None:
    """Check an event against the JSON Schema of its `type`.

    Raises:
        EventError: naming the first offending field.
    """
    event_type = event.get("type")
    if not isinstance(event_type, str):
        raise EventError("event has no 'type'")
    try:
        _validator(event_type).validate(dict(event))
    except ValidationError as exc:
        path = [str(part) for part in exc.absolute_path]
        if exc.validator == "required" and isinstance(exc.instance, dict):
            # Name the missing field itself, not the object that lacks it.
            missing = [name for name in exc.validator_value if name not in exc.instance]
            path.append(missing[0] if missing else "?")
        where = "/".join(path) or "(event)"
        raise EventError(f"{event_type} event, field {where}: {exc.message}") from exc


# ---------------------------------------------------------------------------
# Outbox relay


@dataclass(frozen=True)
class _Outgoing:
    """An outbox row detached from its session, so no DB connection is held
    while waiting for the broker."""

    outbox_id: int
    event_id: str
    topic: str
    key: str
    payload: dict[str, Any]


class _JsonSerializer(Serializer):
    """Event payloads as compact UTF-8 JSON (kafka-python 3 wants Serializer objects)."""

    def serialize(self, topic: str, headers: Any, data: Any) -> bytes:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Utf8Serializer(Serializer):
    def serialize(self, topic: str, headers: Any, data: Any) -> bytes:
        return str(data).encode("utf-8")


class OutboxRelay:
    """Publishes pending outbox rows to Kafka and marks the acknowledged ones sent.

    Not thread-safe: run one relay loop (or one `drain`) at a time per instance.

    Args:
        session_factory: makes sessions on the trafficcam database.
        bootstrap_servers: `host:port` list.
        batch_size: most rows read and sent per `publish_pending` call.
        producer_config: kafka-python producer settings over
            `DEFAULT_PRODUCER_CONFIG`; `acks="all"` and idempotence always apply.
    """

    def __init__(
        self,
        session_factory: Callable[[], Session],
        bootstrap_servers: Sequence[str],
        *,
        batch_size: int = 500,
        producer_config: Mapping[str, Any] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._sessions = session_factory
        self.batch_size = batch_size
        self._config: dict[str, Any] = {
            **DEFAULT_PRODUCER_CONFIG,
            **(producer_config or {}),
            **_FIXED_PRODUCER_CONFIG,
            "bootstrap_servers": list(bootstrap_servers),
            "key_serializer": _Utf8Serializer(),
            "value_serializer": _JsonSerializer(),
        }
        # Waiting a little past the delivery timeout lets kafka-python expire the
        # unsent batches itself; its producer then closes cleanly.
        self._ack_timeout_s = self._config["delivery_timeout_ms"] / 1000 + 2.0
        self._producer: KafkaProducer | None = None
        self._wake = threading.Event()
        self.last_error: Exception | None = None

    def publish_pending(self) -> int:
        """Send one batch of pending rows (in outbox id order), wait for acks, and
        mark the acknowledged rows sent in one transaction.

        Broker trouble is logged and leaves the unacknowledged rows pending for a
        later call (same `event_id`); it never raises. Database errors do raise.

        Returns:
            How many events the broker acknowledged.
        """
        with self._sessions() as session:
            rows = [
                _Outgoing(row.id, row.event_id, row.topic, row.key, dict(row.payload))
                for row in pending_events(session, limit=self.batch_size)
            ]
        if not rows:
            return 0
        acked, failure = self._send(rows)
        with self._sessions() as session, session.begin():
            note_attempts(session, [row.outbox_id for row in rows])
            mark_sent(session, acked)
        self.last_error = failure
        if failure is not None:
            log.warning(
                "outbox relay: %d of %d events acknowledged, the rest stay pending: %s",
                len(acked), len(rows), failure,
            )  # fmt: skip
            # A producer that saw the broker fail may hold a stale producer id
            # (a restarted broker forgets it); start the next attempt afresh.
            self._discard_producer()
        return len(acked)

    def _send(self, rows: list[_Outgoing]) -> tuple[list[int], Exception | None]:
        try:
            producer = self._ensure_producer()
        except KafkaError as exc:
            return [], exc
        sent: list[tuple[_Outgoing, Any]] = []
        failure: Exception | None = None
        try:
            for row in rows:
                future = producer.send(
                    row.topic,
                    key=row.key,
                    value=row.payload,
                    headers=[(EVENT_ID_HEADER, row.event_id.encode("utf-8"))],
                )
                sent.append((row, future))
        except KafkaError as exc:
            failure = exc  # what was handed over before this is still awaited below
        deadline = time.monotonic() + self._ack_timeout_s
        acked: list[int] = []
        for row, future in sent:
            try:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
            except KafkaError as exc:
                failure = failure or exc
                continue
            acked.append(row.outbox_id)
        return acked, failure

    def _ensure_producer(self) -> KafkaProducer:
        # Created lazily: constructing a producer needs a reachable broker, and a
        # relay must be constructible (and the worker start) while Kafka is down.
        if self._producer is None:
            self._producer = KafkaProducer(**self._config)
        return self._producer

    def _discard_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.close(timeout=1)
        except Exception as exc:  # noqa: BLE001 - closing must not mask the real error
            log.debug("outbox relay: producer close: %s", exc)
            # kafka-python's close() flushes first and raises before it stops its
            # sender thread when batches remain; stop the thread so it cannot leak.
            sender = getattr(producer, "_sender", None)
            if sender is not None:
                sender.force_close()

    def pending(self) -> int:
        """Rows still waiting to be published."""
        with self._sessions() as session:
            return count_pending_events(session)

    def drain(self, timeout_s: float) -> bool:
        """Publish until nothing is pending or `timeout_s` has passed.

        One attempt against a dead broker can run past the deadline by up to the
        producer's delivery timeout (10 s by default).

        Returns:
            True when the outbox is empty.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            sent = self.publish_pending()
            if self.pending() == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            if sent == 0:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def wake(self) -> None:
        """Make a running `run` loop publish now instead of at its next interval.

        Thread-safe; the recorder calls it right after each commit, so an event
        leaves within milliseconds instead of waiting out the polling interval.
        """
        self._wake.set()

    def run(self, stop: threading.Event, interval_s: float = 0.5) -> None:
        """Publish until `stop` is set, then close the producer.

        Between rounds the loop sleeps `interval_s` or until `wake` is called.
        While the broker or the database fails, the wait between attempts doubles
        from `interval_s` up to 30 s and wakes are ignored: violations recorded in
        quick succession must not turn into hammering a dead broker.
        """
        failures = 0
        failing_since = 0.0
        try:
            while not stop.is_set():
                # Cleared before the outbox is read: a commit after the read
                # wakes the next wait instead of being missed.
                self._wake.clear()
                try:
                    sent = self.publish_pending()
                except Exception as exc:  # the DB may be briefly away; keep the loop alive
                    log.exception("outbox relay: publishing failed")
                    self.last_error, sent = exc, 0
                if self.last_error is None:
                    if failures:
                        log.info(
                            "outbox relay: Kafka reachable again after %d failed attempt(s) "
                            "over %.1f s; %d waiting event(s) sent",
                            failures, time.monotonic() - failing_since, sent,
                        )  # fmt: skip
                    failures = 0
                else:
                    if not failures:
                        failing_since = time.monotonic()
                    failures += 1
                if sent >= self.batch_size and failures == 0:
                    continue  # likely more waiting: go again at once
                if failures:
                    stop.wait(min(interval_s * 2 ** min(failures, 6), max(interval_s, 30.0)))
                else:
                    self._wake.wait(interval_s)
        finally:
            self.close()

    def close(self) -> None:
        """Close the producer (a later publish opens a new one)."""
        self._discard_producer()

    def __enter__(self) -> OutboxRelay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# ---------------------------------------------------------------------------
# Consumer helper


@dataclass(frozen=True)
class ReceivedEvent:
    """One record read from a topic."""

    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, bytes]
    payload: dict[str, Any]

    @property
    def event_id(self) -> str | None:
        header = self.headers.get(EVENT_ID_HEADER)
        return header.decode("utf-8") if header is not None else self.payload.get("event_id")


def consume_records(
    bootstrap: str | Sequence[str],
    topic: str,
    *,
    group_id: str,
    timeout_s: float | None = 10.0,
    session_timeout_ms: int = 6000,
) -> Generator[ReceivedEvent, None, None]:
    """Read a topic as a member of a consumer group, from the earliest offset the
    group has not committed.

    Args:
        bootstrap: `host:port` or a list of them.
        group_id: consumer group; offsets are committed automatically.
        timeout_s: stop after this long without a new record (None: follow for
            ever). The first wait includes joining the group, which takes about
            half of `session_timeout_ms` on Tansu.
        session_timeout_ms: group session timeout; small values make joins fast.

    Yields:
        Records whose value is a JSON object; anything else is logged and skipped.
    """
    servers = [bootstrap] if isinstance(bootstrap, str) else list(bootstrap)
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=servers,
        group_id=group_id,
        client_id=f"trafficcam-{group_id}",
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=max(100, session_timeout_ms // 3),
    )
    try:
        last_record = time.monotonic()
        while True:
            wait_s = 1.0
            if timeout_s is not None:
                left = timeout_s - (time.monotonic() - last_record)
                if left <= 0:
                    return
                wait_s = min(wait_s, left)
            batches = consumer.poll(timeout_ms=max(1, int(wait_s * 1000)))
            for records in batches.values():
                for record in records:
                    last_record = time.monotonic()
                    event = decode_record(record)
                    if event is not None:
                        yield event
    finally:
        consumer.close()


def decode_record(record: Any) -> ReceivedEvent | None:
    """A consumed record as a `ReceivedEvent`; None (logged) when its value is not a
    JSON object."""
    try:
        payload = json.loads(record.value)
    except (TypeError, ValueError) as exc:
        log.warning("skipping %s/%d@%d: not JSON (%s)", record.topic, record.partition,
                    record.offset, exc)  # fmt: skip
        return None
    if not isinstance(payload, dict):
        log.warning("skipping %s/%d@%d: not a JSON object", record.topic, record.partition,
                    record.offset)  # fmt: skip
        return None
    return ReceivedEvent(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode("utf-8", errors="replace") if record.key is not None else None,
        headers={name: value or b"" for name, value in (record.headers or [])},
        payload=payload,
    )


def consume(
    bootstrap: str | Sequence[str],
    topic: str,
    *,
    group_id: str,
    timeout_s: float | None = 10.0,
) -> Generator[dict[str, Any], None, None]:
    """The JSON payloads of `consume_records` (same arguments)."""
    records = consume_records(bootstrap, topic, group_id=group_id, timeout_s=timeout_s)
    try:
        for record in records:
            yield record.payload
    finally:
        records.close()  # closes the consumer now, not at garbage collection
