"""`no_parking`: a vehicle staying in a no-parking zone beyond the allowed dwell."""

from __future__ import annotations

from pipeline.rules.zone_dwell import ZoneDwell


class NoParking(ZoneDwell):
    """Flags a stay in a no-parking zone longer than the zone's `max_dwell_s`.

    Stopping briefly (to drop someone off) is allowed; staying is not. See `ZoneDwell`
    for how a stay is followed.
    """

    type = "no_parking"
    verb = "parked"
