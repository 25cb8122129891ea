"""Framework-neutral detection and track containers.

Everything downstream of a detector (tracker, rules, evidence) sees only these
types, never a framework's result objects, so a backend can be swapped without
touching the rules.

Example:
    >>> import numpy as np
    >>> dets = Detections(
    ...     xyxy=np.array([[10, 20, 110, 220]], dtype=np.float32),
    ...     scores=np.array([0.9], dtype=np.float32),
    ...     class_ids=np.array([CANONICAL_CLASSES.index("car")]),
    ... )
    >>> dets.class_names
    ['car']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt

CANONICAL_CLASSES: tuple[str, ...] = (
    "car",
    "motorbike",
    "bus",
    "truck",
    "bicycle",
    "person",
    "traffic_light",
)
"""Class vocabulary shared by every detector backend; `class_ids` index into it."""

Selector = npt.NDArray[np.bool_] | npt.NDArray[np.integer[Any]] | slice | list[int] | list[bool]


def class_id(name: str) -> int:
    """Return the canonical class id for a class name.

    Args:
        name: One of `CANONICAL_CLASSES`.

    Returns:
        The index of `name` in `CANONICAL_CLASSES`.

    Raises:
        KeyError: If `name` is not a canonical class.
    """
    try:
        return CANONICAL_CLASSES.index(name)
    except ValueError:
        raise KeyError(f"unknown class {name!r}; expected one of {CANONICAL_CLASSES}") from None


def _as_array(value: Any, dtype: type[np.generic], field: str) -> np.ndarray:
    # A private, read-only copy: frozen dataclasses still hold mutable arrays, and a
    # result handed to several consumers (rules, evidence) must not be edited by one.
    # Copying is cheap at detection counts and leaves the caller's array writable.
    arr = np.array(value, dtype=dtype, copy=True, order="C")
    arr.setflags(write=False)
    if arr.ndim == 0:
        raise ValueError(f"{field} must be an array, got a scalar")
    return arr


@dataclass(frozen=True, eq=False)
class Detections:
    """Boxes found in one frame.

    Attributes:
        xyxy: (N, 4) float32 boxes in pixels, `x1, y1, x2, y2`.
        scores: (N,) float32 confidences in [0, 1].
        class_ids: (N,) int64 indices into `CANONICAL_CLASSES`.
    """

    xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    def __post_init__(self) -> None:
        xyxy = _as_array(self.xyxy, np.float32, "xyxy")
        if xyxy.size == 0:
            xyxy = _as_array(np.zeros((0, 4)), np.float32, "xyxy")
        scores = _as_array(self.scores, np.float32, "scores").reshape(-1)
        class_ids = _as_array(self.class_ids, np.int64, "class_ids").reshape(-1)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ValueError(f"xyxy must have shape (N, 4), got {xyxy.shape}")
        n = xyxy.shape[0]
        if scores.shape != (n,) or class_ids.shape != (n,):
            raise ValueError(
                f"scores {scores.shape} and class_ids {class_ids.shape} must have shape ({n},)"
            )
        if n and (class_ids.min() < 0 or class_ids.max() >= len(CANONICAL_CLASSES)):
            raise ValueError(f"class_ids must index CANONICAL_CLASSES, got {class_ids}")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "class_ids", class_ids)

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, f), getattr(other, f)) for f in self._array_fields()
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays: equal objects need not hash alike

    @classmethod
    def _array_fields(cls) -> tuple[str, ...]:
        return ("xyxy", "scores", "class_ids")

    @property
    def class_names(self) -> list[str]:
        """Canonical class name of each box, in order."""
        return [CANONICAL_CLASSES[i] for i in self.class_ids.tolist()]

    @classmethod
    def empty(cls) -> Self:
        """Return a container with no boxes.

        Returns:
            An instance whose arrays all have length 0.
        """
        fields = {name: np.zeros((0,)) for name in cls._array_fields()}
        fields["xyxy"] = np.zeros((0, 4))
        return cls(**fields)

    def select(self, selector: Selector) -> Self:
        """Return the subset picked by a boolean mask, index array or slice.

        Args:
            selector: Boolean mask of length N, integer indices, or a slice.

        Returns:
            A new instance of the same type holding only the selected rows.

        Example:
            >>> cars = dets.select(dets.class_ids == class_id("car"))
        """
        if isinstance(selector, list):
            selector = np.asarray(selector)
        if isinstance(selector, np.ndarray) and selector.dtype == np.bool_:
            if selector.shape != (len(self),):
                raise ValueError(f"mask has shape {selector.shape}, expected ({len(self)},)")
        elif isinstance(selector, np.ndarray) and selector.size == 0:
            selector = selector.astype(np.int64)
        fields = {name: getattr(self, name)[selector] for name in self._array_fields()}
        fields["xyxy"] = fields["xyxy"].reshape(-1, 4)
        return type(self)(**fields)


@dataclass(frozen=True, eq=False)
class Tracks(Detections):
    """Detections that carry a tracker identity.

    Attributes:
        track_ids: (N,) int64 identities, stable across frames for one object and
            unique within one tracker.
        class_settled: (N,) bool, whether each track's class is final. A tracker may
            still change a young track's class while its sightings outvote a wrong first
            guess; once settled it never changes. Defaults to all True (a class nothing
            will revise).
    """

    track_ids: np.ndarray
    # None (the default) becomes all True in __post_init__, so readers always see an array.
    class_settled: np.ndarray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        super().__post_init__()
        track_ids = _as_array(self.track_ids, np.int64, "track_ids").reshape(-1)
        if track_ids.shape != (len(self),):
            raise ValueError(f"track_ids {track_ids.shape} must have shape ({len(self)},)")
        settled_value = np.ones(len(self)) if self.class_settled is None else self.class_settled
        settled = _as_array(settled_value, np.bool_, "class_settled").reshape(-1)
        if settled.shape != (len(self),):
            raise ValueError(f"class_settled {settled.shape} must have shape ({len(self)},)")
        object.__setattr__(self, "track_ids", track_ids)
        object.__setattr__(self, "class_settled", settled)

    @classmethod
    def _array_fields(cls) -> tuple[str, ...]:
        return ("xyxy", "scores", "class_ids", "track_ids", "class_settled")
