"""The clip of a violation: asked of the camera's packet ring buffer when the finding
is made, collected by the recorder when it has been written.

The worker asks at once (`request_clip`, a few microseconds, no I/O) so the ring
still holds the seconds before the offence; the ring's writer pool stream-copies
the MP4 once the seconds after it have arrived. The recorder, on its own thread,
waits for that file (`collect_clip`) and puts it in the evidence package, or
records in the manifest why there is none: a missing clip never loses the
violation.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.ringbuffer import Clip
from streams.source import StreamSource

log = logging.getLogger(__name__)

CLIP_NAME = "clip.mp4"
CLIPS_DIR = "_clips"
# Beyond the seconds after the offence: a reader that lags behind real time, and the
# stream being declared lost (the ring then writes what it has).
_WAIT_MARGIN_S = 30.0


@dataclass(frozen=True)
class PendingClip:
    """A clip asked for, or the reason none could be.

    Attributes:
        t_from: Requested start, stream seconds.
        t_to: Requested end, stream seconds.
        path: Staging file the ring writes (under `<evidence.path>/_clips/`).
        future: Resolves to the written clip; None when no clip could be asked for.
        missing_reason: Why there is no clip, when `future` is None.
    """

    t_from: float
    t_to: float
    path: Path | None = None
    future: Future[Clip] | None = None
    missing_reason: str | None = None


@dataclass(frozen=True)
class CollectedClip:
    """What the package gets: the MP4 bytes (or None) and the manifest's `clip` block."""

    data: bytes | None
    manifest: dict[str, Any]


def request_clip(
    source: StreamSource | None,
    offence_t: float,
    *,
    before_s: float,
    after_s: float,
    buffer_seconds: float,
    staging_dir: Path,
) -> PendingClip:
    """Ask the camera's ring for `before_s` .. `after_s` around the offence.

    `before_s` is cut to the ring's `buffer_seconds`: it cannot hold more.
    """
    before = min(before_s, buffer_seconds)
    t_from, t_to = max(0.0, offence_t - before), offence_t + after_s
    if source is None:
        return PendingClip(t_from, t_to, missing_reason="no camera source to cut a clip from")
    if source.ring is None:
        return PendingClip(
            t_from, t_to, missing_reason="the camera keeps no video buffer (buffer_seconds: 0)"
        )
    staging_dir.mkdir(parents=True, exist_ok=True)
    path = staging_dir / f"{uuid.uuid4()}.mp4"
    try:
        future = source.clip(t_from, t_to, path)
    except (RuntimeError, ValueError) as exc:
        return PendingClip(t_from, t_to, missing_reason=f"clip not requested: {exc}")
    return PendingClip(t_from, t_to, path, future)


def collect_clip(pending: PendingClip | None, *, after_s: float) -> CollectedClip:
    """Wait for the clip (at most `after_s` plus a margin) and read it.

    The staging file is removed once read; a clip that arrives after the wait
    gave up removes itself when it is written.
    """
    if pending is None:
        return CollectedClip(None, {"status": "missing", "reason": "no clip was requested"})
    window = {
        "requested_from_stream_s": round(pending.t_from, 3),
        "requested_to_stream_s": round(pending.t_to, 3),
    }
    if pending.future is None or pending.path is None:
        return CollectedClip(
            None, {"status": "missing", "reason": pending.missing_reason, **window}
        )
    try:
        clip = pending.future.result(timeout=after_s + _WAIT_MARGIN_S)
    except FutureTimeout:
        pending.future.add_done_callback(lambda _f: _remove(pending.path))
        reason = f"not written within {after_s + _WAIT_MARGIN_S:.0f} s"
        log.warning("clip %s: %s; the package goes without it", pending.path.name, reason)
        return CollectedClip(None, {"status": "missing", "reason": reason, **window})
    except Exception as exc:  # ClipError and write errors: the violation stands without it
        _remove(pending.path)
        log.warning("clip %s: %s; the package goes without it", pending.path.name, exc)
        return CollectedClip(None, {"status": "missing", "reason": str(exc), **window})
    try:
        data = clip.path.read_bytes()
    except OSError as exc:
        return CollectedClip(
            None, {"status": "missing", "reason": f"unreadable: {exc.strerror}", **window}
        )
    finally:
        _remove(clip.path)
    return CollectedClip(
        data,
        {
            "status": "complete" if clip.complete else "partial",
            "file": CLIP_NAME,
            "method": "stream copy of the camera's packets (no re-encode)",
            **window,
            "stream_start_s": round(clip.t_start, 3),
            "stream_end_s": round(clip.t_end, 3),
            "first_packet_utc": clip.wall_start.isoformat(),
            "last_packet_utc": clip.wall_end.isoformat(),
            "packets": clip.packets,
        },
    )


def clear_stale_clips(staging_dir: Path, *, older_than_s: float = 600.0) -> int:
    """Remove staging files a killed worker left behind; returns how many.

    Only files older than any live request could be (`clip_after_s` is at most 60 s,
    the wait margin 30 s), so workers sharing the directory never lose each other's.
    """
    removed = 0
    if not staging_dir.is_dir():
        return removed
    horizon = time.time() - older_than_s
    for path in staging_dir.iterdir():
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime < horizon:
                path.unlink()
                removed += 1
    return removed


def _remove(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
