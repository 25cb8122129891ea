"""Motorbikes are tracked with their riders, and riders carry the track when the bike
box is missed.

Seen from behind, a COCO detector boxes a rider as `person` on nearly every frame but
the motorbike under them only now and then, and at a CCTV's 6-10 frames/s a bike's
small box moves by half its height between frames, too far for an overlap tracker.
`RiderCarry` prepares each frame's detections for the tracker:

- A motorbike is boxed with its riders (`associate_riders` on the frame's detections):
  the tracker follows the union of the bike's and its riders' boxes, the whole vehicle
  as a car's box is, which is larger and steadier than the bike's alone. Its bottom is
  still the bike's ground contact.
- Each person once seen riding a boxed motorbike is linked to it and followed from
  frame to frame (nearest to where their motion predicts them). On a frame where a
  linked rider is found but no vehicle box lies where their bike should be, the bike
  with its rider is boxed from the rider's box alone: its bottom centre (the ground
  contact) sits at the offset below and beside the rider's box bottom measured on
  their last joint sighting, and its size keeps the same ratio to the rider's height,
  all scaled by the rider's height now. The tracker takes that box as a motorbike
  detection, so the bike's track goes on (or, when it had already dropped it, the
  rider's estimate starts it anew).
- `merge` keeps a linked bike under one track id where the tracker's overlap matching
  loses it, and `backfill` gives a bike first boxed late (at the stop line, say) the
  boxes estimated from its rider's sightings of the last `BACKFILL_S`, for the track's
  history: every person is followed, as a candidate that carries nothing until it is
  seen on a boxed bike.

Only persons once seen riding a boxed motorbike carry a track, and only for
`max_carry_s` after the bike was last boxed under them: a pedestrian never becomes a
vehicle because of how their box looks or moves (on a crosswalk they walk at the speed
of a creeping motorbike, and a person beside a bike can pass the one-frame rider test).

Example:
    >>> carry = RiderCarry()
    >>> for frame, dets in frames:
    ...     found = tracker.update(carry.for_tracking(frame.pts, dets), frame.image)
    ...     tracks = carry.merge(found)  # one id per linked motorbike
    ...     earlier = carry.backfill()  # track id -> boxes before it had the id
    ...     estimated = carry.estimated(tracks)  # rows whose box came from a rider alone
    ...     riders = riders_by_track(tracks, dets)  # rider boxes per motorbike track
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.detections import Detections, Tracks, class_id
from models.riders import associate_riders

Box = tuple[float, float, float, float]

VEHICLE_CLASSES = frozenset({"car", "motorbike", "bus", "truck", "bicycle"})
"""Classes the tracker follows; persons are riders or pedestrians, never tracked."""
MAX_CARRY_S = 5.0
"""How long after the bike was last boxed under a rider the rider may carry its track.
A queue waiting through a red keeps its riders in view (and the bike is boxed now and
then); a link this old is more likely to have drifted onto a neighbour."""
MAX_GAP_S = 0.5
"""How long a rider may go unfound before their link is forgotten."""
MIN_IOU = 0.3
"""Overlap between an estimated bike box and a vehicle box for the vehicle to be that
bike (the tracker then follows the detected box)."""
MAX_STEP = 0.6
"""How far (in rider heights) a rider's box centre may lie from where their motion
predicts it, for a person box to be that rider. Overlap would lose small riders: at
6 frames/s they move by half their height between frames."""
BACKFILL_S = 1.5
"""How far back a motorbike's track is filled in from its rider's sightings when the
rider is first seen on a boxed bike (or the tracker first gives the bike an id): a
bike the detector boxes first at the stop line still shows where it came from."""
LINK_IDS = 1_000_000_000
"""Track ids a link gives a motorbike the tracker never gave one start here, clear of
the tracker's own (counted up from 1)."""
VOUCHED_SCORE = 1.0
"""Score the tracker is given for a motorbike boxed with its riders, or estimated from
a linked rider: two detections (or a rider followed since a joint sighting) vouch for
it. ByteTrack matches by overlap times score (1 - IoU x score against 0.7-0.8), so a
small bike boxed at 0.3-0.45 that moves half its height between frames would start a
new track on every frame at its own score. On the labelled Hanoi clip (yolov3-tiny at
608) the red-light rule found 5 of its 11 runners with the detections' own scores, 8 at
full score."""
MAX_SIZE_CHANGE = 1.6
"""How many times taller or shorter a rider's box may be than on the frame before."""


@dataclass
class _Link:
    """One rider and the bike they were last seen on."""

    rider: Box
    """The rider's box when last found."""
    t: float
    """Stream time the rider was last found."""
    bike_t: float
    """Stream time the bike was last boxed under this rider."""
    relation: tuple[float, float, float, float] | None
    """The box of the bike with its riders relative to this rider's box, in rider
    heights: its bottom centre's offset right of and below the rider's bottom centre,
    its width and its height. None for a person not yet seen on a boxed bike."""
    velocity: tuple[float, float] = (0.0, 0.0)
    """The rider's box centre velocity (px/s), to predict where they are next."""
    track_id: int | None = None
    """The motorbike's track id, once it has one."""
    box: Box | None = None
    """The box given to the tracker for this bike on the current frame, if any."""
    follows: int = 1
    """Frames the rider has been found on."""
    past: list[tuple[float, Box | None, Box]] = field(default_factory=list)
    """Before the bike has a track id: (time, box given to the tracker or None, rider's
    box) of the last BACKFILL_S, for the track's history once it has one."""

    def remember(self) -> None:
        if self.track_id is None:
            self.past.append((self.t, self.box, self.rider))
            while self.past and self.t - self.past[0][0] > BACKFILL_S:
                self.past.pop(0)

    def predicted(self, t: float) -> Box:
        dt = t - self.t
        dx, dy = self.velocity[0] * dt, self.velocity[1] * dt
        x1, y1, x2, y2 = self.rider
        return (x1 + dx, y1 + dy, x2 + dx, y2 + dy)

    def follow(self, rider: Box, t: float) -> None:
        dt = t - self.t
        if dt > 0:
            (ox, oy), (nx, ny) = _centre(self.rider), _centre(rider)
            vx, vy = (nx - ox) / dt, (ny - oy) / dt
            # Half new, half old: one jittery box should not send the prediction off.
            self.velocity = (0.5 * (self.velocity[0] + vx), 0.5 * (self.velocity[1] + vy))
        self.rider, self.t = rider, t

    def bike_box(self, rider: Box | None = None) -> Box:
        """The box of the bike with its riders, estimated from the rider's box (current
        unless given)."""
        assert self.relation is not None
        rider = rider or self.rider
        x1, _, x2, y2 = rider
        height = _height(rider)
        dx, dy, width, bike_h = (v * height for v in self.relation)
        cx, bottom = (x1 + x2) / 2 + dx, y2 + dy
        return (cx - width / 2, bottom - bike_h, cx + width / 2, bottom)


def relation(rider: Box, bike: Box) -> tuple[float, float, float, float]:
    """`bike` relative to `rider` in rider heights (see `_Link.relation`)."""
    height = _height(rider)
    return (
        ((bike[0] + bike[2]) / 2 - (rider[0] + rider[2]) / 2) / height,
        (bike[3] - rider[3]) / height,
        (bike[2] - bike[0]) / height,
        (bike[3] - bike[1]) / height,
    )


class RiderCarry:
    """Per camera: links riders to their motorbikes and estimates missed bike boxes."""

    def __init__(
        self,
        *,
        max_carry_s: float = MAX_CARRY_S,
        max_gap_s: float = MAX_GAP_S,
        min_iou: float = MIN_IOU,
    ) -> None:
        """Args:
        max_carry_s: See `MAX_CARRY_S`; 0 turns carrying off (riders are still linked).
        max_gap_s: See `MAX_GAP_S`.
        min_iou: See `MIN_IOU`.

        Raises:
            ValueError: For a negative time or an overlap outside (0, 1].
        """
        if max_carry_s < 0 or max_gap_s < 0:
            raise ValueError("max_carry_s and max_gap_s must not be negative")
        if not 0 < min_iou <= 1:
            raise ValueError(f"min_iou must be in (0, 1], got {min_iou}")
        self.max_carry_s = max_carry_s
        self.max_gap_s = max_gap_s
        self.min_iou = min_iou
        self._links: list[_Link] = []
        self._estimated = np.zeros((0, 4), dtype=np.float32)
        self._next_id = LINK_IDS
        self._backfill: dict[int, list[tuple[float, Box]]] = {}

    def for_tracking(self, t: float, detections: Detections) -> Detections:
        """This frame's vehicle detections for the tracker: each motorbike boxed with its
        riders, plus an estimated box for each linked rider whose bike was missed.

        Args:
            t: The frame's stream time.
            detections: Everything the detector found on the frame, persons included.
        """
        vehicles = detections.select(
            np.array([name in VEHICLE_CLASSES for name in detections.class_names], dtype=bool)
        )
        persons = detections.select(detections.class_ids == class_id("person"))
        for link in self._links:
            link.box = None
        found = self._follow_riders(t, persons)
        vehicles, ridden = _with_riders(vehicles, persons)
        estimated: list[Box] = []
        scores: list[float] = []
        for person, link in found.items():
            link.follows += 1
            bike = ridden.get(person)
            if bike is not None:
                link.relation, link.bike_t, link.box = relation(link.rider, bike), t, bike
            elif link.relation is not None and t - link.bike_t <= self.max_carry_s:
                box = link.bike_box()
                # A vehicle box there is the bike (the tracker follows it); an estimate
                # there already came from the bike's other rider.
                taken = np.concatenate([vehicles.xyxy, np.array(estimated).reshape(-1, 4)])
                if not _overlaps_any(box, taken, self.min_iou):
                    estimated.append(box)
                    scores.append(VOUCHED_SCORE)
                    link.box = box
        self._start_links(t, persons, ridden, linked=set(found))
        for link in self._links:
            if link.t == t:
                link.remember()
        self._estimated = np.array(estimated, dtype=np.float32).reshape(-1, 4)
        if not estimated:
            return vehicles
        extra = Detections(
            xyxy=self._estimated,
            scores=np.array(scores, dtype=np.float32),
            class_ids=np.full(len(estimated), class_id("motorbike"), dtype=np.int64),
        )
        return Detections(
            xyxy=np.concatenate([vehicles.xyxy.astype(np.float32), extra.xyxy]),
            scores=np.concatenate([vehicles.scores.astype(np.float32), extra.scores]),
            class_ids=np.concatenate([vehicles.class_ids.astype(np.int64), extra.class_ids]),
        )

    def _start_links(
        self, t: float, persons: Detections, ridden: dict[int, Box], linked: set[int]
    ) -> None:
        """Start a link for each person of this frame that `linked` (the persons already
        followed) lacks."""
        # Riders on a boxed bike not yet linked start a link: the driver (best overlap)
        # only, so a two-up bike gets one estimated box, not two. Every other person is
        # followed too, as a candidate that carries nothing until seen on a boxed bike.
        for person, bike in ridden.items():
            if person in linked:
                continue
            if any(ridden.get(other) == bike for other in linked):
                continue
            rider = _box(persons.xyxy[person])
            self._links.append(_Link(rider, t, t, relation(rider, bike), box=bike))
            linked.add(person)
        for person in range(len(persons)):
            if person not in linked:
                self._links.append(_Link(_box(persons.xyxy[person]), t, t, None))

    def merge(self, tracks: Tracks) -> Tracks:
        """The tracker's tracks with each linked motorbike under its one track id.

        ByteTrack matches boxes by overlap; a motorbike's box a few pixels wide that
        moves its own width between frames (riding across the image, or at 6 frames/s)
        overlaps its last one too little, so the tracker drops it and starts another id
        on it a frame or two later. The rider link follows it by distance, so: the first
        id the tracker gives a linked bike stays the bike's; a later id the tracker gives
        the same bike's box is renamed to it; on a frame where the tracker reports no
        track for the bike's box, the link reports it under that id (from its second
        frame, with a fresh id when the tracker never gave one).
        """
        ids = tracks.track_ids.astype(np.int64).copy()
        rows: dict[str, list[object]] = {"xyxy": [], "scores": [], "class_ids": [], "ids": []}
        claimed: set[int] = set()
        self._backfill = {}
        for link in self._links:
            if link.box is None:
                continue
            row = _row_of(tracks.xyxy, link.box)
            if row is not None and row not in claimed:
                claimed.add(row)
                if link.track_id is None:
                    self._adopt(link, int(ids[row]))
                assert link.track_id is not None
                ids[row] = link.track_id
            elif row is None and (link.track_id is not None or link.follows >= 2):
                if link.track_id is None:
                    self._adopt(link, self._next_id)
                    self._next_id += 1
                rows["xyxy"].append(link.box)
                rows["scores"].append(VOUCHED_SCORE)
                rows["class_ids"].append(class_id("motorbike"))
                rows["ids"].append(link.track_id)
        # An id the tracker gave another vehicle on this frame is that vehicle's: a link
        # holding it takes a fresh one.
        unclaimed = {int(ids[r]) for r in range(len(ids)) if r not in claimed}
        for i, tid in enumerate(rows["ids"]):
            if tid in unclaimed:
                link = next(k for k in self._links if k.track_id == tid)
                link.track_id, rows["ids"][i] = self._next_id, self._next_id
                self._next_id += 1
        if not rows["ids"] and np.array_equal(ids, tracks.track_ids):
            return tracks
        extra = len(rows["ids"])
        return Tracks(
            xyxy=np.concatenate(
                [tracks.xyxy.astype(np.float32), np.array(rows["xyxy"], np.float32).reshape(-1, 4)]
            ),
            scores=np.concatenate([tracks.scores.astype(np.float32), np.ones(extra, np.float32)]),
            class_ids=np.concatenate(
                [tracks.class_ids.astype(np.int64), np.array(rows["class_ids"], np.int64)]
            ),
            track_ids=np.concatenate([ids, np.array(rows["ids"], np.int64)]),
            class_settled=np.concatenate([tracks.class_settled, np.ones(extra, bool)]),
        )

    def backfill(self) -> dict[int, list[tuple[float, Box]]]:
        """Track ids the links gave their motorbikes on this frame (see `merge`), each
        with the bike's earlier boxes, oldest first, estimated from its rider where the
        tracker had none: what the track's history should begin with."""
        return self._backfill

    def _adopt(self, link: _Link, track_id: int) -> None:
        link.track_id = track_id
        assert link.relation is not None
        earlier = [
            (t, box if box is not None else link.bike_box(rider))
            for t, box, rider in link.past
            if t < link.t
        ]
        link.past = []
        if earlier:
            self._backfill[track_id] = earlier

    def estimated(self, tracks: Tracks) -> np.ndarray:
        """Which of the tracker's rows carry a box estimated from a rider on this frame
        (the tracker returns the detection's box itself, so they compare equal)."""
        if len(self._estimated) == 0 or len(tracks) == 0:
            return np.zeros(len(tracks), dtype=bool)
        same = np.all(
            np.abs(tracks.xyxy[:, None, :].astype(np.float32) - self._estimated[None]) < 1e-3,
            axis=2,
        )
        return np.asarray(same.any(axis=1), dtype=bool)

    def _follow_riders(self, t: float, persons: Detections) -> dict[int, _Link]:
        """Match the links to this frame's person boxes (greedy, nearest to the
        prediction first; riders before candidates, so a candidate made of a rider's
        second box cannot take the rider); forget links whose person has been gone too
        long. Returns person row -> link."""
        found: dict[int, _Link] = {}
        for group in (
            [link for link in self._links if link.relation is not None],
            [link for link in self._links if link.relation is None],
        ):
            if not group or not len(persons):
                continue
            predicted = np.array([link.predicted(t) for link in group], dtype=np.float64)
            steps = _step_matrix(predicted, persons.xyxy.astype(np.float64))
            for flat in np.argsort(steps, axis=None):
                row, person = np.unravel_index(flat, steps.shape)
                if steps[row, person] > MAX_STEP:
                    break
                link = group[int(row)]
                if int(person) in found or any(v is link for v in found.values()):
                    continue
                link.follow(_box(persons.xyxy[person]), t)
                found[int(person)] = link
        kept = {id(link) for link in found.values()}
        self._links = [
            link for link in self._links if id(link) in kept or t - link.t <= self.max_gap_s
        ]
        return found


def _with_riders(vehicles: Detections, persons: Detections) -> tuple[Detections, dict[int, Box]]:
    """Each motorbike detection boxed together with its riders (scored as the surer of
    the two), and person row -> the box of the motorbike they ride, riders included."""
    is_bike = vehicles.class_ids == class_id("motorbike")
    if not is_bike.any() or len(persons) == 0:
        return vehicles, {}
    rows = np.flatnonzero(is_bike)
    combined = Detections(
        xyxy=np.concatenate([vehicles.xyxy[rows], persons.xyxy]).astype(np.float32),
        scores=np.concatenate([vehicles.scores[rows], persons.scores]).astype(np.float32),
        class_ids=np.concatenate([vehicles.class_ids[rows], persons.class_ids]).astype(np.int64),
    )
    xyxy = vehicles.xyxy.astype(np.float32).copy()
    scores = vehicles.scores.astype(np.float32).copy()
    ridden: dict[int, Box] = {}
    for bike, people in associate_riders(combined).items():
        if not people:
            continue
        row = rows[bike]
        boxes = combined.xyxy[[bike, *people]]
        xyxy[row] = (*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0))
        scores[row] = VOUCHED_SCORE
        for person in people:  # each person rides one bike at most
            ridden[person - len(rows)] = _box(xyxy[row])
    return Detections(xyxy=xyxy, scores=scores, class_ids=vehicles.class_ids), ridden


def riders_by_track(tracks: Tracks, detections: Detections) -> dict[int, list[Box]]:
    """Persons riding each tracked motorbike on this frame (see `models.riders`).

    Tracked motorbikes (boxes estimated from a rider included) are matched with this
    frame's person detections, so a rider count belongs to a track id and rules can hold
    it over several frames.
    """
    persons = detections.select(detections.class_ids == class_id("person"))
    is_bike = tracks.class_ids == class_id("motorbike")
    if len(persons) == 0 or not is_bike.any():
        return {}
    bike_ids = tracks.track_ids[is_bike].tolist()
    combined = Detections(
        xyxy=np.concatenate([tracks.xyxy[is_bike], persons.xyxy]).astype(np.float32),
        scores=np.concatenate([tracks.scores[is_bike], persons.scores]).astype(np.float32),
        class_ids=np.concatenate([tracks.class_ids[is_bike], persons.class_ids]).astype(np.int64),
    )
    out: dict[int, list[Box]] = {}
    for row, people in associate_riders(combined).items():
        if people:
            out[int(bike_ids[row])] = [_box(combined.xyxy[p]) for p in people]
    return out


def _box(row: np.ndarray) -> Box:
    x1, y1, x2, y2 = (float(v) for v in row)
    return (x1, y1, x2, y2)


def _centre(box: Box) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def _height(box: Box) -> float:
    return max(box[3] - box[1], 1.0)


def _iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in `a` (N, 4) with every box in `b` (M, 4)."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def _step_matrix(predicted: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Distance of each box's centre from each predicted rider box's centre, in the
    predicted rider's heights; infinite where the heights differ too much."""
    pc = (predicted[:, None, :2] + predicted[:, None, 2:]) / 2
    bc = (boxes[None, :, :2] + boxes[None, :, 2:]) / 2
    ph = np.maximum(predicted[:, None, 3] - predicted[:, None, 1], 1.0)
    bh = np.maximum(boxes[None, :, 3] - boxes[None, :, 1], 1.0)
    steps = np.hypot(*(bc - pc).transpose(2, 0, 1)) / ph
    ratio = np.maximum(ph / bh, bh / ph)
    return np.where(ratio <= MAX_SIZE_CHANGE, steps, np.inf)


def _row_of(boxes: np.ndarray, box: Box) -> int | None:
    """The row of `boxes` equal to `box` (the tracker returns its input boxes)."""
    if len(boxes) == 0:
        return None
    same = np.all(np.abs(boxes.astype(np.float32) - np.array(box, np.float32)) < 1e-3, axis=1)
    hits = np.flatnonzero(same)
    return int(hits[0]) if len(hits) else None


def _overlaps_any(box: Box, boxes: np.ndarray, min_iou: float) -> bool:
    if len(boxes) == 0:
        return False
    return bool((_iou_matrix(np.array([box]), boxes.astype(np.float64)) >= min_iou).any())
