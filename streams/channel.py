"""Hand-over of frames from a reader thread to its consumer."""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Channel(Generic[T]):
    """A bounded hand-over that either drops the oldest item or makes the producer wait.

    ``drop_oldest=True`` gives latest-frame semantics for live cameras: the
    producer never waits, a consumer that falls behind gets the newest item and
    the skipped ones are counted in :attr:`dropped`. ``drop_oldest=False`` is
    back-pressure for offline evaluation: nothing is lost, the producer waits.
    Either way memory is bounded by ``capacity``.

    Example:
        >>> ch: Channel[int] = Channel(capacity=1, drop_oldest=True)
        >>> ch.put(1), ch.put(2)
        (True, True)
        >>> ch.get(timeout=0), ch.dropped
        (2, 1)
    """

    def __init__(self, capacity: int, drop_oldest: bool) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._drop_oldest = drop_oldest
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Hand over one item; False if the channel was closed (item discarded)."""
        with self._cond:
            while len(self._items) >= self._capacity and not self._closed:
                if self._drop_oldest:
                    self._items.popleft()
                    self.dropped += 1
                else:
                    self._cond.wait()
            if self._closed:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None) -> T | None:
        """The next item, or None if none came within ``timeout`` or the channel drained."""
        with self._cond:
            self._cond.wait_for(lambda: self._items or self._closed, timeout)
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """No more puts: wakes a waiting producer; items already in stay readable."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def drained(self) -> bool:
        """True once closed and empty: nothing will ever come out again."""
        with self._cond:
            return self._closed and not self._items

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
