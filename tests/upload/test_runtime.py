"""Running an upload from the config (kiosk/runtime/uploads.py): what `kiosk spool upload`,
the staff screen and the kiosk's own watcher share. A real config file, a real spool, the test
ILS on 127.0.0.1."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.config import KioskConfig, load_config
from kiosk.domain.checkout import Checkout
from kiosk.runtime.staff import StaffDesk
from kiosk.runtime.staff_jobs import facts
from kiosk.runtime.uploads import NotConfigured, UploadWatcher, run_upload
from kiosk.storage.audit import AuditLog
from kiosk.storage.spool import Spool
from kiosk.upload.report import ACCEPTED, REJECTED
from tests.conftest import KioskHome, item, patron
from tests.upload.ils import Library, ils

TZ = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
ANA = patron(1)
POLL_LIMIT_SECONDS = 20  # a guard against a hung watcher, not a timing assumption


def configured(home: KioskHome, port: int | None) -> KioskConfig:
    extra = ""
    if port is not None:
        extra = f"""
[sip2]
host = "127.0.0.1"
port = {port}
institution = "MAIN"
login_user = "kiosk1"
login_password = "secret"
timeout_seconds = 5
check_interval_seconds = 10
"""
    home.write_config(extra=extra)
    config = load_config(home.config_path)
    spool = Spool.open(config.data_dir, create=True)
    try:
        for n in (1, 2):
            spool.record_checkout(
                Checkout(
                    session_id="s1",
                    patron=ANA,
                    item=item(n),
                    due_date=date(2026, 12, 14),
                    special_due=False,
                    occurred_at=T0 + timedelta(minutes=n),
                ),
                config.kiosk.id,
                TZ,
            )
    finally:
        spool.close()
    return config


def upload_entries(config: KioskConfig) -> list[tuple[str, dict[str, object]]]:
    return [
        (e.actor, e.details)
        for e in AuditLog(config.data_dir).entries()
        if e.action == "spool.upload"
    ]


def test_run_upload_writes_the_report_and_the_audit_entry(home: KioskHome) -> None:
    lib = Library(patrons={ANA}, items={item(1), item(2)}, refuse={item(2): "Lost"})
    with ils(lib) as port:
        config = configured(home, port)
        outcome = run_upload(config, actor="staff:ana", now=lambda: datetime.now(UTC))

    assert (outcome.run.accepted, outcome.run.rejected, outcome.run.error) == (1, 1, "")
    assert [line.result for line in outcome.report.lines] == [ACCEPTED, REJECTED]
    csv_path, html_path = outcome.files
    assert csv_path.parent == config.data_dir / "reports"
    assert csv_path.exists() and html_path.exists()
    assert upload_entries(config) == [
        (
            "staff:ana",
            {
                "target": f"sip2://127.0.0.1:{port}",
                "accepted": 1,
                "rejected": 1,
                "still_pending": 0,
                "report": str(html_path),
            },
        )
    ]
    # SIP2 dates are the library's local time, whatever zone `now` is given in.
    assert [r.transaction_date for r in lib.checkouts_seen] == [
        "20261123    100100",
        "20261123    100200",
    ]


def test_run_upload_records_the_error_when_the_ils_is_not_there(home: KioskHome) -> None:
    lib = Library(patrons={ANA}, items={item(1), item(2)}, online=False)
    with ils(lib) as port:
        config = configured(home, port)
        outcome = run_upload(config, actor="cli", now=lambda: datetime.now(UTC))
    assert "off-line" in outcome.run.error
    assert outcome.run.still_pending == 2
    ((_, details),) = upload_entries(config)
    assert details["error"] == outcome.run.error


def test_run_upload_without_a_sip2_section_is_not_configured(home: KioskHome) -> None:
    config = configured(home, None)
    with pytest.raises(NotConfigured, match=r"no \[sip2\] section") as raised:
        run_upload(config, actor="cli", now=lambda: datetime.now(UTC))
    assert raised.value.exit_code == 78
    assert upload_entries(config) == []


def test_the_watcher_uploads_by_itself_once_the_ils_answers_again(home: KioskHome) -> None:
    lib = Library(patrons={ANA}, items={item(1), item(2)}, online=False)
    with ils(lib) as port:
        config = configured(home, port)
        watcher = UploadWatcher(config, now=lambda: datetime.now(UTC))
        watcher.interval = 0.05  # the config's minimum is 10 s; the loop is what is tested
        watcher.start()
        try:
            deadline = time.monotonic() + POLL_LIMIT_SECONDS
            while watcher.last is None or not watcher.last.run.error:
                assert time.monotonic() < deadline, "the watcher never tried the ILS"
                time.sleep(0.01)
            assert lib.checkouts_seen == []  # off-line: nothing sent
            lib.online = True
            while watcher.last is None or watcher.last.run.accepted != 2:
                assert time.monotonic() < deadline, "the watcher never uploaded"
                time.sleep(0.01)
        finally:
            watcher.stop()
    assert sorted(r.item_identifier for r in lib.checkouts_seen) == [item(1), item(2)]
    actors = {actor for actor, _ in upload_entries(config)}
    assert actors == {"kiosk"}


def test_the_staff_screen_tells_of_due_dates_the_ils_changed(home: KioskHome) -> None:
    lib = Library(
        patrons={ANA},
        items={item(1), item(2)},
        due={item(1): "20261220    235959"},  # the receipt said 2026-12-14
    )
    with ils(lib) as port:
        config = configured(home, port)
        desk = StaffDesk(config, actor="staff:ana", now=lambda: datetime.now(UTC))
        outcome = desk.upload()

    said = "1 loan due on other dates than the receipts said: see the report"
    assert f"{said}." in outcome.lines
    status = desk.status()
    assert status.ils.endswith(f"; {said}") and status.ils_warn
    [line] = [line for line in facts(status).lines if line.label == "Library system"]
    assert line.value == status.ils and line.warn


def test_the_staff_screen_says_what_helps_after_a_refused_login(home: KioskHome) -> None:
    lib = Library(patrons={ANA}, items={item(1), item(2)}, password="other")
    with ils(lib) as port:
        config = configured(home, port)
        outcome = StaffDesk(config, actor="staff:ana", now=lambda: datetime.now(UTC)).upload()
    assert not outcome.ok
    [stopped] = [line for line in outcome.lines if line.startswith("Stopped:")]
    assert "check sip2.login_user / the password file" in stopped
    assert "running it again will not help until the login is fixed" in stopped
    assert not any("to follow up by hand" in line for line in outcome.lines)
