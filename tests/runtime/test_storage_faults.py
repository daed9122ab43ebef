"""A spool that fails under the running station (issue 17, point 4): the database error
arrives from kiosk.storage as a StorageError, and the station goes out of service with one
plain line, instead of an SQLAlchemy or sqlite3 exception escaping the runtime."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.barcodes import BarcodeRule, BarcodeRules, CheckDigit
from kiosk.domain.events import OutOfService, OutOfServiceReason, PatronAccepted
from kiosk.domain.patrons import PatronPolicy
from kiosk.domain.service import SnapshotLimits
from kiosk.domain.station import StationRules
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.station import StationRuntime
from kiosk.storage.snapshot import SnapshotStore
from kiosk.storage.spool import Spool
from tests.conftest import item, patron, standard_csv

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
RULES = BarcodeRules(
    patron=BarcodeRule("2", 14, check_digit=CheckDigit.LUHN),
    item=BarcodeRule("3", 14, check_digit=CheckDigit.LUHN),
)


@pytest.fixture
def station(tmp_path: Path) -> Iterator[StationRuntime]:
    data_dir = tmp_path / "data"
    patrons = tmp_path / "patrons.csv"
    patrons.write_text(standard_csv(), encoding="utf-8")
    SnapshotStore(data_dir).import_csv(
        patrons, patron_rule=RULES.patron, built_at=T0 - timedelta(hours=1), now=T0
    )
    runtime = StationRuntime(
        rules=StationRules(
            kiosk_id="TEST-SC01",
            timezone=ZoneInfo("America/New_York"),
            patron_policy=PatronPolicy(max_items_per_patron=5),  # the spool is read per patron
        ),
        barcode_rules=RULES,
        limits=SnapshotLimits(0, 36),
        snapshots=SnapshotStore(data_dir),
        spool=Spool.open(data_dir, create=True),
        spool_problem=None,
        clock=ManualClock(T0),
    )
    runtime.start()
    yield runtime
    runtime.close()


def damage(runtime: StationRuntime, *tables: str) -> None:
    """Another connection takes tables away under the running station's spool."""
    assert runtime.spool is not None
    with closing(sqlite3.connect(runtime.spool.path, isolation_level=None)) as conn:
        for table in tables:
            conn.execute(f"DROP TABLE {table}")


def test_a_spool_that_cannot_be_read_takes_the_station_out_of_service_plainly(
    station: StationRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    damage(station, "settings", "checkouts")
    with caplog.at_level(logging.ERROR):
        events = station.scan(patron(1))  # reads the staff settings, then the patron's loans
    assert "staff settings cannot be read: the spool cannot be used: no such table: settings" in (
        caplog.text
    )
    down = [e for e in events if isinstance(e, OutOfService)]
    assert down == [
        OutOfService(
            OutOfServiceReason.STORAGE_ERROR,
            "the spool cannot be used: no such table: checkouts",
        )
    ]
    assert not any(isinstance(e, PatronAccepted) for e in events)


def test_a_checkout_that_cannot_be_stored_takes_the_station_out_of_service_plainly(
    station: StationRuntime,
) -> None:
    assert any(isinstance(e, PatronAccepted) for e in station.scan(patron(1)))
    damage(station, "checkouts")
    events = station.scan(item(1))
    down = [e for e in events if isinstance(e, OutOfService)]
    assert [e.reason for e in down] == [OutOfServiceReason.STORAGE_ERROR]
    assert down[0].detail == "the checkout could not be stored: no such table: checkouts"
