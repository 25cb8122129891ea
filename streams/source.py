"""Camera sources on PyAV: files, RTSP and HTTP, read by one thread per source.

PyAV rather than ``cv2.VideoCapture``: it has open/read timeouts, fails with a
clean error when a camera drops, and can be reopened; VideoCapture blocks for
half a minute and does not recover.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import av

from streams.backoff import Backoff
from streams.channel import Channel
from streams.clock import clock_sync_status
from streams.frame import Frame
from streams.ringbuffer import Clip, PacketRing
from streams.stats import FpsMeter, SourceState, SourceStats
from streams.timeline import Sampler, Timeline

log = logging.getLogger(__name__)

NETWORK_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "http", "https", "tcp", "udp", "srt"})
RTSP_TRANSPORTS = frozenset({"tcp", "udp"})
# Batch mode keeps a few decoded frames ready so the consumer never waits for
# the decoder; more would only cost memory (a 1080p BGR frame is 6 MB).
BATCH_QUEUE_FRAMES = 4
# The pause before reconnecting to a stream that was delivering: enough to not spin
# on a server that accepts, sends a frame and drops, far below any backoff step.
IMMEDIATE_RETRY_S = 0.05


def is_network_url(url: str) -> bool:
    """True for URLs read over the network (they reconnect instead of ending)."""
    return urlsplit(url).scheme.lower() in NETWORK_SCHEMES


def redact_url(url: str) -> str:
    """The URL without its password, fit for logs and health reports.

    Example:
        >>> redact_url("rtsp://admin:secret@10.0.0.5:554/ch1")
        'rtsp://admin:***@10.0.0.5:554/ch1'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _check_arguments(
    url: str,
    rtsp_transport: str,
    timeouts: tuple[float, float],
    buffer_seconds: float,
    recorded_at: datetime | None,
) -> None:
    if rtsp_transport not in RTSP_TRANSPORTS:
        raise ValueError(f"rtsp_transport must be one of {sorted(RTSP_TRANSPORTS)}")
    if min(timeouts) <= 0:
        raise ValueError("timeouts must be positive")
    if buffer_seconds < 0:
        raise ValueError("buffer_seconds must not be negative")
    if recorded_at is not None and (is_network_url(url) or recorded_at.tzinfo is None):
        raise ValueError("recorded_at needs a file source and a time zone-aware time")


class _StreamEnded(Exception):
    """Raised inside the reader when a file ends for good (not an error)."""


class StreamSource:
    """Reads one camera (or video file) on a thread and hands out sampled frames.

    Every frame is decoded; frames are kept at ``analysis_fps`` judged by their
    timestamps. How they reach the consumer depends on the source:

    * **live** (network URLs, or files with ``realtime=True``, which are paced to
      their timestamps): latest-frame semantics. One frame waits; a newer one
      replaces it and the old one is counted in ``stats.dropped``.
    * **batch** (files with ``realtime=False``): a small bounded queue with
      back-pressure, decoded as fast as the consumer reads, nothing dropped.

    A network stream that fails, stalls past ``read_timeout_s`` or ends is
    reopened forever: at once when the connection had been delivering frames,
    then with exponential backoff and jitter capped at ``backoff_max_s``. No
    exception leaves the reader thread; failures show in :attr:`stats` as
    ``offline`` with a reason.

    Args:
        camera_id: Name carried by every frame.
        url: A file path, or an ``rtsp://``, ``rtsps://`` or ``http(s)://`` URL.
        analysis_fps: Frames per second to keep (positive).
        loop: Restart a file at its end; stream time keeps increasing.
        realtime: Pace a file to its timestamps and treat it as live.
        rtsp_transport: ``"tcp"`` (default; no loss on busy links) or ``"udp"``.
        open_timeout_s: Give up connecting after this long.
        read_timeout_s: Treat a stream as lost after this long without data.
        backoff_initial_s: First delay before reconnecting.
        backoff_max_s: Longest delay between reconnect attempts; a stream that
            comes back is picked up within about this long.
        buffer_seconds: Encoded history kept for :meth:`clip` (0 keeps none).
        recorded_at: For a file whose capture time is known: the wall-clock time of
            its first frame. Frames are then stamped ``recorded_at`` plus their
            stream time instead of their decode time, so time windows (banned
            hours) are judged at the moment the video shows.

    Example:
        >>> with StreamSource("cam1", "clip.mp4", analysis_fps=5) as src:  # doctest: +SKIP
        ...     while not src.finished:
        ...         frame = src.read(timeout=1.0)
    """

    def __init__(
        self,
        camera_id: str,
        url: str,
        *,
        analysis_fps: float,
        loop: bool = False,
        realtime: bool = False,
        rtsp_transport: str = "tcp",
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 4.0,
        buffer_seconds: float = 10.0,
        recorded_at: datetime | None = None,
    ) -> None:
        _check_arguments(
            url, rtsp_transport, (open_timeout_s, read_timeout_s), buffer_seconds, recorded_at
        )
        self.camera_id = camera_id
        self.url = url
        self.analysis_fps = analysis_fps
        self.loop = loop
        self.network = is_network_url(url)
        self.recorded_at = recorded_at
        self.live = self.network or realtime
        self._rtsp_transport = rtsp_transport
        self._timeouts = (open_timeout_s, read_timeout_s)
        self._backoff = Backoff(backoff_initial_s, backoff_max_s)
        self._sampler = Sampler(analysis_fps)
        self._timeline = Timeline()
        self._channel: Channel[Frame] = (
            Channel(capacity=1, drop_oldest=True)
            if self.live
            else Channel(capacity=BATCH_QUEUE_FRAMES, drop_oldest=False)
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # guards the counters below
        self._state = SourceState.STARTING
        self._reason = ""
        self._frames_decoded = 0
        self._frames_delivered = 0
        self._reconnects = 0
        self._decode_errors = 0
        self._last_frame_wall_time: datetime | None = None
        self._fps = FpsMeter()
        self._size: tuple[int, int] | None = None
        self._seq = 0
        self._bytes_received = 0
        self._header_fps: float | None = None
        self._latest: Frame | None = None
        self.ring = PacketRing(buffer_seconds) if buffer_seconds > 0 else None
        # Read once: the host's NTP state is a property of the whole run, not of a frame.
        self.clock_sync = clock_sync_status()
        # Realtime pacing: the monotonic time at which stream time 0.0 is due.
        self._pace_origin: float | None = None
        # Whether the current (or just ended) connection decoded a frame.
        self._connection_delivered = False

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> StreamSource:
        """Start the reader thread (once). Returns self for chaining."""
        if self._thread is not None:
            raise RuntimeError("source already started")
        self._thread = threading.Thread(
            target=self._run, name=f"stream-{self.camera_id}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop reading and wait for the thread.

        The thread checks for stop between packets, so the wait is bounded by
        the open/read timeouts of a call to the network already under way.
        """
        self._stop.set()
        self._channel.close()
        if self._thread is not None:
            self._thread.join(timeout=sum(self._timeouts) + 2.0)
            if self._thread.is_alive():
                log.warning("camera %s: reader thread did not stop in time", self.camera_id)

    def __enter__(self) -> StreamSource:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- consumer side -------------------------------------------------------

    def read(self, timeout: float) -> Frame | None:
        """The next sampled frame, or None if none came within ``timeout`` seconds.

        In live mode this is the newest frame; older unread ones were dropped.
        """
        frame = self._channel.get(timeout)
        if frame is not None:
            with self._lock:
                self._frames_delivered += 1
        return frame

    @property
    def latest_frame(self) -> Frame | None:
        """The newest sampled frame, read or not (for health checks; never consumed)."""
        with self._lock:
            return self._latest

    def clip(self, t_from: float, t_to: float, path: Path) -> Future[Clip]:
        """Write stream times ``t_from``..``t_to`` to an MP4 by stream copy.

        See :meth:`streams.ringbuffer.PacketRing.clip`; returns at once.

        Raises:
            RuntimeError: The source keeps no buffer (``buffer_seconds=0``).
        """
        if self.ring is None:
            raise RuntimeError(f"camera {self.camera_id}: no packet buffer (buffer_seconds=0)")
        return self.ring.clip(t_from, t_to, path)

    @property
    def finished(self) -> bool:
        """True once no frame will ever come again and all were read.

        That is: a non-looping file reached its end (or could not be read), or
        :meth:`stop` was called. A network stream never finishes by itself.
        """
        return self._channel.drained

    @property
    def stats(self) -> SourceStats:
        """A consistent snapshot of state and counters."""
        with self._lock:
            return SourceStats(
                state=self._state,
                reason=self._reason,
                frames_decoded=self._frames_decoded,
                frames_delivered=self._frames_delivered,
                dropped=self._channel.dropped,
                reconnects=self._reconnects,
                decode_errors=self._decode_errors,
                last_frame_wall_time=self._last_frame_wall_time,
                input_fps=self._fps.fps,
                width=self._size[0] if self._size else None,
                height=self._size[1] if self._size else None,
                header_fps=self._header_fps,
                bytes_received=self._bytes_received,
                clock_sync=self.clock_sync,
            )

    # -- reader thread -------------------------------------------------------

    def _run(self) -> None:
        connections = 0
        try:
            while not self._stop.is_set():
                self._connection_delivered = False
                try:
                    delivered = self._read_connection(reconnect=connections > 0)
                    connections += 1
                    if self._stop.is_set():
                        return
                    if delivered:
                        self._backoff.reset()
                    if not self.network:
                        if self.loop and delivered:
                            self._timeline.restart(follow_wall_clock=False)
                            continue
                        raise _StreamEnded("end of file")
                    self._set_offline("end of stream")
                except _StreamEnded as ended:
                    self._set_offline(str(ended))
                    return
                except Exception as exc:  # noqa: BLE001 - any failure is a state, never a crash
                    self._set_offline(self._describe(exc))
                    if not self.network:
                        return  # a file that cannot be read will not heal
                self._stop.wait(self._retry_delay())
        finally:
            if self._stop.is_set():
                self._set_offline("stopped")
            if self.ring is not None:
                self.ring.close()
            self._channel.close()

    def _retry_delay(self) -> float:
        """Seconds to wait before reconnecting.

        A connection that delivered frames and then broke (garbage on the socket, a
        stall, a clean end) is retried at once: the camera was just there, and every
        tenth of a second waited is video lost. Only attempts that deliver nothing
        back off, so a dead camera is not hammered.
        """
        if self._connection_delivered:
            return IMMEDIATE_RETRY_S
        return self._backoff.next_delay()

    def _open(self) -> av.container.InputContainer:
        options: dict[str, str] = {}
        if urlsplit(self.url).scheme.lower() in {"rtsp", "rtsps"}:
            options["rtsp_transport"] = self._rtsp_transport
            # FFmpeg otherwise reads about 2 s of frames to estimate the frame rate
            # (which the SDP and our own timestamps give anyway) and then hands them
            # over at once: a live source would drop them all as stale, and every
            # start or reconnect would take 2 s longer and look like analysis falling
            # behind. Codec parameters are still probed as usual.
            options["fpsprobesize"] = "0"
        try:
            return av.open(self.url, mode="r", options=options, timeout=self._timeouts)
        except av.ExitError as exc:
            # PyAV reports its own timeout as "Immediate exit requested".
            raise TimeoutError(f"no answer within {self._timeouts[0]:g} s") from exc

    def _packets(
        self, container: av.container.InputContainer, stream: av.VideoStream
    ) -> Iterator[av.Packet]:
        read_timeout = self._timeouts[1]
        packets = container.demux(stream)
        while True:
            asked = time.monotonic()
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.ExitError as exc:
                raise TimeoutError(f"no data for {read_timeout:g} s") from exc
            if self.network and time.monotonic() - asked >= read_timeout:
                # FFmpeg's read was interrupted at the timeout but handed back what it
                # had (garbage on an RTSP/TCP socket does this) instead of failing;
                # waiting for the next timeout would double the outage.
                raise TimeoutError(f"no data for {read_timeout:g} s")
            yield packet

    def _read_connection(self, reconnect: bool) -> bool:
        """Open the URL once and decode until it ends; True if a frame was decoded."""
        first = True
        with self._open() as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            if not self.live:
                # Frame threads add latency, which only matters for live streams.
                stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate
            with self._lock:
                self._header_fps = float(rate) if rate else None
            if self.ring is not None:
                self.ring.start_segment(stream)
            try:
                for packet in self._packets(container, stream):
                    if self._stop.is_set():
                        break
                    with self._lock:
                        self._bytes_received += packet.size
                    try:
                        frames = packet.decode()
                    except av.FFmpegError:
                        # One bad packet (bit errors, a lost RTP packet) is not a
                        # lost stream: count it and go on to the next keyframe.
                        with self._lock:
                            self._decode_errors += 1
                        frames = []
                    for frame in frames:
                        if first:
                            first = False
                            self._connection_delivered = True
                            # This connection works: whatever ends it later (a stall,
                            # garbage, a clean end) retries from the shortest delay, not
                            # from where the outages before it had left the backoff.
                            self._backoff.reset()
                            if reconnect and self.network:
                                self._timeline.restart(follow_wall_clock=True)
                                with self._lock:
                                    self._reconnects += 1
                        if not self._on_frame(frame) or self._stop.is_set():
                            return not first
                    if self.ring is not None:
                        self._buffer(packet)
            finally:
                if self.ring is not None:
                    self.ring.end_segment()
        return not first

    def _buffer(self, packet: av.Packet) -> None:
        """Keep the packet for clips, timed on the clock its frames were put on."""
        assert self.ring is not None
        source_time = (
            float(packet.pts * packet.time_base)
            if packet.pts is not None and packet.time_base is not None
            else None
        )
        t = self._timeline.peek(source_time)
        if t is None:
            t = self._timeline.last
        if t is None:
            return  # before the first frame ever: no clock to put it on yet
        self.ring.append(packet, t, datetime.now(UTC))

    def _on_frame(self, frame: av.VideoFrame) -> bool:
        """Time, sample and hand over one decoded frame; False once the consumer is gone."""
        pts = self._timeline.map(frame.time, time.monotonic())
        if self._pace_origin is None:
            self._pace_origin = time.monotonic() - pts
        if not self.network and self.live:
            self._stop.wait(max(0.0, self._pace_origin + pts - time.monotonic()))
        decoded_at = datetime.now(UTC)
        wall_time = (
            decoded_at
            if self.recorded_at is None
            else (self.recorded_at + timedelta(seconds=pts)).astimezone(UTC)
        )
        with self._lock:
            if self._state is not SourceState.ONLINE:
                log.info("camera %s: online", self.camera_id)
            self._state, self._reason = SourceState.ONLINE, ""
            self._frames_decoded += 1
            self._last_frame_wall_time = decoded_at  # the source's health: when, not what
            self._size = (frame.width, frame.height)
            self._fps.add(pts)
        if not self._sampler.take(pts):
            return True
        # Colour conversion only for kept frames: it costs more than decoding.
        image = frame.to_ndarray(format="bgr24")
        with self._lock:
            seq, self._seq = self._seq, self._seq + 1
            sampled = Frame(self.camera_id, seq, pts, wall_time, image)
            self._latest = sampled
        return self._channel.put(sampled)

    def _set_offline(self, reason: str) -> None:
        with self._lock:
            if self._state is not SourceState.OFFLINE or self._reason != reason:
                log.warning("camera %s: offline (%s)", self.camera_id, reason)
            self._state, self._reason = SourceState.OFFLINE, reason
            self._fps.reset()

    def _describe(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}"
        return text.replace(self.url, redact_url(self.url))
