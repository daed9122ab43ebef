"""End to end: checkouts made with the real `kiosk run --headless`, then `kiosk spool upload`
to a real SIP2 server (pysip2, on 127.0.0.1 in this test process), `kiosk spool report`, the
audit trail and the file export afterwards. Each step is the real command in a subprocess."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import KioskHome, item, patron
from tests.upload.ils import Library, ils

CLOCK = "2026-11-23T10:00:00-05:00"  # a Monday: 21 days later is 2026-12-14
BUILT = "2026-11-23T06:00:00-05:00"
ANA = patron(1)
PASSWORD = "secret"
REPORT_LINE = re.compile(r"^Report: (\S+\.html) \(printable\), (\S+\.csv)$", re.MULTILINE)


def sip2_section(port: int, password: str = f'login_password = "{PASSWORD}"') -> str:
    return f"""
[sip2]
host = "127.0.0.1"
port = {port}
institution = "MAIN"
login_user = "kiosk1"
{password}
location = "MAIN-SC01"
timeout_seconds = 5
reconnects = 0
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ready(home: KioskHome) -> KioskHome:
    home.import_standard_snapshot(built_at=BUILT)
    return home


@pytest.fixture
def library() -> Library:
    return Library(patrons={ANA}, items={item(n) for n in range(1, 6)})


@pytest.fixture
def port(library: Library) -> Iterator[int]:
    with ils(library) as p:
        yield p


def check_out(home: KioskHome, *items: str) -> list[str]:
    """Ana borrows these at the kiosk (headless); the txn ids it announced."""
    lines = "".join(f"{line}\n" for line in (ANA, *items))
    result = home.kiosk("run", "--headless", "--clock", CLOCK, input=lines)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    done = [e for e in events if e["event"] == "item_checked_out"]
    assert [e["item"] for e in done] == list(items)
    return [e["txn_id"] for e in done]


def uploads(home: KioskHome) -> dict[str, tuple[str, int]]:
    """item -> (state, attempts), read from the spool with plain sqlite3."""
    conn = sqlite3.connect(f"file:{home.data_dir / 'spool.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT c.item, u.state, u.attempts FROM uploads u "
            "JOIN checkouts c ON c.id = u.checkout_id"
        ).fetchall()
    finally:
        conn.close()
    return {r[0]: (r[1], r[2]) for r in rows}


def checkouts_in_spool(home: KioskHome) -> list[tuple[str, str | None]]:
    conn = sqlite3.connect(f"file:{home.data_dir / 'spool.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT item, handed_over_at FROM checkouts ORDER BY seq").fetchall()
    finally:
        conn.close()


def seen(library: Library) -> Counter[str]:
    return Counter(r.item_identifier for r in library.checkouts_seen)


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr


# Uploading -----------------------------------------------------------------------------------


def test_upload_sends_each_checkout_once_prints_counts_and_the_report(
    ready: KioskHome, library: Library, port: int
) -> None:
    check_out(ready, item(1), item(2))
    ready.write_config(extra=sip2_section(port))

    first = ready.kiosk("spool", "upload")
    assert first.returncode == 0, first.stderr
    assert_no_traceback(first.stderr)
    assert f"Upload to sip2://127.0.0.1:{port}: 2 accepted, 0 rejected, 0 still to send." in (
        first.stdout
    )
    assert "This period: 2 checkouts: 2 accepted." in first.stdout
    assert "To follow up" not in first.stdout
    found = REPORT_LINE.search(first.stdout)
    assert found, first.stdout
    html, csv = Path(found.group(1)), Path(found.group(2))
    for path in (html, csv):
        assert path.parent == ready.data_dir / "reports"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"{item(1)},2026-12-14,accepted" in csv.read_text(encoding="utf-8")

    # What the library system saw: the kiosk's own dates, the kiosk's own order.
    assert [r.item_identifier for r in library.checkouts_seen] == [item(1), item(2)]
    for req in library.checkouts_seen:
        assert req.patron_identifier == ANA
        assert req.transaction_date == "20261123    100000"
        assert req.nb_due_date == "20261214    235959"
        assert req.no_block == "Y"
    assert uploads(ready) == {item(1): ("accepted", 1), item(2): ("accepted", 1)}
    assert all(handed for _, handed in checkouts_in_spool(ready))

    second = ready.kiosk("spool", "upload")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("Nothing to send:")
    assert "This period: 2 checkouts: 2 accepted." in second.stdout
    assert seen(library) == Counter({item(1): 1, item(2): 1})  # nothing sent twice
    assert library.logins == 1  # the second run did not even connect


def test_refused_checkouts_are_listed_to_follow_up_and_can_be_retried(
    ready: KioskHome, library: Library, port: int
) -> None:
    library.refuse[item(2)] = "Item on hold for another patron"
    check_out(ready, item(1), item(2), item(3))
    ready.write_config(extra=sip2_section(port))

    result = ready.kiosk("spool", "upload")
    assert result.returncode == 0, result.stderr  # a refusal is an answer, not a failure
    assert "2 accepted, 1 rejected, 0 still to send." in result.stdout
    assert "To follow up by hand (1):" in result.stdout
    assert f"  #2 item {item(2)}: rejected: Item on hold for another patron" in result.stdout
    assert uploads(ready)[item(2)] == ("rejected", 1)

    library.refuse.clear()
    plain = ready.kiosk("spool", "upload")
    assert plain.stdout.startswith("Nothing to send:")
    assert "To follow up by hand (1):" in plain.stdout
    assert seen(library)[item(2)] == 1
    retried = ready.kiosk("spool", "upload", "--retry-rejected")
    assert retried.returncode == 0, retried.stderr
    assert "1 accepted, 0 rejected, 0 still to send." in retried.stdout
    assert "To follow up" not in retried.stdout
    assert seen(library) == Counter({item(1): 1, item(2): 2, item(3): 1})
    assert uploads(ready)[item(2)] == ("accepted", 2)


def test_with_no_ils_listening_it_exits_69_with_one_clear_line(ready: KioskHome) -> None:
    check_out(ready, item(1), item(2))
    nowhere = closed_port()
    ready.write_config(extra=sip2_section(nowhere))

    result = ready.kiosk("spool", "upload")
    assert result.returncode == 69
    assert_no_traceback(result.stderr)
    assert result.stderr.splitlines() == [
        f"kiosk: the upload stopped: sip2://127.0.0.1:{nowhere} does not answer: "
        "Connection refused. Nothing was sent: run it again when the ILS is up."
    ]


def test_with_no_ils_listening_nothing_is_lost_and_it_all_goes_later(
    ready: KioskHome, library: Library, port: int
) -> None:
    check_out(ready, item(1), item(2))
    nowhere = closed_port()
    ready.write_config(extra=sip2_section(nowhere))

    result = ready.kiosk("spool", "upload")
    assert result.returncode == 69
    assert_no_traceback(result.stderr)
    assert "0 accepted, 0 rejected, 2 still to send." in result.stdout
    # Never sent: nothing for staff to follow up by hand, only the next upload.
    assert "To follow up" not in result.stdout
    assert "Never sent (2): Not in the ILS: it goes with the next upload" in result.stdout
    html = Path(REPORT_LINE.search(result.stdout).group(1)).read_text("utf-8")  # type: ignore[union-attr]
    assert "<h2>To follow up by hand (0)</h2>" in html and "<h2>Never sent (2)</h2>" in html
    assert "Nothing was sent: run it again when the ILS is up." in html
    assert checkouts_in_spool(ready) == [(item(1), None), (item(2), None)]
    assert uploads(ready) == {}  # nothing was even marked sent

    # The library system is back: everything goes, once.
    ready.write_config(extra=sip2_section(port))
    later = ready.kiosk("spool", "upload")
    assert later.returncode == 0, later.stderr
    assert "2 accepted, 0 rejected, 0 still to send." in later.stdout
    assert seen(library) == Counter({item(1): 1, item(2): 1})


def test_a_wrong_password_is_said_plainly(ready: KioskHome, library: Library, port: int) -> None:
    check_out(ready, item(1))
    ready.write_config(extra=sip2_section(port, password='login_password = "guess"'))
    result = ready.kiosk("spool", "upload")
    assert result.returncode == 69
    assert_no_traceback(result.stderr)
    assert result.stderr.splitlines() == [
        f"kiosk: the upload stopped: the ILS (sip2://127.0.0.1:{port}) refused the login of "
        "'kiosk1': check sip2.login_user / the password file. Nothing was sent: running it "
        "again will not help until the login is fixed."
    ]
    assert "run it again later" not in result.stderr
    assert "To follow up" not in result.stdout and "Never sent (1)" in result.stdout
    assert library.checkouts_seen == []
    assert uploads(ready) == {}


def test_the_password_from_a_file(
    ready: KioskHome, library: Library, port: int, tmp_path: Path
) -> None:
    check_out(ready, item(1))
    (tmp_path / "sip2.password").write_text(f"{PASSWORD}\n", encoding="utf-8")
    # Relative to the config file's folder.
    ready.write_config(extra=sip2_section(port, password='login_password_file = "sip2.password"'))
    result = ready.kiosk("spool", "upload")
    assert result.returncode == 0, result.stderr
    assert "1 accepted, 0 rejected" in result.stdout
    assert library.logins == 1 and seen(library) == Counter({item(1): 1})


def test_the_password_from_the_environment(ready: KioskHome, library: Library, port: int) -> None:
    check_out(ready, item(1))
    ready.write_config(extra=sip2_section(port, password=""))
    without = ready.kiosk("spool", "upload")
    assert without.returncode == 69  # no password at all: the login is refused
    assert library.checkouts_seen == []
    result = ready.kiosk("spool", "upload", env={"KIOSK_SIP2_PASSWORD": PASSWORD})
    assert result.returncode == 0, result.stderr
    assert "1 accepted, 0 rejected" in result.stdout
    assert seen(library) == Counter({item(1): 1})


def test_without_a_sip2_section_upload_exits_78(ready: KioskHome) -> None:
    check_out(ready, item(1))
    result = ready.kiosk("spool", "upload")
    assert result.returncode == 78
    assert_no_traceback(result.stderr)
    assert result.stderr.strip() == (
        "kiosk: no [sip2] section in the config: there is no ILS to upload to"
    )
    assert uploads(ready) == {}
    # The report needs no ILS.
    report = ready.kiosk("spool", "report")
    assert report.returncode == 0, report.stderr
    assert "This period: 1 checkout: 1 never sent." in report.stdout


# The report, the audit trail, the export afterwards -----------------------------------------


def test_report_out_copies_the_csv_and_html(
    ready: KioskHome, library: Library, port: int, tmp_path: Path
) -> None:
    library.refuse[item(2)] = "Claims returned"
    check_out(ready, item(1), item(2))
    ready.write_config(extra=sip2_section(port))
    assert ready.kiosk("spool", "upload").returncode == 0

    usb = tmp_path / "usb" / "reports"
    result = ready.kiosk("spool", "report", "--out", str(usb))
    assert result.returncode == 0, result.stderr
    assert "This period: 2 checkouts: 1 accepted, 1 rejected." in result.stdout
    assert f"Copied to {usb}." in result.stdout
    copied = sorted(usb.iterdir())
    assert [p.suffix for p in copied] == [".csv", ".html"]
    for path in copied:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes() == (ready.data_dir / "reports" / path.name).read_bytes()
    csv_text = copied[0].read_text(encoding="utf-8")
    assert csv_text.splitlines()[0] == (
        "seq,occurred_at,patron,item,due_date,result,ils_message,ils_due_date,attempts,"
        "ils_due_differs,staff_answer"
    )
    assert f"{ANA},{item(2)},2026-12-14,rejected,Claims returned" in csv_text
    assert "Claims returned" in copied[1].read_text(encoding="utf-8")


def test_the_audit_trail_lists_the_upload(ready: KioskHome, library: Library, port: int) -> None:
    check_out(ready, item(1))
    ready.write_config(extra=sip2_section(port))
    assert ready.kiosk("spool", "upload").returncode == 0
    shown = ready.kiosk("audit", "show")
    assert shown.returncode == 0, shown.stderr
    lines = [line for line in shown.stdout.splitlines() if "spool.upload" in line]
    assert len(lines) == 1
    assert " cli " in lines[0]
    assert f"target=sip2://127.0.0.1:{port}" in lines[0]
    assert "accepted=1" in lines[0] and "rejected=0" in lines[0]
    assert ready.kiosk("audit", "verify").returncode == 0


def test_the_koc_export_after_an_upload_holds_only_what_the_ils_lacks(
    ready: KioskHome, library: Library, port: int, tmp_path: Path
) -> None:
    library.refuse[item(2)] = "Item on hold for another patron"
    check_out(ready, item(1), item(2), item(3))
    ready.write_config(extra=sip2_section(port))
    assert ready.kiosk("spool", "upload").returncode == 0
    check_out(ready, item(4))  # after the upload, before the export

    out = tmp_path / "after-upload.koc"
    result = ready.kiosk("spool", "export", "--format", "koc", "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("Version=1.0\t")
    issued = [line.split("\t")[2:] for line in lines[1:]]
    assert issued == [[ANA, item(2)], [ANA, item(4)]]  # the refused one and the new one
    assert "Wrote 2 checkouts" in result.stdout


# What the library system answers (issue 16) -------------------------------------------------


def test_an_ils_answering_in_iso_8859_1_is_uploaded_and_the_encoding_named(
    ready: KioskHome,
) -> None:
    library = Library(
        patrons={ANA},
        items={item(1), item(2)},
        encoding="iso-8859-1",
        titles={item(1): "Cien años de soledad"},
    )
    check_out(ready, item(1), item(2))
    with ils(library) as port:
        ready.write_config(extra=sip2_section(port))
        result = ready.kiosk("spool", "upload")
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result.stderr)
    assert "2 accepted, 0 rejected, 0 still to send." in result.stdout
    assert 'Note: answers were not valid utf-8: set sip2.encoding = "iso-8859-1".' in (
        result.stdout
    )
    html = Path(REPORT_LINE.search(result.stdout).group(1)).read_text("utf-8")  # type: ignore[union-attr]
    assert "set sip2.encoding = &quot;iso-8859-1&quot;" in html


def test_a_due_date_the_ils_changed_is_told_with_both_dates(
    ready: KioskHome, library: Library, port: int
) -> None:
    library.due[item(2)] = "20261220    235959"
    check_out(ready, item(1), item(2))
    ready.write_config(extra=sip2_section(port))
    result = ready.kiosk("spool", "upload")
    assert result.returncode == 0, result.stderr
    assert "1 loan due on other dates than the receipts said: see the report:" in result.stdout
    assert (
        f"  #2 item {item(2)}: the receipt said 2026-12-14, the ILS says 20261220    235959"
    ) in result.stdout
    found = REPORT_LINE.search(result.stdout)
    assert found, result.stdout
    html = Path(found.group(1)).read_text("utf-8")
    assert "<h2>Due on other dates than the receipts said (1)</h2>" in html
    assert f"{item(2)},2026-12-14,accepted,,20261220    235959,1,yes" in Path(
        found.group(2)
    ).read_text("utf-8")
