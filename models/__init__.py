"""Detection, tracking and model weights. Takes arrays, returns detections.

Light names are re-exported here; backends (`models.darknet`) and the tracker
(`models.tracking`, which imports Ultralytics and PyTorch) are imported from their
modules so that `import models` stays cheap.
"""

from models.detections import CANONICAL_CLASSES, Detections, Tracks, class_id
from models.detector import Detector

__all__ = ["CANONICAL_CLASSES", "Detections", "Detector", "Tracks", "class_id"]
