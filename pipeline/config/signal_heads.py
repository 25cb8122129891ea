"""`scene.signal_heads`: the signal heads a camera sees.

Each head's lamps and countdown in the image, where its phase comes from (image or
controller), and the lanes and movements it controls.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from pipeline.config.approach import MOVEMENTS, Movement
from pipeline.config.base import Box, Point, StrictModel


class SignalHead(StrictModel):
    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=64,
        description="Signal head id, unique within the camera (also the controller's name for it).",
    )
    region: Box | None = Field(
        default=None,
        description="Pixel box x1, y1, x2, y2 around the head's lamps (a countdown display "
        "beside them may be inside). Needed unless source is controller.",
    )
    source: Literal["image", "controller", "auto"] = Field(
        default="auto",
        description="Where the phase comes from. image: read from the region; controller: "
        "only the controller's feed (POST /api/v1/signals/{head} or the signal-phases topic), "
        "unknown while it is stale; auto: the controller while its feed is fresh, else the image.",
    )
    controller_stale_s: float = Field(
        default=180.0,
        gt=0,
        le=3600,
        description="A controller feed with no message for longer than this is stale. Longer "
        "than the longest phase, unless the controller repeats its current phase meanwhile.",
    )
    controller_delay_s: float = Field(
        default=0.0,
        ge=-5,
        le=5,
        description="Seconds added to controller times before they are placed on the camera's "
        "stream clock: the camera's capture-to-decode delay (frames are stamped when decoded, "
        "so without it time into red reads longer by that delay), plus any known offset of "
        "the controller's clock. Measure it once, e.g. by filming the controller's display.",
    )
    lanes: list[str] = Field(
        default_factory=list,
        description="Ids of the lanes this head controls; empty: every lane of the camera.",
    )
    kind: Literal["ball", "arrow"] = Field(
        default="ball",
        description="ball: full-disc lamps; arrow: lamps shaped as an arrow (e.g. a green "
        "right-turn arrow under a red ball), controlling only the movement it points.",
    )
    arrow: Movement | None = Field(
        default=None,
        description="kind arrow: the movement the arrow points (left, right, straight, u_turn).",
    )
    movements: list[Movement] = Field(
        default_factory=list,
        description="Movements of the approach this head controls; empty: every movement for "
        "a ball, its own `arrow` for an arrow. Where an arrow and a ball both control a "
        "movement, the arrow decides while it shows a phase (a green right arrow under a red "
        "ball lets right turners go; a red left arrow beside a green ball stops left "
        "turners), the ball while the arrow is dark.",
    )
    lamps: dict[Literal["red", "amber", "green"], Point] = Field(
        default_factory=dict,
        description="Optional centres of the head's lamps in image pixels, e.g. {red: [560, 190], "
        "green: [560, 222]}. Without them the reader learns the lamps from the head's own "
        "frames. When given, only a lit blob at one of these lamps counts, and it reads as "
        "that lamp's colour (a green blob only at the green lamp, a red, orange or yellow one "
        "at the red or amber lamp: an over-exposed red turns yellow): for a far head whose "
        "countdown digits blur into lamp-like blobs inside the region.",
    )
    countdown: Box | None = Field(
        default=None,
        description="Optional pixel box x1, y1, x2, y2 around the head's countdown display "
        "(1-2 seven-segment digits). When given, the seconds shown are read every few "
        "frames and recorded with a violation judged on this head (countdown_s, "
        "countdown_colour); the lamps still decide the phase.",
    )

    @field_validator("region", "countdown")
    @classmethod
    def _box_is_ordered(cls, region: Box | None, info: ValidationInfo) -> Box | None:
        if region is None:
            return None
        x1, y1, x2, y2 = region
        if x2 <= x1 or y2 <= y1:
            raise ValueError(f"{info.field_name} must be x1, y1, x2, y2 with x2 > x1 and y2 > y1")
        return region

    @model_validator(mode="after")
    def _arrow_named(self) -> SignalHead:
        if self.kind == "arrow" and self.arrow is None:
            raise ValueError(
                f"signal head {self.id!r}: kind arrow needs `arrow` (the movement it points)"
            )
        if self.kind == "ball" and self.arrow is not None:
            raise ValueError(f"signal head {self.id!r}: `arrow` is only for kind arrow")
        return self

    @property
    def controlled_movements(self) -> tuple[Movement, ...]:
        """The movements this head controls (its `movements`, else the defaults)."""
        if self.movements:
            return tuple(self.movements)
        if self.arrow is not None:
            return (self.arrow,)
        return MOVEMENTS

    @model_validator(mode="after")
    def _region_unless_controller(self) -> SignalHead:
        if self.region is None and self.source != "controller":
            raise ValueError(
                f"signal head {self.id!r}: region is required when source is {self.source!r} "
                "(only a source: controller head may leave it out)"
            )
        if self.lamps:
            if self.region is None:
                raise ValueError(f"signal head {self.id!r}: lamps need a region")
            x1, y1, x2, y2 = self.region
            for colour, (x, y) in self.lamps.items():
                if not (x1 <= x <= x2 and y1 <= y <= y2):
                    raise ValueError(
                        f"signal head {self.id!r}: lamps.{colour} ({x:g}, {y:g}) is outside "
                        "its region"
                    )
        return self
