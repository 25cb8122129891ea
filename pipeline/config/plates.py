"""`plates`: reading the number plate of each violating vehicle."""

from __future__ import annotations

from pydantic import Field

from pipeline.config.base import StrictModel


class PlatesConfig(StrictModel):
    enabled: bool = Field(
        default=True, description="Read the plate of each violating vehicle (detector + OCR)."
    )
    model: str = Field(
        default="plate-yolov8n", description="Registry name of the Ultralytics plate detector."
    )
    best_of: int = Field(
        default=4,
        ge=1,
        le=16,
        description="Vehicle crops kept per track over its life (largest and sharpest) and read "
        "when it offends, besides the evidence frames; more reads, more agreement, more OCR time.",
    )
    follow_s: float = Field(
        default=2.0,
        ge=0,
        le=10,
        description="Seconds after an offence during which the vehicle's crops are still "
        "collected (its plate often comes into view as it passes); the plate is read after.",
    )
