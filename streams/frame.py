"""The unit a camera source hands to the rest of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded video frame, sampled to the analysis rate.

    Attributes:
        camera_id: The camera this frame came from.
        seq: Sequence number, counting every frame the source sampled (from 0).
            In live mode a frame the consumer did not take in time is dropped,
            so a jump in ``seq`` tells the consumer how many it missed.
        pts: Stream time in seconds. The first frame the source ever decoded is
            0.0; the value never decreases, also across reconnects and loops.
        wall_time: When the frame was decoded (UTC, timezone-aware). For a file
            read in batch mode this is decode time, not capture time, unless
            the source was given the file's ``recorded_at``.
        image: Pixels, BGR ``uint8`` of shape ``(height, width, 3)``.

    Example:
        >>> import numpy as np
        >>> from datetime import UTC, datetime
        >>> f = Frame("cam1", 0, 0.0, datetime.now(UTC), np.zeros((2, 2, 3), np.uint8))
        >>> f.height, f.width
        (2, 2)
    """

    camera_id: str
    seq: int
    pts: float
    wall_time: datetime
    image: np.ndarray

    @property
    def height(self) -> int:
        """Image height in pixels."""
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        """Image width in pixels."""
        return int(self.image.shape[1])
