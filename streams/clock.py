"""Whether the host clock is NTP-synchronised, as far as the kernel can tell.

Frames carry UTC wall-clock times that end up in evidence, so each source
records once whether the clock behind them was synchronised.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import enum
from functools import lru_cache

_TIME_ERROR = 5  # adjtimex() return value when the clock is not synchronised


class ClockSync(enum.StrEnum):
    """The host clock's synchronisation as reported by ``adjtimex(2)``."""

    SYNCED = "synced"
    UNSYNCED = "unsynced"
    UNKNOWN = "unknown"


class _Timex(ctypes.Structure):
    # struct timex is 208 bytes on 64-bit Linux; only the return value matters here,
    # so the buffer is opaque (modes=0 makes the call read-only).
    _fields_ = [("modes", ctypes.c_uint), ("_rest", ctypes.c_byte * 204)]


@lru_cache(maxsize=1)
def clock_sync_status() -> ClockSync:
    """``synced``, ``unsynced``, or ``unknown`` where the call is unavailable.

    Cached: the answer is read once per process, which is what "recorded once per
    camera" needs and keeps a syscall off the frame path.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return ClockSync.UNKNOWN
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        state = libc.adjtimex(ctypes.byref(_Timex()))
    except (OSError, AttributeError):
        return ClockSync.UNKNOWN
    if state < 0:
        return ClockSync.UNKNOWN
    return ClockSync.UNSYNCED if state == _TIME_ERROR else ClockSync.SYNCED
