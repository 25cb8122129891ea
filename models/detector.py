"""The `Detector` protocol that every detection backend satisfies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from models.detections import Detections


@runtime_checkable
class Detector(Protocol):
    """Finds canonical-class objects in frames.

    Attributes:
        name: Registry name of the model (see `models.weights`), recorded in evidence.
        model_sha256: SHA-256 of the weights file, recorded in evidence manifests so a
            decision can be traced to the exact model that made it.
    """

    name: str
    model_sha256: str

    def detect(
        self, frames: Sequence[np.ndarray], input_sizes: Sequence[int | None] | None = None
    ) -> list[Detections]:
        """Detect objects in a batch of frames.

        Args:
            frames: BGR uint8 images of shape (H, W, 3); sizes may differ.
            input_sizes: Per frame, the network input's long side (e.g. the frame's
                camera's own setting); None, or a None entry, uses the detector's default.

        Returns:
            One `Detections` per frame, in the same order, boxes in that frame's pixels.
        """
        ...
