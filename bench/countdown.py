"""Countdown displays on the labelled clips: how often the value read matches the
value the labels' notes give.

Usage:
    python bench/countdown.py [--footage ../shared/footage] [--every 1] [--raw]

The expected values come from the labels' notes (shared/footage/labels/*.yaml,
`signal_timeline`): Hanoi's red countdown shows 40 at 0.67 s down to 06 at 35 s,
01 at ~39.5 s and 00 from ~40.3 s (so ceil(40.3 - t)), dark in the blink spells
the notes list; Da Nang's gantry shows green 2/1, amber 3/2/1 and red 42/41/40 at
the times its notes give. Only stretches the notes pin down are scored, each
trimmed by 0.15 s at both ends (the notes' times are to a frame or two). Prints,
per display, the share of scored frames whose accepted value (CountdownTracker)
and whose raw reading (read_countdown) match, the share read in the right colour,
the share whose value as recorded in evidence (CountdownState.shown_at: only once
the display was seen counting down) is right and wrong, and the cost per reading.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av

from pipeline.signals.countdown import CountdownTracker
from pipeline.signals.phase import Phase

Expected = Callable[[float], tuple[int, Phase] | None]


@dataclass(frozen=True)
class Display:
    clip: str
    name: str
    region: tuple[float, float, float, float]
    expected: Expected


def _spans(spans: list[tuple[float, float, int, Phase]]) -> Expected:
    def expected(t: float) -> tuple[int, Phase] | None:
        for start, end, value, colour in spans:
            if start + 0.15 <= t <= end - 0.15:
                return value, colour
        return None

    return expected


# Hanoi: the countdown's dark blinks (notes of the red spell) are left out.
_HANOI_DARK = ((37.99, 38.32), (38.99, 39.32), (39.99, 40.16), (40.49, 40.99))


def _hanoi(t: float) -> tuple[int, Phase] | None:
    if not 0.67 + 0.15 <= t <= 42.32 - 0.15:
        return None
    if any(a - 0.15 <= t <= b + 0.15 for a, b in _HANOI_DARK):
        return None
    value = max(0, math.ceil(40.3 - t))
    # Skip the frames around each change of value (the notes give ~0.1 s).
    if value > 0 and (40.3 - t) % 1.0 > 0.85:
        return None
    if value > 0 and (40.3 - t) % 1.0 < 0.15:
        return None
    return value, Phase.RED


_DANANG = _spans(
    [
        (0.0, 0.6, 2, Phase.GREEN),
        (0.7, 1.283, 1, Phase.GREEN),
        (7.15, 8.083, 42, Phase.RED),
        (8.083, 8.95, 2, Phase.GREEN),
        (9.05, 9.617, 1, Phase.GREEN),
        (12.67, 13.4, 42, Phase.RED),
        (14.7, 15.2, 40, Phase.RED),
    ]
)

DISPLAYS = (
    Display("hanoi_ly_thuong_kiet_red_light", "h1", (550, 150, 570, 168), _hanoi),
    Display("vn_danang_gantry_countdown", "h1", (835, 16, 869, 37), _DANANG),
    Display("vn_danang_gantry_countdown", "h2", (975, 16, 1008, 37), _DANANG),
    Display("vn_danang_gantry_countdown", "h3", (1133, 84, 1149, 99), _DANANG),
    # The example config's box for h3: the labels' less the rows over its red lamp.
    Display("vn_danang_gantry_countdown", "h3 example", (1133, 84, 1149, 96), _DANANG),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--footage", type=Path, default=Path("../shared/footage"))
    parser.add_argument("--every", type=int, default=1, help="read every Nth frame")
    parser.add_argument("--raw", action="store_true", help="print each change of raw reading")
    args = parser.parse_args()
    for clip in dict.fromkeys(d.clip for d in DISPLAYS):
        displays = [d for d in DISPLAYS if d.clip == clip]
        trackers = [CountdownTracker(d.region, every=args.every) for d in displays]
        # frames, accepted ok, raw ok, colour ok, trusted ok, trusted wrong
        scored = [[0, 0, 0, 0, 0, 0] for _ in displays]
        costs: list[float] = []
        last_raw: list[object] = [None] * len(displays)
        with av.open(str(args.footage / f"{clip}.mp4")) as container:
            for frame in container.decode(video=0):
                t = float(frame.time or 0.0)
                image = frame.to_ndarray(format="bgr24")
                for index, (display, tracker) in enumerate(zip(displays, trackers, strict=True)):
                    started = time.perf_counter()
                    state = tracker.update(image, t)
                    costs.append(time.perf_counter() - started)
                    raw = tracker.last_reading
                    if args.raw and raw is not None and raw != last_raw[index]:
                        print(f"  {display.name} {t:6.2f} {raw.value} {raw.colour.value}")
                        last_raw[index] = raw
                    want = display.expected(t)
                    if want is None:
                        continue
                    counts = scored[index]
                    counts[0] += 1
                    counts[1] += state.value == want[0]
                    counts[2] += raw is not None and raw.value == want[0]
                    counts[3] += raw is not None and raw.colour is want[1]
                    shown = state.shown_at(t)
                    counts[4] += shown == want[0]
                    counts[5] += shown is not None and shown != want[0]
        for display, counts in zip(displays, scored, strict=True):
            frames, accepted, raw_ok, colour_ok, trusted_ok, trusted_wrong = counts
            total = max(frames, 1)
            print(
                f"{clip} {display.name}: {frames} scored frames, accepted value "
                f"{100 * accepted / total:.1f} %, raw reading {100 * raw_ok / total:.1f} %, "
                f"colour {100 * colour_ok / total:.1f} %; as evidence (counting): right "
                f"{100 * trusted_ok / total:.1f} %, wrong {100 * trusted_wrong / total:.1f} %"
            )
        per_update = 1000 * statistics.fmean(costs)
        print(
            f"  {per_update:.3f} ms per update on average (every {args.every}: "
            f"{per_update * args.every:.3f} ms per reading)"
        )


if __name__ == "__main__":
    main()
