"""A keyframe-aligned ring buffer of *encoded* packets, and clips cut from it by stream copy.

Decoded history is expensive (a 720p BGR frame is 2.7 MB, ten seconds at 15 fps
are 400 MB); the packets that made those frames are a few MB. Keeping packets
means a pre/post-event clip is a remux, never a re-encode: the evidence is
bit-for-bit what the camera sent.

The buffer holds whole groups of pictures (a keyframe and the packets up to the
next one), so every clip can start at a keyframe and decodes from its first
packet. Times are the source's stream time (the ``pts`` of
:class:`~streams.frame.Frame`), so a rule's timestamps can ask for a clip directly.

Example:
    >>> ring = PacketRing(seconds=10.0)  # doctest: +SKIP
    >>> future = ring.clip(event_t - 5, event_t + 5, Path("clip.mp4"))  # doctest: +SKIP
    >>> future.result(timeout=15).path  # doctest: +SKIP
"""

from __future__ import annotations

import io
import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av

log = logging.getLogger(__name__)

# Writing a clip is file I/O plus a remux: cheap, but never on a reader thread.
# One small pool for every camera, so many cameras do not mean many idle threads.
_WRITERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="clip-writer")


class ClipError(RuntimeError):
    """A clip that cannot be written (nothing buffered for the span, or a write error)."""


@dataclass(frozen=True, slots=True, eq=False)
class Segment:
    """One connection's codec set-up: packets of different segments never share a file.

    ``template`` is a tiny in-memory Matroska file holding the stream's codec
    parameters and first keyframe. The demuxer's own stream object dies with its
    connection; a copy that can be reopened at any time lets a clip be written
    long after the camera reconnected.
    """

    template: bytes
    time_base: Fraction


@dataclass(frozen=True, slots=True, eq=False)
class BufferedPacket:
    """One encoded packet, detached from the demuxer (its bytes are copied)."""

    data: bytes
    pts: int | None
    dts: int | None
    duration: int
    keyframe: bool
    t: float
    wall_time: datetime


@dataclass(eq=False)
class _Gop:
    segment: Segment
    packets: list[BufferedPacket] = field(default_factory=list)
    nbytes: int = 0

    @property
    def start_t(self) -> float:
        return self.packets[0].t


@dataclass(frozen=True, slots=True)
class Clip:
    """A written clip.

    Attributes:
        path: The MP4 file.
        t_start: Stream time of the first packet (a keyframe, at or before the request).
        t_end: Stream time of the last packet.
        wall_start: UTC time the first packet arrived.
        wall_end: UTC time the last packet arrived.
        packets: Packets written.
        complete: True when the clip covers the whole requested span; False
            when the buffer no longer reached back that far or the stream was
            lost before the span ended.
    """

    path: Path
    t_start: float
    t_end: float
    wall_start: datetime
    wall_end: datetime
    packets: int
    complete: bool


@dataclass(eq=False)
class _Request:
    t_from: float
    t_to: float
    path: Path
    future: Future[Clip]


class PacketRing:
    """The last ``seconds`` of encoded packets, cut at keyframes.

    The reader thread calls :meth:`start_segment` for each connection and
    :meth:`append` for each packet; anyone may call :meth:`clip`. Appending is
    a lock, a list append and (once per keyframe) a trim: no I/O.

    Args:
        seconds: History to keep. The oldest keyframe kept is at or before
            ``newest - seconds``, so a clip reaching back ``seconds`` always
            finds its keyframe.
    """

    def __init__(self, seconds: float = 10.0) -> None:
        if seconds <= 0:
            raise ValueError("ring buffer seconds must be positive")
        self.seconds = seconds
        self._lock = threading.Lock()
        self._gops: deque[_Gop] = deque()
        self._nbytes = 0
        self._segment: Segment | None = None
        self._stream: av.VideoStream | None = None
        self._newest_t: float | None = None
        self._pending: list[_Request] = []
        self.unsupported: str | None = None
        """Why this stream's packets cannot be kept for clips, once found out."""

    # -- reader side ---------------------------------------------------------

    def start_segment(self, stream: av.VideoStream) -> None:
        """A new connection: packets from now on use ``stream``'s codec set-up."""
        with self._lock:
            self._stream, self._segment = stream, None
        self._flush_pending()  # what the last connection left will never be continued

    def end_segment(self) -> None:
        """The connection was lost: write waiting clips with what there is."""
        with self._lock:
            self._stream, self._segment = None, None
        self._flush_pending()

    def append(self, packet: av.Packet, t: float, wall_time: datetime) -> None:
        """Keep one demuxed packet at stream time ``t``.

        Packets before a connection's first keyframe are skipped: nothing could
        decode them.
        """
        if packet.size == 0 or packet.time_base is None:
            return
        keyframe = bool(packet.is_keyframe)
        with self._lock:
            if self.unsupported is not None:
                return
            if self._segment is None:
                if not keyframe or self._stream is None:
                    return
                try:
                    template = _codec_template(self._stream, packet)
                except (ValueError, av.FFmpegError) as exc:
                    # An old codec (e.g. MS-MPEG4 in an AVI) that containers refuse
                    # to copy: the camera still runs, only without clips.
                    self.unsupported = f"codec {self._stream.codec_context.name!r}: {exc}"
                    log.warning("no clips for this stream: %s", self.unsupported)
                    return
                self._segment = Segment(template, packet.time_base)
            item = BufferedPacket(
                bytes(packet),
                packet.pts,
                packet.dts,
                packet.duration or 0,
                keyframe,
                t,
                wall_time,
            )
            if keyframe or not self._gops or self._gops[-1].segment is not self._segment:
                self._gops.append(_Gop(self._segment))
                self._trim(t)
            gop = self._gops[-1]
            gop.packets.append(item)
            gop.nbytes += len(item.data)
            self._nbytes += len(item.data)
            self._newest_t = t if self._newest_t is None else max(self._newest_t, t)
            ready = [r for r in self._pending if r.t_to < t]
            if ready:
                self._pending = [r for r in self._pending if r.t_to >= t]
        for request in ready:
            self._submit(request)

    def _trim(self, newest_t: float) -> None:
        # Called with the lock held, when a new GOP starts.
        horizon = newest_t - self.seconds
        while len(self._gops) > 2 and self._gops[1].start_t <= horizon:
            self._nbytes -= self._gops.popleft().nbytes

    # -- anyone --------------------------------------------------------------

    @property
    def nbytes(self) -> int:
        """Bytes of packet data held (the buffer's memory, less small per-packet overhead)."""
        with self._lock:
            return self._nbytes

    @property
    def span(self) -> tuple[float, float] | None:
        """Stream times of the oldest and newest packet held, or None when empty."""
        with self._lock:
            if not self._gops or self._newest_t is None:
                return None
            return self._gops[0].start_t, self._newest_t

    def clip(self, t_from: float, t_to: float, path: Path) -> Future[Clip]:
        """Write stream times ``t_from`` to ``t_to`` to an MP4 file, by stream copy.

        Returns at once. The file is written on a writer thread as soon as a
        packet later than ``t_to`` has arrived (or at once if one already has;
        or when the stream is lost, with what there is). It starts at the
        keyframe at or before ``t_from``.

        Args:
            t_from: Start, in the source's stream time (``Frame.pts``).
            t_to: End, in the same time.
            path: Where to write; the parent directory must exist.

        Returns:
            A future for the :class:`Clip`; it fails with :class:`ClipError`
            when nothing of the span is buffered.
        """
        if t_to < t_from:
            raise ValueError(f"clip ends ({t_to}) before it starts ({t_from})")
        request = _Request(t_from, t_to, Path(path), Future())
        if self.unsupported is not None:
            request.future.set_exception(ClipError(f"clips unavailable: {self.unsupported}"))
            return request.future
        with self._lock:
            waiting = self._newest_t is None or self._newest_t <= t_to
            if waiting and self._stream is not None:
                self._pending.append(request)
                return request.future
        self._submit(request)
        return request.future

    def close(self) -> None:
        """Write waiting clips now (the source is stopping)."""
        self.end_segment()

    # -- writing -------------------------------------------------------------

    def _flush_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for request in pending:
            self._submit(request)

    def _submit(self, request: _Request) -> None:
        with self._lock:
            selection = self._select(request.t_from, request.t_to)
        if selection is None:
            request.future.set_exception(
                ClipError(
                    f"nothing buffered for {request.t_from:.2f}-{request.t_to:.2f} s "
                    f"(held: {self._describe_span()})"
                )
            )
            return
        segment, packets, complete = selection

        def write() -> None:
            try:
                _write_mp4(request.path, segment, packets)
            except Exception as exc:  # noqa: BLE001 - reported through the future
                request.future.set_exception(ClipError(f"cannot write {request.path}: {exc}"))
                return
            request.future.set_result(
                Clip(
                    path=request.path,
                    t_start=packets[0].t,
                    t_end=packets[-1].t,
                    wall_start=packets[0].wall_time,
                    wall_end=packets[-1].wall_time,
                    packets=len(packets),
                    complete=complete,
                )
            )

        _WRITERS.submit(write)

    def _select(
        self, t_from: float, t_to: float
    ) -> tuple[Segment, list[BufferedPacket], bool] | None:
        # Called with the lock held. Copies references only: packets are immutable.
        gops = list(self._gops)
        at_or_before = [i for i, gop in enumerate(gops) if gop.start_t <= t_from]
        if at_or_before:
            start = at_or_before[-1]
        elif gops and gops[0].start_t <= t_to:
            start = 0  # the buffer does not reach back to t_from: begin at its oldest
        else:
            start = None
        if start is None:
            return None
        segment = self._gops[start].segment
        packets: list[BufferedPacket] = []
        reached_end = False
        for gop in gops[start:]:
            if gop.segment is not segment:
                break
            if gop.start_t > t_to:
                reached_end = True
                break
            packets.extend(p for p in gop.packets if p.t <= t_to)
            reached_end = reached_end or gop.packets[-1].t > t_to
        complete = reached_end and gops[start].start_t <= t_from
        return segment, packets, complete

    def _describe_span(self) -> str:
        span = self.span
        return "nothing" if span is None else f"{span[0]:.2f}-{span[1]:.2f} s"


def _codec_template(stream: av.VideoStream, keyframe: av.Packet) -> bytes:
    """Codec parameters and one keyframe, as a small Matroska file in memory.

    The keyframe is there because opening a file probes its first packet; a
    header alone does not open.
    """
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        copy = out.add_stream_from_template(stream)
        packet = av.Packet(bytes(keyframe))
        packet.pts, packet.dts = 0, 0
        packet.time_base = keyframe.time_base
        packet.is_keyframe = True
        packet.stream = copy
        out.mux(packet)
    return buffer.getvalue()


def _write_mp4(path: Path, segment: Segment, packets: list[BufferedPacket]) -> None:
    """Remux ``packets`` into ``path``, timestamps shifted to start at zero."""
    pts, dts = _timestamps(packets, segment.time_base)
    origin = dts[0]
    partial = path.with_name(path.name + ".part")
    with (
        av.open(io.BytesIO(segment.template)) as template,
        av.open(str(partial), "w", format="mp4") as out,
    ):
        stream = out.add_stream_from_template(template.streams.video[0])
        # The template went through Matroska's millisecond clock; the camera's own
        # time base keeps frames a few ms apart from colliding.
        stream.time_base = segment.time_base
        for item, item_pts, item_dts in zip(packets, pts, dts, strict=True):
            packet = av.Packet(item.data)
            packet.pts, packet.dts = item_pts - origin, item_dts - origin
            packet.duration = item.duration
            packet.time_base = segment.time_base
            packet.is_keyframe = item.keyframe
            packet.stream = stream
            out.mux(packet)
    # Renamed only when complete, so a reader never sees half a clip.
    partial.replace(path)


def _timestamps(packets: list[BufferedPacket], time_base: Fraction) -> tuple[list[int], list[int]]:
    """Presentation and decode timestamps the MP4 muxer accepts.

    An RTSP connection's first packet comes without timestamps (the RTCP sender
    report that dates it has not arrived), and some cameras repeat a DTS. Gaps
    are filled from the packet's stream time; DTS is made strictly increasing
    and never after PTS.
    """
    anchor = next((p for p in packets if p.pts is not None), None)
    # Ticks between a packet's stream time and its own PTS, to date the undated ones.
    shift = 0 if anchor is None or anchor.pts is None else anchor.pts - round(anchor.t / time_base)
    pts_out: list[int] = []
    dts_out: list[int] = []
    last_dts: int | None = None
    for item in packets:
        pts = item.pts if item.pts is not None else round(item.t / time_base) + shift
        dts = item.dts if item.dts is not None else pts
        if last_dts is not None and dts <= last_dts:
            dts = last_dts + 1
        pts_out.append(max(pts, dts))
        dts_out.append(dts)
        last_dts = dts
    return pts_out, dts_out
