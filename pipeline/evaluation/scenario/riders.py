"""Riders seated on a scripted motorbike: where they sit and how they are painted.

The person photographs are standing persons cut from head to hips (see `sprites`);
seated on a bike in a side view only that much of them shows above the bike, so each
is painted over the bike with its hips low on the seat. Seats are measured on the
motorbike photograph (it faces right: rear seat at the left), and sizes and seat
height were tuned with yolov3-tiny at 608 so that each rider is found as a person of
its own and `models.riders` associates it with the bike (its box must end inside the
bike's box): on a 420 px bike, three riders are counted on about 78 % of frames and
two riders are never counted as three (see the overloaded_motorbike scenario).
"""

from __future__ import annotations

from pipeline.evaluation.scenario.layout import PixelBox
from pipeline.evaluation.scenario.painter import Image, paint_vehicle, scale_sprite
from pipeline.evaluation.scenario.sprites import Sprite

SEATS = (0.63, 0.40, 0.17)
"""Centre of each rider along the bike, as a share of its width from the rear (left)
edge: driver first, then passengers towards the back."""
RIDER_HEIGHT = 0.45
"""Height of a rider (head to hips) as a share of the bike's width."""
HIPS_DOWN = 0.62
"""Where a rider's hips rest, as a share of the bike's height from its top: a rider
ending higher is boxed by the detector above the bike and is not associated with it."""
RIDER_SPRITES = ("rider-coat", "rider-jacket")
"""Person sprites used in turn, so neighbours look different."""


def rider_boxes(
    sprites: dict[str, Sprite], bike: PixelBox, count: int, *, flip: bool = False
) -> list[PixelBox]:
    """Boxes of `count` riders on a bike whose sprite box is `bike`, driver first.

    Args:
        sprites: Sprites by name (the person sprites' shapes set the boxes' widths).
        bike: The motorbike sprite's box.
        count: Riders, at most `len(SEATS)`.
        flip: The bike faces left (its seats are mirrored).
    """
    if not 0 <= count <= len(SEATS):
        raise ValueError(f"a scripted motorbike seats 0-{len(SEATS)} riders, not {count}")
    x1, y1, x2, y2 = bike
    width = x2 - x1
    height = round(RIDER_HEIGHT * width)
    bottom = y1 + round(HIPS_DOWN * (y2 - y1))
    boxes = []
    for index, seat in enumerate(SEATS[:count]):
        photo = sprites[RIDER_SPRITES[index % len(RIDER_SPRITES)]]
        rider_width = max(1, round(height / photo.aspect))
        centre = x1 + (1.0 - seat if flip else seat) * width
        left = round(centre - rider_width / 2)
        boxes.append((left, bottom - height, left + rider_width, bottom))
    return boxes


def paint_riders(
    frame: Image, sprites: dict[str, Sprite], bike: PixelBox, count: int, *, flip: bool = False
) -> None:
    """Paint `count` riders over the bike painted at `bike`, rearmost first."""
    boxes = rider_boxes(sprites, bike, count, flip=flip)
    for index in reversed(range(count)):
        photo = sprites[RIDER_SPRITES[index % len(RIDER_SPRITES)]]
        x1, y1, x2, y2 = boxes[index]
        sprite = scale_sprite(photo, x2 - x1)
        # Scaling keeps the photo's aspect; anchor its bottom (the hips) on the seat.
        h = sprite.bgr.shape[0]
        paint_vehicle(frame, sprite, (x1, y2 - h, x2, y2))
