"""Whether the host clock is NTP-synchronised, as far as the kernel can tell."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

_TIME_ERROR = 5  # adjtimex() return value when the clock is not synchronised


class _Timex(ctypes.Structure):
    # struct timex is 208 bytes on 64-bit Linux; only the return value matters here,
    # so the buffer is opaque (modes=0 makes the call read-only).
    _fields_ = [("modes", ctypes.c_uint), ("_rest", ctypes.c_byte * 204)]


@lru_cache(maxsize=1)
def clock_sync_status() -> str:
    """`synced`, `unsynced`, or `unknown` where the call is unavailable."""
    name = ctypes.util.find_library("c")
    if name is None:
        return "unknown"
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        state = libc.adjtimex(ctypes.byref(_Timex()))
    except (OSError, AttributeError):
        return "unknown"
    if state < 0:
        return "unknown"
    return "unsynced" if state == _TIME_ERROR else "synced"
