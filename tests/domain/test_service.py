"""Is the station in service: spool writable, snapshot present, snapshot fresh enough."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.events import OutOfServiceReason
from kiosk.domain.service import Availability, SnapshotLimits, assess

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def run(
    *,
    storage_problem: str | None = None,
    built_at: datetime | None = None,
    snapshot_problem: str | None = None,
    limits: SnapshotLimits | None = None,
) -> Availability:
    return assess(
        storage_problem=storage_problem,
        snapshot_built_at=built_at,
        snapshot_problem=snapshot_problem,
        now=NOW,
        limits=limits or SnapshotLimits(max_age_hours=24, warn_age_hours=12),
    )


def test_fresh_snapshot_and_writable_spool_is_in_service() -> None:
    assert run(built_at=hours_ago(1)) == Availability(None, "", stale=False)


def test_storage_problem_wins_over_everything() -> None:
    result = run(storage_problem="disk full", built_at=None, snapshot_problem="file is corrupt")
    assert result == Availability(OutOfServiceReason.STORAGE_ERROR, "disk full")
    result = run(storage_problem="disk full", built_at=hours_ago(1000))
    assert result == Availability(OutOfServiceReason.STORAGE_ERROR, "disk full")


def test_no_snapshot_wins_over_age() -> None:
    result = run(built_at=None, snapshot_problem="the snapshot file is corrupt")
    assert result == Availability(OutOfServiceReason.NO_SNAPSHOT, "the snapshot file is corrupt")


def test_no_snapshot_has_a_plain_default_detail() -> None:
    result = run(built_at=None)
    assert result == Availability(
        OutOfServiceReason.NO_SNAPSHOT, "no patron snapshot has been loaded"
    )


def test_a_snapshot_problem_does_not_matter_when_a_snapshot_is_loaded() -> None:
    # The problem is about a newer snapshot that failed to load; the current one still serves.
    assert run(built_at=hours_ago(1), snapshot_problem="import failed").reason is None


@pytest.mark.parametrize(
    ("age", "max_age", "reason"),
    [
        (23, 24, None),
        (24, 24, None),  # exactly at the limit: still in service
        (24.01, 24, OutOfServiceReason.SNAPSHOT_TOO_OLD),
        (30, 24, OutOfServiceReason.SNAPSHOT_TOO_OLD),
        (1.6, 1.5, OutOfServiceReason.SNAPSHOT_TOO_OLD),
        (1000, 0, None),  # 0: no limit
        (100_000, 0, None),
    ],
)
def test_snapshot_age_limit(age: float, max_age: float, reason: OutOfServiceReason | None) -> None:
    limits = SnapshotLimits(max_age_hours=max_age, warn_age_hours=0)
    assert run(built_at=hours_ago(age), limits=limits).reason is reason


def test_too_old_detail_names_the_age_and_the_limit() -> None:
    result = run(built_at=hours_ago(30), limits=SnapshotLimits(max_age_hours=24))
    assert result.reason is OutOfServiceReason.SNAPSHOT_TOO_OLD
    assert result.detail == "the patron snapshot is 30 hours old (the limit is 24 hours)"
    result = run(built_at=hours_ago(3), limits=SnapshotLimits(max_age_hours=1.5))
    assert result.detail == "the patron snapshot is 3 hours old (the limit is 1.5 hours)"


def test_age_is_measured_across_time_zones() -> None:
    # 10:00 in New York (daylight time, UTC-4, since 2026-03-08) is 14:00 UTC: 0 hours old.
    new_york = datetime(2026, 3, 10, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    limits = SnapshotLimits(max_age_hours=1, warn_age_hours=0)
    assert run(built_at=new_york, limits=limits).reason is None
    assert run(built_at=NOW - timedelta(hours=2), limits=limits).reason is (
        OutOfServiceReason.SNAPSHOT_TOO_OLD
    )


@pytest.mark.parametrize(
    ("age", "warn", "stale"),
    [
        (1, 36, False),
        (36, 36, False),  # exactly at the warning age
        (37, 36, True),
        (1000, 36, True),
        (1000, 0, False),  # 0: never warn
    ],
)
def test_stale_warning(age: float, warn: float, stale: bool) -> None:
    # No age limit: a stale snapshot keeps serving, with a warning for staff.
    result = run(built_at=hours_ago(age), limits=SnapshotLimits(0, warn))
    assert result.reason is None
    assert result.stale is stale


def test_a_snapshot_past_its_limit_is_out_of_service_not_merely_stale() -> None:
    result = run(built_at=hours_ago(48), limits=SnapshotLimits(max_age_hours=24, warn_age_hours=12))
    assert result.reason is OutOfServiceReason.SNAPSHOT_TOO_OLD
    assert result.stale is False


def test_stale_but_within_the_limit() -> None:
    result = run(built_at=hours_ago(13), limits=SnapshotLimits(max_age_hours=24, warn_age_hours=12))
    assert result == Availability(None, "", stale=True)


def test_default_limits() -> None:
    limits = SnapshotLimits()
    assert (limits.max_age_hours, limits.warn_age_hours) == (0, 36)
    assert run(built_at=hours_ago(37), limits=limits) == Availability(None, stale=True)
