"""The upload report, built from real spool states: every way a checkout can stand with the
library system, counted, listed for follow-up, written as CSV and HTML readable only by the
kiosk's user."""

from __future__ import annotations

import csv
import io
import re
import stat
from datetime import UTC, date, datetime, timedelta
from html import escape as html_escape
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.domain.checkout import Checkout
from kiosk.storage.spool import Spool, UploadRun
from kiosk.upload.client import Endpoint
from kiosk.upload.replay import Account, upload
from kiosk.upload.report import (
    ACCEPTED,
    BY_FILE,
    COLUMNS,
    PENDING,
    REJECTED,
    UNANSWERED,
    WHAT_TO_DO,
    Report,
    build_report,
    render_csv,
    render_html,
    write_report,
)
from tests.conftest import item, patron
from tests.upload.ils import Library, ils

TZ = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York
MADE = datetime(2026, 11, 24, 9, 30, 15, tzinfo=TZ)
ANA = patron(1)
EVIL = '<script>alert("x")</script> & on hold'
RESULTS = [ACCEPTED, REJECTED, UNANSWERED, PENDING, BY_FILE]  # seq 1 to 5, in this order


def record(spool: Spool, count: int) -> list[str]:
    return [
        spool.record_checkout(
            Checkout(
                session_id="s1",
                patron=ANA,
                item=item(n),
                due_date=date(2026, 12, 14),
                special_due=False,
                occurred_at=T0 + timedelta(minutes=n),
            ),
            "TEST-SC01",
            TZ,
        ).txn_id
        for n in range(1, count + 1)
    ]


def every_state(spool: Spool) -> list[str]:
    """Five checkouts: accepted, rejected, sent without an answer, never sent, and handed over
    by an export file, in that order."""
    ids = record(spool, 5)
    when = T0.astimezone(TZ) + timedelta(hours=2)
    spool.mark_sent(ids[0], when)
    spool.mark_answered(ids[0], accepted=True, message="", ils_due="20261214    235959", when=when)
    spool.mark_sent(ids[1], when)
    spool.mark_answered(ids[1], accepted=False, message=EVIL, ils_due="", when=when)
    assert spool.mark_sent(
        ids[1], when, expected="rejected"
    )  # retried once (--retry-rejected), refused again
    spool.mark_answered(ids[1], accepted=False, message=EVIL, ils_due="", when=when)
    spool.mark_sent(ids[2], when)
    spool.record_export("koc", "/media/usb/x.koc", "0" * 64, [ids[4]], when)
    return ids


def run_with(error: str = "") -> UploadRun:
    start = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    return UploadRun(start, start + timedelta(minutes=1), "sip2://ils:6001", 1, 1, 2, error)


def report_of(spool: Spool, run: UploadRun | None = None) -> Report:
    return build_report(spool.upload_states(), kiosk_id="TEST-SC01", run=run, made_at=MADE)


def test_each_state_gets_its_result_and_the_counts_add_up(spool: Spool) -> None:
    every_state(spool)
    report = report_of(spool)
    assert [line.result for line in report.lines] == RESULTS
    assert [line.state.checkout.seq for line in report.lines] == [1, 2, 3, 4, 5]
    assert report.counts == dict.fromkeys(RESULTS, 1)
    # Sent and refused, sent with no answer: staff's; never sent: the next upload's.
    assert [line.state.checkout.seq for line in report.follow_up] == [2, 3]
    assert [line.state.checkout.seq for line in report.never_sent] == [4]
    assert report.summary() == (
        "5 checkouts: 1 accepted, 1 rejected, 1 sent, no answer, 1 never sent, "
        "1 handed over by file"
    )


def test_the_summary_leaves_out_what_did_not_happen(spool: Spool) -> None:
    ids = record(spool, 3)
    for txn in ids:
        spool.mark_sent(txn, MADE)
        spool.mark_answered(txn, accepted=True, message="", ils_due="", when=MADE)
    report = report_of(spool)
    assert report.summary() == "3 checkouts: 3 accepted"
    assert report.follow_up == ()
    html = render_html(report)
    assert "To follow up by hand (0)" in html
    assert "Nothing: the library system has every checkout." in html


def test_the_csv_parses_back_with_its_columns(spool: Spool) -> None:
    every_state(spool)
    text = render_csv(report_of(spool))
    assert text.endswith("\r\n")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    assert tuple(reader.fieldnames or ()) == COLUMNS
    assert [r["result"] for r in rows] == RESULTS
    first, second = rows[0], rows[1]
    assert first == {
        "seq": "1",
        "occurred_at": "2026-11-23T10:01:00-05:00",
        "patron": ANA,  # in full: staff need it to follow up
        "item": item(1),
        "due_date": "2026-12-14",
        "result": ACCEPTED,
        "ils_message": "",
        "ils_due_date": "20261214    235959",
        "attempts": "1",
        "ils_due_differs": "",
        "staff_answer": "",
    }
    assert second["ils_message"] == EVIL  # the quote and the comma-free text survive as-is
    assert second["attempts"] == "2"
    assert [r["attempts"] for r in rows[2:]] == ["1", "0", "0"]


def test_the_html_escapes_what_the_ils_said_and_lists_follow_ups_first(spool: Spool) -> None:
    every_state(spool)
    html = render_html(report_of(spool, run_with(error="<b>line dropped</b>")))

    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; on hold" in html
    assert "<b>line dropped</b>" not in html
    assert "Stopped: &lt;b&gt;line dropped&lt;/b&gt;" in html
    assert "Last upload to sip2://ils:6001: 1 accepted, 1 rejected, 2 still to send" in html

    follow = html.index("<h2>To follow up by hand (2)</h2>")
    never = html.index("<h2>Never sent (1)</h2>")
    every = html.index("<h2>Every checkout (5)</h2>")
    assert follow < never < every
    follow_table, never_table = html[follow:never], html[never:every]
    every_table = html[every:]
    # The follow-up table: exactly the sent ones staff must look at (refused, no answer).
    assert re.findall(r"<tr class=\"(\w+)\">", follow_table) == ["rejected", "sent"]
    for result in (REJECTED, UNANSWERED):
        assert html_escape(WHAT_TO_DO[result]) in follow_table
    assert html_escape(WHAT_TO_DO[PENDING]) not in follow_table
    assert re.findall(r"<tr class=\"(\w+)\">", never_table) == ["never"]
    assert html_escape(WHAT_TO_DO[PENDING]) in never_table
    assert item(1) not in follow_table and item(5) not in follow_table
    assert all(item(n) in every_table for n in range(1, 6))
    assert "What to do" not in every_table
    assert html.count("<tr class=") == 2 + 1 + 5


def test_without_a_run_the_html_says_nothing_about_one(spool: Spool) -> None:
    every_state(spool)
    html = render_html(report_of(spool, None))
    assert "Last upload" not in html
    assert "Made 2026-11-24T09:30:15-05:00." in html


def test_the_files_are_named_by_time_and_private(spool: Spool, tmp_path: Path) -> None:
    every_state(spool)
    folder = tmp_path / "reports"
    csv_path, html_path = write_report(report_of(spool, run_with()), folder)
    assert (csv_path.name, html_path.name) == (
        "upload-20261124-093015.csv",
        "upload-20261124-093015.html",
    )
    assert csv_path.parent == folder and html_path.parent == folder
    for path in (csv_path, html_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert csv_path.read_bytes() == render_csv(report_of(spool, run_with())).encode("utf-8")
    assert "<h1>Upload report, self-checkout TEST-SC01</h1>" in html_path.read_text("utf-8")


def test_a_report_after_a_real_upload(spool: Spool) -> None:
    record(spool, 3)
    lib = Library(
        patrons={ANA}, items={item(1), item(2), item(3)}, refuse={item(2): "Claims returned"}
    )
    with ils(lib) as port:
        run, _ = upload(
            spool,
            Endpoint("127.0.0.1", port, timeout=5),
            Account("kiosk1", "secret", "MAIN-SC01", "MAIN"),
            now=lambda: datetime.now(TZ),
            sleep=lambda s: None,
        )
    report = build_report(
        spool.upload_states(), kiosk_id="TEST-SC01", run=spool.last_upload_run(), made_at=MADE
    )
    assert [line.result for line in report.lines] == [ACCEPTED, REJECTED, ACCEPTED]
    assert [line.state.message for line in report.follow_up] == ["Claims returned"]
    rows = list(csv.DictReader(io.StringIO(render_csv(report), newline="")))
    assert [r["ils_due_date"] for r in rows] == ["20261214    235959", "", "20261214    235959"]
    assert report.run is not None and report.run.target == run.target
    html = render_html(report)
    assert f"Last upload to {run.target}: 2 accepted, 1 rejected, 0 still to send" in html


def test_the_summary_counts_in_plain_words() -> None:
    made = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert build_report([], kiosk_id="K1", run=None, made_at=made).summary() == "no checkouts"
