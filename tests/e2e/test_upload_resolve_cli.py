"""End to end: `kiosk spool resolve`, staff's answer for a checkout sent with no answer that
the library system cannot tell about (issue 16). Checkouts made with the real `kiosk run
--headless`; `kiosk spool upload` through a proxy that loses the answer to the first
checkout, to a test ILS whose patron information lists no loans; then staff answer, and the
next upload and report follow the answer. Each step is the real command in a subprocess."""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.storage.audit import AuditLog
from tests.conftest import KioskHome, item
from tests.e2e.test_upload_cli import (
    ANA,
    BUILT,
    REPORT_LINE,
    assert_no_traceback,
    check_out,
    seen,
    sip2_section,
    uploads,
)
from tests.upload.ils import Faults, Library, ils, proxy

WAITING = "1 checkout sent with no answer waits for staff"


@pytest.fixture
def ready(home: KioskHome) -> KioskHome:
    home.import_standard_snapshot(built_at=BUILT)
    return home


@pytest.fixture
def library() -> Library:
    return Library(patrons={ANA}, items={item(n) for n in range(1, 6)}, lists_charged_items=False)


@pytest.fixture
def faults() -> Faults:
    return Faults(swallow_answer=3)  # 94, 98, then the first checkout's answer: lost


@pytest.fixture
def port(library: Library, faults: Faults) -> Iterator[int]:
    with ils(library) as p, proxy(p, faults) as via:
        yield via


@pytest.fixture
def left(ready: KioskHome, library: Library, port: int) -> KioskHome:
    """Two checkouts uploaded; the answer to the first was lost and the ILS cannot tell
    whether it has it: #1 waits for staff, #2 was accepted."""
    check_out(ready, item(1), item(2))
    section = sip2_section(port).replace("timeout_seconds = 5", "timeout_seconds = 1")
    ready.write_config(extra=section.replace("reconnects = 0", "reconnects = 1"))
    result = ready.kiosk("spool", "upload")
    assert result.returncode == 0, result.stderr
    assert "1 accepted, 0 rejected, 1 still to send." in result.stdout
    assert "answer with kiosk spool resolve" in result.stdout
    assert (
        "  On loan to the patron there: kiosk spool resolve 1 --confirmed. Not there: "
        "kiosk spool resolve 1 --resend."
    ) in result.stdout
    found = REPORT_LINE.search(result.stdout)
    assert found, result.stdout
    html = Path(found.group(1)).read_text("utf-8")
    assert "kiosk spool resolve 1 --confirmed" in html and "kiosk spool resolve 1 --resend" in html
    assert uploads(ready) == {item(1): ("sent", 1), item(2): ("accepted", 1)}
    assert seen(library) == {item(1): 1, item(2): 1}
    assert library.loans == {item(1): ANA, item(2): ANA}  # the ILS did make the first loan
    return ready


def resolve_entries(home: KioskHome) -> list[tuple[str, dict[str, object]]]:
    return [
        (e.actor, e.details)
        for e in AuditLog(home.data_dir).entries()
        if e.action == "spool.resolve"
    ]


def test_the_list_the_status_and_the_staff_screen_line_name_the_command(left: KioskHome) -> None:
    listed = left.kiosk("spool", "resolve")
    assert listed.returncode == 0, listed.stderr
    assert "1 sent with no answer; the library system cannot tell whether it has them." in (
        listed.stdout
    )
    assert f"  #1  2026-11-23 10:00  patron **********0018  item {item(1)}  due 2026-12-14" in (
        listed.stdout
    )
    assert "On loan to the patron there: kiosk spool resolve 1 --confirmed" in listed.stdout
    assert "Not there: kiosk spool resolve 1 --resend" in listed.stdout

    status = left.kiosk("status")
    assert status.returncode == 0, status.stderr
    assert (
        f"{WAITING}: look in the ILS, then `kiosk spool resolve REF --confirmed` (it is "
        "there) or `--resend` (it is not); `kiosk spool resolve` lists them"
    ) in status.stdout


def test_confirmed_is_never_sent_again_and_the_report_and_audit_say_so(
    left: KioskHome, library: Library, faults: Faults
) -> None:
    answered = left.kiosk("spool", "resolve", "#1", "--confirmed")
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.startswith("Confirmed by staff: #1.")
    assert uploads(left)[item(1)] == ("accepted", 1)
    assert resolve_entries(left) == [
        ("cli", {"answer": "confirmed", "checkout": "#1", "txn_id": resolve_txn(left, 1)})
    ]

    asked = len(faults.log)
    again = left.kiosk("spool", "upload")
    assert again.returncode == 0, again.stderr
    assert "Nothing to send" in again.stdout
    assert len(faults.log) == asked  # not even a login
    assert seen(library) == {item(1): 1, item(2): 1}
    assert "This period: 2 checkouts: 1 accepted, 1 confirmed by staff." in again.stdout
    assert "Answered by staff (1):" in again.stdout
    assert f"  #1 item {item(1)}: confirmed by staff (cli, " in again.stdout
    found = REPORT_LINE.search(again.stdout)
    assert found, again.stdout
    assert "<h2>Answered by staff (1)</h2>" in Path(found.group(1)).read_text("utf-8")
    assert ",confirmed by staff,,,1,," in Path(found.group(2)).read_text("utf-8")
    assert WAITING not in left.kiosk("status").stdout
    assert left.kiosk("audit", "verify").returncode == 0


def test_resend_sends_it_exactly_once_more(left: KioskHome, library: Library) -> None:
    del library.loans[item(1)]  # staff looked: the ILS has no such loan
    answered = left.kiosk("spool", "resolve", "1", "--resend")
    assert answered.returncode == 0, answered.stderr
    assert "To be sent again at staff's request: #1." in answered.stdout
    assert resolve_entries(left) == [
        ("cli", {"answer": "resend", "checkout": "#1", "txn_id": resolve_txn(left, 1)})
    ]
    report = left.kiosk("spool", "report")
    assert "1 to be sent again at staff's request" in report.stdout

    sent = left.kiosk("spool", "upload")
    assert sent.returncode == 0, sent.stderr
    assert "1 accepted, 0 rejected, 0 still to send." in sent.stdout
    assert "  1 sent once more at staff's request." in sent.stdout
    assert f"  #1 item {item(1)}: resent at staff's request (cli, " in sent.stdout
    assert seen(library) == {item(1): 2, item(2): 1}
    assert uploads(left)[item(1)] == ("accepted", 2)

    again = left.kiosk("spool", "upload")
    assert again.returncode == 0 and "Nothing to send" in again.stdout
    assert seen(library) == {item(1): 2, item(2): 1}


def test_refusals_change_nothing(left: KioskHome) -> None:
    both = left.kiosk("spool", "resolve", "1", "--confirmed", "--resend")
    assert both.returncode == 2
    assert "give one answer: --confirmed or --resend, not both" in both.stderr

    neither = left.kiosk("spool", "resolve", "1")
    assert neither.returncode == 2 and "--confirmed (the loan is there)" in neither.stderr

    unknown = left.kiosk("spool", "resolve", "#99", "--confirmed")
    assert unknown.returncode == 65
    assert_no_traceback(unknown.stderr)
    assert "#99: no such checkout in this spool" in unknown.stderr

    accepted = left.kiosk("spool", "resolve", "1", "2", "--resend")  # one good, one not
    assert accepted.returncode == 65
    assert (
        "#2 is not a checkout sent with no answer: it was accepted by the library system"
    ) in accepted.stderr
    assert "kiosk: Nothing was changed." in accepted.stderr

    assert uploads(left)[item(1)] == ("sent", 1)
    assert resolve_entries(left) == []
    assert WAITING in left.kiosk("status").stdout

    with (left.data_dir / "upload.lock").open("a") as lock:  # an upload is running
        fcntl.flock(lock, fcntl.LOCK_EX)
        busy = left.kiosk("spool", "resolve", "1", "--resend")
    assert busy.returncode == 75 and "another upload of this spool is running" in busy.stderr
    assert resolve_entries(left) == []

    assert left.kiosk("spool", "resolve", "1", "--resend").returncode == 0
    twice = left.kiosk("spool", "resolve", "1", "--resend")
    assert twice.returncode == 65 and "#1 is already to be sent again" in twice.stderr
    assert len(resolve_entries(left)) == 1


def resolve_txn(home: KioskHome, seq: int) -> str:
    conn = sqlite3.connect(f"file:{home.data_dir / 'spool.db'}?mode=ro", uri=True)
    try:
        (txn_id,) = conn.execute("SELECT txn_id FROM checkouts WHERE seq = ?", (seq,)).fetchone()
    finally:
        conn.close()
    return str(txn_id)
