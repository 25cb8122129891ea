"""Accuracy: generated scenarios with known answers, scoring against truth files,
the labelled real-clip suite and signal-timeline agreement."""
