"""Signal phases from controllers, and how they combine with the image reading.

A controller reports each phase change of a head (`POST /api/v1/signals/{head}`,
stored in `signal_phase_changes` and published to the `signal-phases` topic, or
published to the topic by the controller itself). `ControllerFeed` keeps the
recent changes of every head, filled by followers that poll the table or read
the topic; `CameraSignals` gives each analysed frame one state per head:

- `source: image`: the lamps read from the image, as before.
- `source: controller`: the controller's phase; unknown while its feed is stale.
- `source: auto`: the controller's phase while its feed is fresh, else the image.

Evidence standards prefer the controller's phase; every state says which
source gave it, and violations record it (`signal_source`).

Controllers speak UTC wall-clock time; rules work in the camera's stream time.
Frames carry both (`pts`, `wall_time`), so a change's `changed_at` is moved
onto the stream clock through the camera's recent wall-minus-pts offset.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy.orm import Session

from pipeline.config import AppConfig, CameraConfig, SignalHead
from pipeline.events.relay import validate_event
from pipeline.signals.countdown import CountdownTracker
from pipeline.signals.image import Phase, SignalState, SignalTracker
from pipeline.store.models import SignalPhaseChange
from pipeline.store.signal_phases import changes_after, last_change_id, latest_changes
from streams.frame import Frame

log = logging.getLogger(__name__)

_KEPT_CHANGES = 16
"""Changes kept per head: enough to find the phase at a frame a few seconds old,
and to look back over a controller's repeats of its current phase."""
_SEEN_EVENT_IDS = 4096


@dataclass(frozen=True)
class PhaseChange:
    """One phase change of one head, as its controller reported it."""

    event_id: str
    camera_id: str
    head_id: str
    phase: Phase
    changed_at: datetime
    """When the phase began (UTC, the controller's clock)."""
    received_at: datetime
    """When it reached trafficcam (UTC)."""
    controller_id: str | None = None
    sequence: int | None = None

    @classmethod
    def from_row(cls, row: SignalPhaseChange) -> PhaseChange:
        return cls(
            event_id=row.event_id,
            camera_id=row.camera_id,
            head_id=row.head_id,
            phase=Phase(row.phase),
            changed_at=row.changed_at,
            received_at=row.received_at,
            controller_id=row.controller_id,
            sequence=row.sequence,
        )

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> PhaseChange:
        """A `signal_phase` event, checked against its JSON Schema.

        Raises:
            EventError: naming the field that does not match the schema.
        """
        validate_event(event)
        return cls(
            event_id=str(event["event_id"]),
            camera_id=str(event["camera_id"]),
            head_id=str(event["head_id"]),
            phase=Phase(event["phase"]),
            changed_at=_parse_utc(event["changed_at"]),
            received_at=_parse_utc(event["received_at"]),
            controller_id=event.get("controller_id"),
            sequence=event.get("sequence"),
        )

    @property
    def order(self) -> tuple[datetime, int]:
        return (self.changed_at, self.sequence if self.sequence is not None else -1)


def _parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class HeadFeed:
    """What the feed knows of one head: its recent changes (oldest first) and
    when the controller was last heard of."""

    changes: tuple[PhaseChange, ...]
    last_heard: datetime


class ControllerFeed:
    """The recent controller phase changes of every head; safe to share between threads.

    Followers (`TableFollower`, `KafkaFollower`) add to it; each camera's
    `CameraSignals` reads it. A change seen twice (the table and the topic carry
    the same event id) counts once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._heads: dict[tuple[str, str], HeadFeed] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._followers: list[_Follower] = []

    def add(self, change: PhaseChange) -> bool:
        """Take one change; False when it was seen before."""
        with self._lock:
            if change.event_id in self._seen:
                return False
            self._seen[change.event_id] = None
            if len(self._seen) > _SEEN_EVENT_IDS:
                self._seen.popitem(last=False)
            key = (change.camera_id, change.head_id)
            known = self._heads.get(key)
            changes = sorted((*(known.changes if known else ()), change), key=lambda c: c.order)
            heard = max(change.received_at, change.changed_at)
            if known is not None:
                heard = max(heard, known.last_heard)
            self._heads[key] = HeadFeed(tuple(changes[-_KEPT_CHANGES:]), heard)
            return True

    def head(self, camera_id: str, head_id: str) -> HeadFeed | None:
        with self._lock:
            return self._heads.get((camera_id, head_id))

    def follow(self, follower: _Follower) -> None:
        """Attach a follower; `start` runs it."""
        self._followers.append(follower)

    @property
    def followers(self) -> tuple[_Follower, ...]:
        return tuple(self._followers)

    def start(self) -> None:
        for follower in self._followers:
            follower.start()

    def stop(self) -> None:
        for follower in self._followers:
            follower.stop()


class _Follower:
    """A thread that fills a feed until stopped."""

    name = "signal-feed"

    def __init__(self, feed: ControllerFeed, camera_ids: Collection[str], poll_s: float) -> None:
        self.feed = feed
        self.camera_ids = frozenset(camera_ids)
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        raise NotImplementedError


class TableFollower(_Follower):
    """Polls `signal_phase_changes` for the cameras' new rows (the path without Kafka).

    It starts from each head's newest stored change, so a worker started in the
    middle of a phase knows it at once.
    """

    name = "signal-feed-table"

    def __init__(
        self,
        feed: ControllerFeed,
        session_factory: Callable[[], Session],
        camera_ids: Collection[str],
        *,
        poll_s: float = 0.5,
    ) -> None:
        super().__init__(feed, camera_ids, poll_s)
        self._sessions = session_factory
        self._last_id: int | None = None

    def poll(self) -> int:
        """Read what is new since the last poll into the feed; returns rows read."""
        with self._sessions() as session:
            if self._last_id is None:
                # The id first: a row stored in between is then read twice (and
                # deduplicated), never missed.
                self._last_id = last_change_id(session)
                rows = latest_changes(session, self.camera_ids)
            else:
                rows = changes_after(session, self.camera_ids, self._last_id)
            for row in rows:
                self.feed.add(PhaseChange.from_row(row))
                self._last_id = max(self._last_id, row.id)
        return len(rows)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:  # the database may be away for a moment; keep following
                self.errors += 1
                log.exception("signal feed: polling signal_phase_changes failed")
            self._stop.wait(self.poll_s)


class KafkaFollower(_Follower):
    """Reads the `signal-phases` topic into the feed.

    Every worker needs every change, so it reads without a consumer group:
    it assigns itself all partitions and starts `lookback` records before their
    end, so changes published shortly before it started are known too (Tansu's
    end offsets can under-report; starting earlier only re-reads old changes).
    """

    name = "signal-feed-kafka"

    def __init__(
        self,
        feed: ControllerFeed,
        bootstrap_servers: Sequence[str],
        topic: str,
        camera_ids: Collection[str],
        *,
        lookback: int = 200,
        poll_s: float = 0.5,
        idle_reconnect_s: float = 60.0,
    ) -> None:
        super().__init__(feed, camera_ids, poll_s)
        self.bootstrap_servers = list(bootstrap_servers)
        self.topic = topic
        self.lookback = lookback
        self.idle_reconnect_s = idle_reconnect_s
        self.assigned = threading.Event()
        """Set once the follower reads its partitions (tests wait on it)."""
        self.reconnects = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            consumer = None
            try:
                consumer = self._connect()
                if consumer is not None:
                    self._follow(consumer)
            except Exception as exc:  # broker away: reconnect after a pause, keep following
                self.errors += 1
                # Once per outage, not every retry: a dead broker would flood the log.
                if self.errors == 1 or self.assigned.is_set():
                    log.warning("signal feed: reading %s failed: %s", self.topic, exc)
                self._stop.wait(2.0)
            finally:
                self.assigned.clear()
                if consumer is not None:
                    consumer.close()

    def _connect(self) -> KafkaConsumer | None:
        """A consumer on every partition, `lookback` records before the end; None
        (after a pause) while the topic does not exist yet."""
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            # A position the broker no longer has (a restarted or truncated log)
            # restarts from the oldest record: re-reading is harmless (changes are
            # deduplicated), skipping is not.
            auto_offset_reset="earliest",
            client_id="trafficcam-signal-feed",
        )
        partitions = consumer.partitions_for_topic(self.topic)
        if not partitions:
            consumer.close()
            self._stop.wait(2.0)
            return None
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        starts = consumer.beginning_offsets(tps)
        ends = consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(starts[tp], ends[tp] - self.lookback))
        self.assigned.set()
        return consumer

    def _follow(self, consumer: KafkaConsumer) -> None:
        """Read until stopped; return (to reconnect) after `idle_reconnect_s` of silence.

        A broker that lost its log (Tansu restarted on memory storage) can leave a
        consumer fetching for ever without a record or an error, and Tansu's end
        offsets cannot be trusted to reveal it. A fresh consumer after a silent
        spell costs one connection and re-reads at most `lookback` records, which
        the feed deduplicates.
        """
        last_record = time.monotonic()
        while not self._stop.is_set():
            batches = consumer.poll(timeout_ms=int(self.poll_s * 1000))
            for records in batches.values():
                last_record = time.monotonic()
                for record in records:
                    self._take(record.value)
            if time.monotonic() - last_record > self.idle_reconnect_s:
                self.reconnects += 1
                return

    def _take(self, value: bytes | None) -> None:
        try:
            event = json.loads(value or b"")
            if not isinstance(event, dict) or event.get("camera_id") not in self.camera_ids:
                return
            self.feed.add(PhaseChange.from_event(event))
        except ValueError as exc:  # not JSON, or not a valid signal_phase event
            log.warning("signal feed: skipping a %s record: %s", self.topic, exc)


class StreamClock:
    """Maps UTC wall-clock times onto one camera's stream time.

    Each frame gives wall_time - pts; the smallest offset over the last
    `window_s` of stream time is the frame delivered with the least delay, the
    best estimate of when pixels were captured (decode jitter only adds delay).
    """

    def __init__(self, window_s: float = 10.0) -> None:
        self.window_s = window_s
        self._offsets: deque[tuple[float, float]] = deque()

    def observe(self, frame: Frame) -> None:
        offset = frame.wall_time.timestamp() - frame.pts
        # Keep the window's minimum at the front: later larger offsets cannot be it.
        while self._offsets and self._offsets[-1][1] >= offset:
            self._offsets.pop()
        self._offsets.append((frame.pts, offset))
        while frame.pts - self._offsets[0][0] > self.window_s:
            self._offsets.popleft()

    @property
    def offset(self) -> float:
        if not self._offsets:
            raise RuntimeError("no frame observed yet")
        return self._offsets[0][1]

    def to_stream(self, moment: datetime) -> float:
        """Stream time (s) of the UTC moment."""
        return moment.timestamp() - self.offset

    def to_wall(self, pts: float) -> datetime:
        """UTC wall-clock time of the stream time `pts`."""
        return datetime.fromtimestamp(pts + self.offset, UTC)


class HeadSignal:
    """One head's state per frame: image reading, controller feed, or both (see module doc)."""

    def __init__(self, camera_id: str, head: SignalHead, feed: ControllerFeed | None) -> None:
        self.camera_id = camera_id
        self.head = head
        self.feed = feed if head.source != "image" else None
        self.image = (
            SignalTracker(
                head.region,
                lamps={Phase(colour): at for colour, at in head.lamps.items()},
                arrow=head.kind == "arrow",
            )
            if head.region is not None and head.source != "controller"
            else None
        )
        self.stale_after = timedelta(seconds=head.controller_stale_s)
        self.delay = timedelta(seconds=head.controller_delay_s)
        # The digits change once a second: every third frame is enough.
        self.countdown = (
            CountdownTracker(head.countdown, every=3) if head.countdown is not None else None
        )

    def update(self, frame: Frame, clock: StreamClock) -> SignalState:
        state = self._state(frame, clock)
        if self.countdown is not None:
            state = replace(state, countdown=self.countdown.update(frame.image, frame.pts))
        return state

    def _state(self, frame: Frame, clock: StreamClock) -> SignalState:
        image_state = self.image.update(frame.image, frame.pts) if self.image else None
        controller_state = self._controller_state(clock.to_wall(frame.pts), clock)
        if controller_state is not None:
            return controller_state
        if self.head.source == "controller":
            return SignalState(Phase.UNKNOWN, None, "controller")
        return image_state or SignalState(Phase.UNKNOWN, None)

    def controller_fresh(self, at: datetime) -> bool:
        known = self.feed.head(self.camera_id, self.head.id) if self.feed else None
        return known is not None and at - known.last_heard <= self.stale_after

    def _controller_state(self, at: datetime, clock: StreamClock) -> SignalState | None:
        """The controller's phase at wall time `at`, or None without a fresh feed."""
        known = self.feed.head(self.camera_id, self.head.id) if self.feed else None
        if known is None or at - known.last_heard > self.stale_after:
            return None
        # A change is on screen from `changed_at + delay` in decode-time terms.
        shown = [change for change in known.changes if change.changed_at + self.delay <= at]
        if not shown:
            return None  # every change known is newer than this frame
        current = shown[-1]
        if current.phase is Phase.UNKNOWN:
            return SignalState(Phase.UNKNOWN, None, "controller", current.changed_at)
        # A controller may repeat its phase to show it is alive: the phase began
        # at the first of an unbroken run of the same phase.
        began = current
        for change in reversed(shown[:-1]):
            if change.phase is not current.phase:
                break
            began = change
        return SignalState(
            current.phase,
            clock.to_stream(began.changed_at + self.delay),
            "controller",
            began.changed_at,
        )


class CameraSignals:
    """Every signal head of one camera, one `SignalState` each per frame."""

    def __init__(self, camera: CameraConfig, feed: ControllerFeed | None = None) -> None:
        self.clock = StreamClock()
        self.heads = {
            head.id: HeadSignal(camera.id, head, feed) for head in camera.scene.signal_heads
        }
        self.states: dict[str, SignalState] = {}
        """Each head's state on the newest frame."""

    def update(self, frame: Frame) -> dict[str, SignalState]:
        self.clock.observe(frame)
        self.states = {
            head_id: head.update(frame, self.clock) for head_id, head in self.heads.items()
        }
        return self.states


def signal_measurements(state: SignalState, t: float) -> dict[str, Any]:
    """What a violation records of the signal state it was judged on, at stream time `t`.

    `signal_source` says whether the controller or the image gave the phase;
    `signal_time_in_phase_s` how long the phase had been showing at `t`. A head with
    a countdown display adds `countdown_s` (the seconds it showed at `t`, counted on
    from the nearest reading, within 3 s of it; None when unread), `countdown_colour`
    (the digits' colour) and `countdown_agrees` (whether that colour is the phase's).
    """
    in_phase = state.time_in_phase(t)
    out: dict[str, Any] = {
        "signal_source": state.source,
        "signal_time_in_phase_s": None if in_phase is None else round(in_phase, 3),
    }
    if state.changed_at is not None:
        out["signal_changed_at_utc"] = state.changed_at.isoformat().replace("+00:00", "Z")
    countdown = state.countdown
    if countdown is not None:
        left = countdown.shown_at(t)
        out["countdown_s"] = left
        out["countdown_colour"] = countdown.colour.value if left is not None else None
        out["countdown_agrees"] = (
            countdown.colour is state.phase
            if left is not None and countdown.colour is not Phase.UNKNOWN
            else None
        )
    return out


def controller_feed_for(
    config: AppConfig, session_factory: Callable[[], Session] | None
) -> ControllerFeed | None:
    """The feed a worker follows for `config`'s cameras; None when no head uses a controller.

    It polls the table when a database is given (the API stores every change
    there, so this works without Kafka and while Kafka is down), and reads the
    `signal-phases` topic when Kafka is configured (which also carries controllers
    that publish there directly). A change arriving both ways counts once.
    """
    camera_ids = [
        camera.id
        for camera in config.cameras
        if any(head.source != "image" for head in camera.scene.signal_heads)
    ]
    if not camera_ids:
        return None
    feed = ControllerFeed()
    if session_factory is not None:
        feed.follow(TableFollower(feed, session_factory, camera_ids))
    if config.kafka is not None:
        feed.follow(
            KafkaFollower(
                feed, config.kafka.bootstrap_servers, config.kafka.topics.signal_phases, camera_ids
            )
        )
    return feed
