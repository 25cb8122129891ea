"""The background sink keeps the frame loop free and loses no finding."""

from __future__ import annotations

import threading
import time
from typing import Any

from pipeline.runtime.worker import BackgroundSink


class SlowSink:
    def __init__(self, delay_s: float, fail_on: int | None = None) -> None:
        self.delay_s = delay_s
        self.fail_on = fail_on
        self.handled: list[Any] = []
        self.threads: set[str] = set()

    def handle(self, finding: Any) -> None:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay_s)
        if finding == self.fail_on:
            raise RuntimeError("disk full")
        self.handled.append(finding)


class Finding:
    """Just enough of a finding for the sink's error log."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.camera = type("Camera", (), {"id": "cam"})()
        self.candidate = type("Candidate", (), {"rule_type": "red_light"})()

    def __eq__(self, other: object) -> bool:
        return other == self.n if isinstance(other, int) else NotImplemented

    __hash__ = None  # type: ignore[assignment]


def test_findings_are_handled_off_the_calling_thread_in_order() -> None:
    inner = SlowSink(0.05)
    sink = BackgroundSink(inner)  # type: ignore[arg-type]
    findings = [Finding(i) for i in range(5)]
    for finding in findings:
        sink.handle(finding)  # type: ignore[arg-type]
    # the caller returned before the slow sink could have handled them all
    assert len(inner.handled) < 5
    sink.close()
    assert [f.n for f in inner.handled] == [0, 1, 2, 3, 4]
    assert inner.threads == {"finding-sink"}


def test_a_failing_finding_does_not_stop_the_others() -> None:
    inner = SlowSink(0.0, fail_on=1)
    sink = BackgroundSink(inner)  # type: ignore[arg-type]
    for i in range(3):
        sink.handle(Finding(i))  # type: ignore[arg-type]
    sink.close()
    assert [f.n for f in inner.handled] == [0, 2]


def test_queue_is_bounded_so_a_stuck_sink_slows_the_caller() -> None:
    release = threading.Event()

    class Stuck:
        def handle(self, finding: Any) -> None:
            release.wait()

    sink = BackgroundSink(Stuck(), max_pending=2)  # type: ignore[arg-type]
    sink.handle(Finding(0))  # taken by the thread, which blocks
    time.sleep(0.1)
    sink.handle(Finding(1))  # type: ignore[arg-type]
    sink.handle(Finding(2))  # type: ignore[arg-type]
    blocked = threading.Thread(target=sink.handle, args=(Finding(3),))
    blocked.start()
    blocked.join(timeout=0.3)
    assert blocked.is_alive()  # the third pending finding waits for room
    release.set()
    blocked.join(timeout=5)
    sink.close()
    assert sink.pending == 0
