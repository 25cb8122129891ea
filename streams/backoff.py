"""Reconnect delays: exponential, capped, with jitter."""

from __future__ import annotations

import random


class Backoff:
    """Delays for retrying a connection: ``initial * 2**n`` capped at ``maximum``.

    Each delay is scaled by a random factor in ``[1 - jitter, 1]`` so many
    cameras that dropped together (a switch reboot) do not reconnect in lockstep.
    Jitter only ever shortens a delay, so ``maximum`` bounds how long a camera
    that came back waits to be picked up.

    Example:
        >>> b = Backoff(initial_s=0.5, maximum_s=4.0, jitter=0.0)
        >>> [b.next_delay() for _ in range(5)]
        [0.5, 1.0, 2.0, 4.0, 4.0]
        >>> b.reset(); b.next_delay()
        0.5
    """

    def __init__(self, initial_s: float, maximum_s: float, jitter: float = 0.2) -> None:
        if initial_s <= 0 or maximum_s < initial_s:
            raise ValueError("need 0 < initial_s <= maximum_s")
        if not 0.0 <= jitter < 1.0:
            raise ValueError("jitter must be in [0, 1)")
        self._initial_s = initial_s
        self._maximum_s = maximum_s
        self._jitter = jitter
        self._attempt = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call doubles the next one."""
        base = min(self._maximum_s, self._initial_s * 2.0 ** min(self._attempt, 30))
        self._attempt += 1
        return base * (1.0 - self._jitter * random.random())

    def reset(self) -> None:
        """Start over from ``initial_s`` (call once a connection delivers again)."""
        self._attempt = 0
