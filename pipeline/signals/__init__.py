"""Signal phases: lamps and countdowns read from the image, controller feeds, and
how they combine."""
