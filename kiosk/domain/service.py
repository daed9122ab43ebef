"""Whether the station can serve patrons: snapshot present and fresh, spool writable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.domain.events import OutOfServiceReason

# How far ahead of the station's clock a snapshot may say it was built: the library
# system's clock and the kiosk's rarely agree to the second. Beyond it one of the two clocks is
# wrong (a board without a real-time clock that started before its time was set), and the
# snapshot's age, which max_age_hours limits, means nothing: it is refused at import, and a
# station whose clock falls behind its snapshot says so.
FUTURE_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True)
class SnapshotLimits:
    max_age_hours: float = 0  # 0: no limit
    warn_age_hours: float = 36


@dataclass(frozen=True)
class Availability:
    reason: OutOfServiceReason | None  # None: in service
    detail: str = ""
    stale: bool = False  # in service, but staff should load a newer snapshot


def assess(
    *,
    storage_problem: str | None,
    paused: str | None = None,
    snapshot_built_at: datetime | None,
    snapshot_problem: str | None,
    now: datetime,
    limits: SnapshotLimits,
) -> Availability:
    """The most serious problem wins: nothing can be stored, then staff paused the station
    (paused: their message), then no snapshot, then its age."""
    if storage_problem is not None:
        return Availability(OutOfServiceReason.STORAGE_ERROR, storage_problem)
    if paused is not None:
        return Availability(OutOfServiceReason.PAUSED, paused)
    if snapshot_built_at is None:
        detail = snapshot_problem or "no patron snapshot has been loaded"
        return Availability(OutOfServiceReason.NO_SNAPSHOT, detail)
    age_hours = (now - snapshot_built_at).total_seconds() / 3600
    if limits.max_age_hours > 0 and age_hours > limits.max_age_hours:
        return Availability(
            OutOfServiceReason.SNAPSHOT_TOO_OLD,
            f"the patron snapshot is {age_hours:.0f} hours old "
            f"(the limit is {limits.max_age_hours:g} hours)",
        )
    stale = limits.warn_age_hours > 0 and age_hours > limits.warn_age_hours
    clock_behind = snapshot_built_at - now > FUTURE_TOLERANCE  # staff must look at the clock
    return Availability(None, stale=stale or clock_behind)
