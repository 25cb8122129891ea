"""Whether the host clock is NTP-synchronised; the check lives in ``streams.clock``."""

from __future__ import annotations

from streams.clock import ClockSync, clock_sync_status

__all__ = ["ClockSync", "clock_sync_status"]
