"""Keeping the installation running: `health` and `retention`.

Camera health checks, samples and alerts; how long evidence is kept and what goes
first when the evidence disk fills up.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.config.base import StrictModel


class HealthConfig(StrictModel):
    """Camera health checks, samples and alerts (see `streams.health`)."""

    check_every_s: float = Field(
        default=5.0, gt=0, le=300, description="Seconds between health checks of each camera."
    )
    sample_every_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Seconds between stored/published health samples; a state change is "
        "stored and published at once.",
    )
    retention_days: float = Field(
        default=30, gt=0, description="Health samples older than this are deleted; alerts are kept."
    )
    stale_after_s: float = Field(
        default=10.0, gt=0, description="A camera without a new frame for this long is offline."
    )
    frozen_after_s: float = Field(
        default=10.0, ge=0, description="Unchanging picture for this long: frozen picture."
    )
    persist_s: float = Field(
        default=10.0,
        ge=0,
        description="A black, washed-out, blurred or moved view must last this long to count.",
    )
    view_similarity: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Similarity to the reference snapshot below which the view moved or is "
        "obstructed.",
    )
    blur_ratio: float = Field(
        default=0.35,
        gt=0,
        lt=1,
        description="Sharpness below this fraction of the reference snapshot's: blurred.",
    )
    thumbnail_every_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds between thumbnails of each camera's newest frame for the "
        "operators' page (taken at a health check, so never more often than check_every_s).",
    )


class RetentionConfig(StrictModel):
    """How long evidence is kept, and what goes first when the evidence disk fills up.

    Ages count from the offence. Only decided violations lose evidence: a pending
    one, or one an officer holds a claim on, keeps it whatever its age or the disk.
    Deleting evidence keeps the violation row, its reviews and its evidence rows
    (marked deleted, with when and why) for the audit trail.
    """

    enabled: bool = Field(default=True, description="Run retention in the worker.")
    rejected_days: float | None = Field(
        default=90,
        gt=0,
        description="Evidence of rejected violations is deleted this many days after the "
        "offence; null keeps it for good.",
    )
    confirmed_days: float | None = Field(
        default=1827,
        gt=0,
        description="Evidence of confirmed violations (the basis of fines) is kept this many "
        "days after the offence, the legal period (default five years); null keeps it for good.",
    )
    min_free_fraction: float = Field(
        default=0.05,
        ge=0,
        lt=1,
        description="The evidence disk is nearly full when less than this fraction of it is free.",
    )
    min_free_bytes: int = Field(
        default=0,
        ge=0,
        description="The evidence disk is nearly full when fewer bytes than this are free "
        "(the larger of the two limits applies).",
    )
    early_statuses: tuple[Literal["rejected", "confirmed"], ...] = Field(
        default=("rejected",),
        description="Statuses whose evidence may go before its age, oldest offence first, while "
        "the disk is nearly full. Confirmed evidence backs fines: list it only where the law "
        "allows.",
    )
    check_every_s: float = Field(
        default=3600, gt=0, le=86400, description="Seconds between the worker's retention runs."
    )
    stuck_alert_every_s: float = Field(
        default=6 * 3600,
        ge=0,
        description="While the disk stays nearly full with nothing left to delete, the critical "
        "alert is repeated at most this often (a run that deletes evidence always alerts).",
    )
