"""Running cameras: the worker, each camera's analysis, what the detector sees,
the scene and the track history rules read."""
