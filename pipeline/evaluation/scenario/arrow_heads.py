"""Arrow signal heads of a generated junction: lamps shaped as turn arrows.

A head of arrow lamps stands beside the ball head and controls one movement: a single
green right arrow lit while the ball is red (right turners may go), or a three-lamp
left-arrow head with its own plan (a protected left phase). Each lamp is a dark disc
with the arrow drawn in the lamp's colour when lit, in dim grey when not, as LED arrow
lamps look. The arrow is drawn fat (shaft half the lamp's height) so that the signal
reader's colour reading, which wants a compact lit blob, sees the lit lamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from pipeline.evaluation.scenario.layout import PixelBox
from pipeline.evaluation.scenario.painter import LAMP_OFF, LAMP_ON, Image
from pipeline.evaluation.scenario.signal_plan import Phase, SignalPlan

HOUSING = (22, 22, 22)
UNLIT_ARROW = (70, 70, 70)


@dataclass(frozen=True)
class ArrowHead:
    """One arrow head: where it hangs, its lamps and when each is lit.

    Attributes:
        id: Signal head id in the config.
        arrow: The movement it points (and controls): `left` or `right`.
        box: Housing in image pixels.
        colours: Its lamps top to bottom, e.g. `("green",)` or `("red", "amber", "green")`.
        plan: Its own fixed plan; None: lit green exactly while the ball is red.
        lamp_radius: Radius of each lamp.
    """

    id: str
    arrow: Literal["left", "right"]
    box: PixelBox
    colours: tuple[Phase, ...]
    plan: SignalPlan | None = None
    lamp_radius: int = 19

    def lit_at(self, t: float, ball: SignalPlan) -> Phase | None:
        """The lamp lit at video time `t` (None: dark)."""
        if self.plan is None:
            return "green" if ball.phase_at(t) == "red" else None
        return self.plan.phase_at(t)

    def lamp_centres(self) -> list[tuple[int, int]]:
        """Centres of its lamps, top to bottom, evenly along the housing."""
        x1, y1, x2, y2 = self.box
        cx, pitch = (x1 + x2) // 2, (y2 - y1) // len(self.colours)
        return [(cx, y1 + pitch // 2 + i * pitch) for i in range(len(self.colours))]

    def config(self) -> dict[str, Any]:
        """Its `signal_heads` entry: region around the lamps, and each lamp's centre so
        the reader's colour reading finds the lit arrow at its lamp."""
        centres = self.lamp_centres()
        r = self.lamp_radius + 2
        region = [centres[0][0] - r, centres[0][1] - r, centres[-1][0] + r, centres[-1][1] + r]
        return {
            "id": self.id,
            "kind": "arrow",
            "arrow": self.arrow,
            "region": region,
            "lamps": {
                colour: list(centre) for colour, centre in zip(self.colours, centres, strict=True)
            },
        }


def arrow_polygon(centre: tuple[int, int], radius: int, arrow: str) -> np.ndarray:
    """A fat arrow inside a lamp of `radius` at `centre`, pointing left or right."""
    shape = [
        (-0.7, -0.4),
        (0.1, -0.4),
        (0.1, -0.7),
        (0.75, 0.0),
        (0.1, 0.7),
        (0.1, 0.4),
        (-0.7, 0.4),
    ]
    sign = 1.0 if arrow == "right" else -1.0
    cx, cy = centre
    return np.array(
        [(round(cx + sign * x * radius), round(cy + y * radius)) for x, y in shape], np.int32
    )


def paint_arrow_head(img: Image, head: ArrowHead, lit: Phase | None) -> None:
    """Draw the arrow head with the `lit` lamp on (None: all dark), in place."""
    x1, y1, x2, y2 = head.box
    cv2.rectangle(img, (x1, y1), (x2, y2), HOUSING, -1)
    for colour, centre in zip(head.colours, head.lamp_centres(), strict=True):
        cv2.circle(img, centre, head.lamp_radius, LAMP_OFF, -1, lineType=cv2.LINE_AA)
        fill = LAMP_ON[colour] if colour == lit else UNLIT_ARROW
        polygon = arrow_polygon(centre, head.lamp_radius, head.arrow)
        cv2.fillPoly(img, [polygon], fill, lineType=cv2.LINE_AA)
