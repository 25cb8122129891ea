"""`no_stopping`: a vehicle standing in a no-stopping zone beyond the allowed dwell."""

from __future__ import annotations

from pipeline.rules.zone_dwell import ZoneDwell


class NoStopping(ZoneDwell):
    """Flags a halt in a no-stopping zone longer than the zone's `max_dwell_s`.

    The allowed dwell of a no-stopping zone is short (a few seconds of queueing);
    a brief stop within it is not flagged. See `ZoneDwell` for how a stay is followed.
    """

    type = "no_stopping"
    verb = "stopped"
