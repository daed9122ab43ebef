"""End to end: the real `kiosk run --headless` as a subprocess, read as JSON lines.

Each test builds its own kiosk folder (the `home` fixture), drives the kiosk through standard
input and checks what the screen would show (the events on standard output), what the spool
holds afterwards, and what reached standard error. Time is the `--clock` and `@advance` lines,
never a sleep.
"""

from __future__ import annotations

import sqlite3
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

import pytest

from tests.conftest import STANDARD_PATRONS, KioskHome, item, patron
from tests.e2e.live import LiveKiosk, parse_events

CLOCK = "2026-11-23T10:00:00-05:00"  # a Monday; 21 days later is Monday 2026-12-14
BUILT = "2026-11-23T06:00:00-05:00"  # four hours before CLOCK
DUE = "2026-12-14"


# Helpers -----------------------------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    events: list[dict[str, Any]]
    stdout: str
    stderr: str

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == name]

    def names(self) -> list[str]:
        return [e["event"] for e in self.events]


def headless(
    home: KioskHome,
    lines: list[str] | None = None,
    *,
    data: bytes | None = None,
    clock: str | None = CLOCK,
    log_level: str | None = None,
) -> Run:
    """Run `kiosk run --headless` once with these scan lines (or raw bytes) on stdin."""
    if data is None:
        data = "".join(f"{line}\n" for line in lines or []).encode()
    args = ["--log-level", log_level] if log_level else []
    args += ["run", "--headless"]
    if clock is not None:
        args += ["--clock", clock]
    result = home.kiosk(*args, input=data)
    return Run(result.returncode, parse_events(result.stdout), result.stdout, result.stderr)


def assert_clean_exit(run: Run) -> None:
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr, run.stderr


def spool_rows(home: KioskHome) -> list[dict[str, Any]]:
    """The checkouts in data/spool.db, in insertion order, read with plain sqlite3."""
    path = home.data_dir / "spool.db"
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM checkouts ORDER BY id")]
    finally:
        conn.close()


def assert_spool_matches(home: KioskHome, checked_out: list[dict[str, Any]]) -> None:
    """The spool holds exactly the checkouts the screen announced, with the same ids."""
    rows = spool_rows(home)
    stored = [
        (r["txn_id"], r["seq"], r["item"], r["patron"], r["due_date"], r["kiosk_id"]) for r in rows
    ]
    shown = [
        (e["txn_id"], e["seq"], e["item"], e["patron"], e["due_date"], "TEST-SC01")
        for e in checked_out
    ]
    assert stored == shown


def control_characters(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch)[0] == "C"]


def wrong_check_digit(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


@pytest.fixture
def ready_home(home: KioskHome) -> KioskHome:
    """A kiosk folder with the standard snapshot, built four hours before CLOCK."""
    home.import_standard_snapshot(built_at=BUILT)
    return home


# Ready, and the session from card to Done ----------------------------------------------------


def test_ready_names_the_kiosk_and_counts_the_snapshot_rows(ready_home: KioskHome) -> None:
    run = headless(ready_home, [])
    assert_clean_exit(run)
    assert run.events == [
        {
            "event": "ready",
            "kiosk_id": "TEST-SC01",
            "patrons": len(STANDARD_PATRONS),
            "snapshot_built_at": BUILT,
            "snapshot_stale": False,
        }
    ]


def test_a_session_checks_out_items_and_the_spool_holds_exactly_them(
    ready_home: KioskHome,
) -> None:
    ana = patron(1)
    run = headless(ready_home, [ana, item(1), item(2), "@done"])
    assert_clean_exit(run)
    assert run.names() == [
        "ready",
        "patron_accepted",
        "item_checked_out",
        "item_checked_out",
        "session_ended",
    ]
    accepted = run.events[1]
    assert accepted["patron"] == ana
    assert accepted["first_name"] == "Ana"
    checked_out = run.named("item_checked_out")
    assert [e["item"] for e in checked_out] == [item(1), item(2)]
    assert [e["patron"] for e in checked_out] == [ana, ana]
    assert [e["due_date"] for e in checked_out] == [DUE, DUE]
    assert [e["seq"] for e in checked_out] == [1, 2]
    assert len({e["txn_id"] for e in checked_out}) == 2
    ended = run.events[-1]
    assert ended["patron"] == ana
    assert ended["items"] == 2
    assert ended["reason"] == "done"
    assert ended["session_id"] == accepted["session_id"]
    assert_spool_matches(ready_home, checked_out)


def test_spool_list_shows_the_checked_out_items(ready_home: KioskHome) -> None:
    run = headless(ready_home, [patron(8), item(11), item(12)])
    assert_clean_exit(run)
    assert [e["item"] for e in run.named("item_checked_out")] == [item(11), item(12)]

    unmasked = ready_home.kiosk("spool", "list", "--unmask")
    assert unmasked.returncode == 0, unmasked.stderr
    assert unmasked.stdout.count(patron(8)) == 2
    assert item(11) in unmasked.stdout
    assert item(12) in unmasked.stdout
    assert "2 shown; 2 in the spool" in unmasked.stdout

    masked = ready_home.kiosk("spool", "list")
    assert masked.returncode == 0, masked.stderr
    assert patron(8) not in masked.stdout
    assert patron(8)[-4:] in masked.stdout


def test_end_of_input_ends_the_session(ready_home: KioskHome) -> None:
    run = headless(ready_home, [patron(1), item(1)])
    assert_clean_exit(run)
    assert run.events[-1]["event"] == "session_ended"
    assert run.events[-1]["reason"] == "end_of_input"
    assert run.events[-1]["items"] == 1


def test_a_new_card_ends_the_session_and_the_same_card_carries_on(
    ready_home: KioskHome,
) -> None:
    ana, lucia = patron(1), patron(8)
    run = headless(ready_home, [ana, item(1), ana, item(2), lucia, item(3)])
    assert_clean_exit(run)
    assert run.names() == [
        "ready",
        "patron_accepted",
        "item_checked_out",
        "item_checked_out",  # scanning Ana's card again did not end her session
        "session_ended",
        "patron_accepted",
        "item_checked_out",
        "session_ended",
    ]
    first_end = run.events[4]
    assert (first_end["patron"], first_end["items"], first_end["reason"]) == (
        ana,
        2,
        "new_patron",
    )
    assert run.events[5]["patron"] == lucia
    assert run.events[6]["patron"] == lucia
    assert (run.events[7]["patron"], run.events[7]["reason"]) == (lucia, "end_of_input")


# Patrons who may not borrow ---------------------------------------------------------------


def test_each_patron_refusal_reason(ready_home: KioskHome) -> None:
    cards = {
        patron(3): "fines_over_limit",  # fines 10.01
        patron(4): "blocked",
        patron(5): "lost",
        patron(6): "expired",  # expired by date
        patron(7): "expired",  # expired status
        patron(99999): "unknown_patron",  # a valid card number not in the snapshot
    }
    run = headless(ready_home, [*cards, item(1)])
    assert_clean_exit(run)
    refused = run.named("patron_refused")
    assert {e["patron"]: e["reason"] for e in refused} == cards
    assert len(refused) == len(cards)
    assert not run.named("patron_accepted")
    # A refused card opens no session: the item after them has no patron.
    assert run.events[-1] == {"event": "item_refused", "item": item(1), "reason": "no_patron"}
    assert spool_rows(ready_home) == []


def test_fines_exactly_at_the_limit_are_accepted(ready_home: KioskHome) -> None:
    run = headless(ready_home, [patron(2), item(1)])  # fines exactly 10.00
    assert_clean_exit(run)
    assert run.events[1]["event"] == "patron_accepted"
    assert run.events[1]["first_name"] == "Chidi"
    assert run.events[2]["event"] == "item_checked_out"
    assert run.events[2]["patron"] == patron(2)


def test_the_patron_limit_counts_checkouts_in_the_spool_across_runs(home: KioskHome) -> None:
    home.write_config(max_items_per_patron=2)
    home.import_standard_snapshot(built_at=BUILT)

    first = headless(home, [patron(1), item(1), item(2), item(3)])
    assert_clean_exit(first)
    assert [e["item"] for e in first.named("item_checked_out")] == [item(1), item(2)]
    assert first.named("item_refused") == [
        {"event": "item_refused", "item": item(3), "reason": "patron_limit"}
    ]
    assert_spool_matches(home, first.named("item_checked_out"))

    # A new process knows nothing but the spool: the limit must come from there.
    second = headless(home, [patron(1), item(4), patron(8), item(5)])
    assert_clean_exit(second)
    assert second.events[1] == {
        "event": "patron_refused",
        "patron": patron(1),
        "reason": "patron_limit",
    }
    assert second.events[2] == {"event": "item_refused", "item": item(4), "reason": "no_patron"}
    assert second.events[3]["event"] == "patron_accepted"  # another patron is not limited
    assert second.events[4]["event"] == "item_checked_out"
    assert second.events[4]["seq"] == 3
    assert [r["item"] for r in spool_rows(home)] == [item(1), item(2), item(5)]


def test_the_patron_limit_adds_this_sessions_checkouts_to_the_earlier_ones(
    home: KioskHome,
) -> None:
    """During a session the count is the spool's at the card scan plus the session's own
    checkouts (the spool is not read again per item): the card scanned again mid-session
    must not count the session's checkouts twice."""
    home.write_config(max_items_per_patron=4)
    home.import_standard_snapshot(built_at=BUILT)
    first = headless(home, [patron(1), item(1)])
    assert_clean_exit(first)

    second = headless(home, [patron(1), item(2), patron(1), item(3), item(4), item(5)])
    assert_clean_exit(second)
    assert [e["item"] for e in second.named("item_checked_out")] == [item(2), item(3), item(4)]
    assert second.named("item_refused") == [
        {"event": "item_refused", "item": item(5), "reason": "patron_limit"}
    ]
    assert [r["item"] for r in spool_rows(home)] == [item(1), item(2), item(3), item(4)]


# Items that are refused, scans that are rejected ------------------------------------------


def test_an_item_before_any_card_is_refused(ready_home: KioskHome) -> None:
    run = headless(ready_home, [item(1)])
    assert_clean_exit(run)
    assert run.events[1:] == [{"event": "item_refused", "item": item(1), "reason": "no_patron"}]
    assert spool_rows(ready_home) == []


def test_the_same_item_twice_in_a_session_is_refused(ready_home: KioskHome) -> None:
    run = headless(ready_home, [patron(1), item(1), item(1)])
    assert_clean_exit(run)
    assert run.names()[1:] == [
        "patron_accepted",
        "item_checked_out",
        "item_refused",
        "session_ended",
    ]
    assert run.events[3] == {
        "event": "item_refused",
        "item": item(1),
        "reason": "duplicate_in_session",
    }
    assert len(spool_rows(ready_home)) == 1


def test_the_session_limit(home: KioskHome) -> None:
    home.write_config(max_items_per_session=2)
    home.import_standard_snapshot(built_at=BUILT)
    run = headless(home, [patron(1), item(1), item(2), item(3)])
    assert_clean_exit(run)
    assert [e["item"] for e in run.named("item_checked_out")] == [item(1), item(2)]
    assert run.named("item_refused") == [
        {"event": "item_refused", "item": item(3), "reason": "session_limit"}
    ]
    assert run.events[-1]["items"] == 2
    assert [r["item"] for r in spool_rows(home)] == [item(1), item(2)]


def test_misreads_and_strangers_are_rejected_and_the_session_goes_on(
    ready_home: KioskHome,
) -> None:
    misread_item = wrong_check_digit(item(1))
    misread_card = wrong_check_digit(patron(1))
    run = headless(ready_home, [misread_card, patron(1), misread_item, "hello", item(1)])
    assert_clean_exit(run)
    rejected = [(e["scan"], e["reason"]) for e in run.named("scan_rejected")]
    assert rejected == [
        (misread_card, "invalid_check_digit"),
        (misread_item, "invalid_check_digit"),
        ("hello", "unrecognised"),
    ]
    checked_out = run.named("item_checked_out")
    assert [e["item"] for e in checked_out] == [item(1)]
    assert_spool_matches(ready_home, checked_out)


# Time: idle timeouts and due dates --------------------------------------------------------


def test_an_idle_session_times_out(ready_home: KioskHome) -> None:
    run = headless(ready_home, [patron(1), item(1), "@advance 61", item(2)])
    assert_clean_exit(run)
    assert run.names()[1:] == [
        "patron_accepted",
        "item_checked_out",
        "session_ended",
        "item_refused",
    ]
    ended = run.events[3]
    assert (ended["patron"], ended["items"], ended["reason"]) == (patron(1), 1, "timeout")
    assert run.events[4] == {"event": "item_refused", "item": item(2), "reason": "no_patron"}


def test_a_scan_keeps_the_session_alive(ready_home: KioskHome) -> None:
    lines = [
        patron(1),
        "@advance 30",
        item(1),
        "@advance 30",  # 60 s after the card, 30 s after the last scan: still going
        item(2),
        "@advance 59",
        item(3),  # checked out: 59 s idle is not a timeout
        "@advance 61",
        item(4),
    ]
    run = headless(ready_home, lines)
    assert_clean_exit(run)
    assert [e["item"] for e in run.named("item_checked_out")] == [item(1), item(2), item(3)]
    ended = run.named("session_ended")
    assert [(e["reason"], e["items"]) for e in ended] == [("timeout", 3)]
    assert run.events[-1] == {"event": "item_refused", "item": item(4), "reason": "no_patron"}


def test_a_due_date_on_a_closed_day_moves_to_the_next_open_day(home: KioskHome) -> None:
    home.import_standard_snapshot(built_at="2026-12-04T06:00:00-05:00")
    # 21 days after 2026-12-04 is 2026-12-25, a closed date in the config.
    run = headless(home, [patron(1), item(1)], clock="2026-12-04T10:00:00-05:00")
    assert_clean_exit(run)
    checked_out = run.named("item_checked_out")
    assert [e["due_date"] for e in checked_out] == ["2026-12-26"]
    assert_spool_matches(home, checked_out)


def test_the_due_date_counts_from_the_library_s_local_date(home: KioskHome) -> None:
    home.import_standard_snapshot(built_at="2026-11-22T18:00:00-05:00")
    # 02:00 UTC on the 23rd is 21:00 on the 22nd in New York: due 21 days after the 22nd.
    run = headless(home, [patron(1), item(1)], clock="2026-11-23T02:00:00+00:00")
    assert_clean_exit(run)
    checked_out = run.named("item_checked_out")
    assert [e["due_date"] for e in checked_out] == ["2026-12-13"]
    assert_spool_matches(home, checked_out)


# Out of service ---------------------------------------------------------------------------


def test_without_a_snapshot_the_kiosk_is_out_of_service(home: KioskHome) -> None:
    run = headless(home, [patron(1), item(1), "@done"])
    assert_clean_exit(run)
    assert run.events, run.stderr
    assert run.events[0]["event"] == "out_of_service"
    assert run.events[0]["reason"] == "no_snapshot"
    assert run.names() == ["out_of_service"]  # scans change nothing on that screen
    assert spool_rows(home) == []


def test_a_snapshot_older_than_the_limit_puts_the_kiosk_out_of_service(
    home: KioskHome,
) -> None:
    home.write_config(max_age_hours=24)
    home.import_standard_snapshot(built_at="2026-11-21T10:00:00-05:00")  # 48 h before CLOCK
    run = headless(home, [patron(1), item(1)])
    assert_clean_exit(run)
    assert run.names() == ["out_of_service"]
    assert run.events[0]["reason"] == "snapshot_too_old"
    assert spool_rows(home) == []

    # The same snapshot 23 hours later on the kiosk's clock is within the limit.
    fresh = headless(home, [patron(1), item(1)], clock="2026-11-22T09:00:00-05:00")
    assert_clean_exit(fresh)
    assert fresh.names()[:3] == ["ready", "patron_accepted", "item_checked_out"]


def test_a_snapshot_that_grows_too_old_mid_session_lets_the_patron_finish(
    home: KioskHome,
) -> None:
    home.write_config(max_age_hours=24)
    home.import_standard_snapshot(built_at="2026-11-22T10:00:30-05:00")  # 24 h less 30 s
    run = headless(home, [patron(1), item(1), "@advance 40", item(2), "@done", patron(8)])
    assert_clean_exit(run)
    assert run.names() == [
        "ready",
        "patron_accepted",
        "item_checked_out",
        "item_checked_out",  # the snapshot is now too old, but Ana's session goes on
        "session_ended",
        "out_of_service",
    ]
    assert run.events[4]["reason"] == "done"
    assert run.events[5]["reason"] == "snapshot_too_old"

    # A new card does not slip in while the old session is ended by it.
    run = headless(home, [patron(1), "@advance 40", patron(8), item(3)])
    assert_clean_exit(run)
    assert run.names() == ["ready", "patron_accepted", "session_ended", "out_of_service"]
    assert run.events[2]["reason"] == "new_patron"
    assert run.events[3]["reason"] == "snapshot_too_old"
    assert [r["item"] for r in spool_rows(home)] == [item(1), item(2)]


def test_a_damaged_spool_is_never_replaced(ready_home: KioskHome) -> None:
    garbage = b"this is not an SQLite database\x00\xff" * 200
    spool = ready_home.data_dir / "spool.db"
    spool.write_bytes(garbage)
    run = headless(ready_home, [patron(1), item(1), "@done"])
    assert_clean_exit(run)
    assert run.names() == ["out_of_service"]
    assert run.events[0]["reason"] == "storage_error"
    assert spool.read_bytes() == garbage


def test_a_spool_that_cannot_be_written_ends_the_session_and_the_kiosk_recovers(
    ready_home: KioskHome,
) -> None:
    kiosk = LiveKiosk(ready_home, "--clock", CLOCK)
    try:
        assert kiosk.next_event()["event"] == "ready"
        kiosk.send(patron(1), item(1))
        first = kiosk.events_until("item_checked_out")
        assert [e["event"] for e in first] == ["patron_accepted", "item_checked_out"]

        # Another process holds the spool's write lock longer than the kiosk will wait.
        blocker = sqlite3.connect(ready_home.data_dir / "spool.db", isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            kiosk.send(item(2))
            failed = kiosk.events_until("out_of_service")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert [e["event"] for e in failed] == ["session_ended", "out_of_service"]
        assert (failed[0]["patron"], failed[0]["items"], failed[0]["reason"]) == (
            patron(1),
            1,
            "out_of_service",
        )
        assert failed[1]["reason"] == "storage_error"

        # The lock is gone: the next scan finds the spool writable again.
        kiosk.send(patron(8), item(3))
        after = kiosk.events_until("item_checked_out")
        assert [e["event"] for e in after] == ["ready", "patron_accepted", "item_checked_out"]
        code, rest = kiosk.finish()
        assert code == 0, kiosk.stderr()
        assert [e["reason"] for e in rest] == ["end_of_input"]
        assert "Traceback" not in kiosk.stderr()
    finally:
        kiosk.stop()
    assert_spool_matches(ready_home, [first[1], after[2]])


def test_a_snapshot_damaged_while_the_kiosk_runs_does_not_show_the_card_on_screen(
    ready_home: KioskHome,
) -> None:
    kiosk = LiveKiosk(ready_home, "--clock", CLOCK)
    try:
        assert kiosk.next_event()["event"] == "ready"
        (snapshot,) = (ready_home.data_dir / "snapshots").glob("snapshot-*.db")
        size = snapshot.stat().st_size
        with snapshot.open("r+b") as handle:  # damaged in place, under the open reader
            handle.write(b"\xa5" * size)
        kiosk.send(patron(1))
        down = kiosk.next_event()
        assert (down["event"], down["reason"]) == ("out_of_service", "no_snapshot")
        # The out-of-service screen shows the detail to whoever stands at the kiosk.
        assert patron(1) not in down["detail"]

        # A good snapshot brings the station back.
        ready_home.import_standard_snapshot(built_at=BUILT)
        kiosk.send(patron(1))
        assert [e["event"] for e in kiosk.events_until("patron_accepted")] == [
            "ready",
            "patron_accepted",
        ]
        code, _ = kiosk.finish()
        assert code == 0, kiosk.stderr()
        assert patron(1) not in kiosk.stderr()
    finally:
        kiosk.stop()


def test_a_snapshot_imported_while_the_kiosk_runs_is_picked_up(home: KioskHome) -> None:
    kiosk = LiveKiosk(home, "--clock", CLOCK)
    try:
        start = kiosk.next_event()
        assert (start["event"], start["reason"]) == ("out_of_service", "no_snapshot")
        home.import_standard_snapshot(built_at=BUILT)
        kiosk.send(patron(1))
        events = kiosk.events_until("patron_accepted")
        assert [e["event"] for e in events] == ["ready", "patron_accepted"]
        assert events[0]["patrons"] == len(STANDARD_PATRONS)
        code, _ = kiosk.finish()
        assert code == 0, kiosk.stderr()
    finally:
        kiosk.stop()


# Bad input, bad config, bad snapshot, a second kiosk ----------------------------------------


def test_garbage_on_stdin_is_rejected_and_good_scans_around_it_still_work(
    ready_home: KioskHome,
) -> None:
    garbage = [
        b"hello world",
        b"A" * 10_000,  # far longer than a line may be
        b"9" * 100,  # longer than any barcode, but not over-long as a line
        b"\x00",
        b"\x1b[2J",
        b"\x07",
        b"\xff\xfe\x80",  # not UTF-8
        item(5).encode() + b"\x00",  # a barcode with a control character stuck to it
        "caf\u00e9 \u2028 \u202e".encode(),  # printable text, a line separator, a bidi override
    ]
    data = (
        garbage[0]
        + b"\r\n"
        + patron(1).encode()
        + b"\r\n"
        + b"\r\n".join(garbage[1:5])
        + b"\r\n"
        + item(1).encode()
        + b"\r"  # a bare CR ends a line too
        + b"\r\n".join(garbage[5:])
        + b"\r\n"
        + item(2).encode()  # the last line has no line end
    )
    run = headless(ready_home, data=data)
    assert_clean_exit(run)
    assert run.names() == [
        "ready",
        "scan_rejected",
        "patron_accepted",
        *["scan_rejected"] * 4,
        "item_checked_out",
        *["scan_rejected"] * 4,
        "item_checked_out",
        "session_ended",
    ]
    rejected = run.named("scan_rejected")
    assert len(rejected) == len(garbage)
    assert {e["reason"] for e in rejected} == {"unrecognised"}
    for event in rejected:
        assert control_characters(event["scan"]) == [], event
        assert len(event["scan"]) <= 65, event  # garbage is shown cut short
    assert rejected[0]["scan"] == "hello world"
    checked_out = run.named("item_checked_out")
    assert [e["item"] for e in checked_out] == [item(1), item(2)]
    assert run.events[-1]["items"] == 2
    assert_spool_matches(ready_home, checked_out)


@pytest.mark.parametrize("separator", [b"\x1d", b"\x1c", b"\x1e", b"\x1f", b"\x0b", b"\x0c"])
def test_a_line_of_only_a_separator_character_is_refused_not_dropped(
    ready_home: KioskHome, separator: bytes
) -> None:
    # Python's str.strip() counts these as whitespace; a scanner sending one (GS is the GS1
    # field separator) sent data the kiosk cannot use, and the patron must be told.
    run = headless(ready_home, data=patron(1).encode() + b"\n" + separator + b"\n")
    assert_clean_exit(run)
    assert run.names() == ["ready", "patron_accepted", "scan_rejected", "session_ended"]
    assert control_characters(run.named("scan_rejected")[0]["scan"]) == []


def test_random_bytes_between_scans_never_stop_the_kiosk(ready_home: KioskHome) -> None:
    seed = 7
    print(f"random bytes seed: {seed}")
    noise = Random(seed).randbytes(64 * 1024).replace(b"@", b"#")  # no commands, only noise
    data = patron(1).encode() + b"\n" + noise + b"\n" + item(1).encode() + b"\n"
    run = headless(ready_home, data=data)
    assert_clean_exit(run)
    assert run.names()[:2] == ["ready", "patron_accepted"]
    assert run.names()[-2:] == ["item_checked_out", "session_ended"]
    middle = run.events[2:-2]
    assert len(middle) > 100  # the noise really reached the kiosk as many lines
    assert {e["event"] for e in middle} == {"scan_rejected"}
    assert {e["reason"] for e in middle} == {"unrecognised"}
    for event in middle:
        assert control_characters(event["scan"]) == [], event
    assert run.events[-1]["items"] == 1


def test_garbage_command_lines_put_no_control_characters_in_events_or_logs(
    ready_home: KioskHome,
) -> None:
    run = headless(
        ready_home,
        data=b"@\x1b[2J\x07\n@done\x1b]0;owned\x07\n" + patron(1).encode() + b"\n",
        log_level="INFO",
    )
    assert_clean_exit(run)
    assert run.names() == [
        "ready",
        "scan_rejected",
        "scan_rejected",
        "patron_accepted",
        "session_ended",
    ]
    for event in run.named("scan_rejected"):
        assert event["reason"] == "unrecognised"
        for field, value in event.items():
            assert control_characters(str(value)) == [], (field, value)
    assert "\x1b" not in run.stderr
    assert "\x07" not in run.stderr


def test_an_unusable_advance_is_rejected_not_a_crash(ready_home: KioskHome) -> None:
    lines = [patron(1), "@advance soon", "@advance -5", "@advance inf", "@advance 1e12"]
    run = headless(ready_home, [*lines, item(1)])
    assert_clean_exit(run)
    rejected = run.named("scan_rejected")
    assert len(rejected) == 4
    assert {e["reason"] for e in rejected} == {"unrecognised"}
    # The clock did not move: the session is still open and the loan is due 21 days on.
    checked_out = run.named("item_checked_out")
    assert [(e["item"], e["due_date"]) for e in checked_out] == [(item(1), DUE)]


def test_a_config_with_an_unknown_key_stops_the_kiosk_with_exit_78(
    ready_home: KioskHome,
) -> None:
    text = ready_home.config_path.read_text(encoding="utf-8")
    ready_home.config_path.write_text(
        text.replace("idle_timeout_seconds", "idle_timout_seconds"), encoding="utf-8"
    )
    run = headless(ready_home, [patron(1), item(1)])
    assert run.returncode == 78
    assert run.stdout == ""
    assert "session.idle_timout_seconds" in run.stderr
    assert "unknown key" in run.stderr
    assert "idle_timeout_seconds" in run.stderr  # the did-you-mean
    assert "Traceback" not in run.stderr
    assert spool_rows(ready_home) == []


def test_a_snapshot_without_a_barcode_column_is_refused_and_the_old_one_stays(
    ready_home: KioskHome,
) -> None:
    bad = ready_home.root / "no-barcodes.csv"
    bad.write_text("card,name,fines,status,expires\n" + f"{patron(1)},A,0,ok,\n" * 3)
    result = ready_home.kiosk("snapshot", "import", str(bad), "--built-at", CLOCK)
    assert result.returncode != 0
    assert "barcode" in result.stderr
    assert "Traceback" not in result.stderr

    run = headless(ready_home, [patron(1)])
    assert_clean_exit(run)
    assert run.events[0]["event"] == "ready"
    assert run.events[0]["patrons"] == len(STANDARD_PATRONS)
    assert run.events[0]["snapshot_built_at"] == BUILT


def test_a_second_kiosk_on_the_same_folder_exits_75(ready_home: KioskHome) -> None:
    first = LiveKiosk(ready_home, "--clock", CLOCK)
    try:
        assert first.next_event()["event"] == "ready"  # the lock is held from here on
        second = headless(ready_home, [patron(1), item(1)])
        assert second.returncode == 75
        assert "already running" in second.stderr
        assert second.stdout == ""
        assert "Traceback" not in second.stderr

        first.send(patron(1), item(1))  # the first kiosk is unharmed
        assert [e["event"] for e in first.events_until("item_checked_out")] == [
            "patron_accepted",
            "item_checked_out",
        ]
        code, rest = first.finish()
        assert code == 0, first.stderr()
        assert [e["event"] for e in rest] == ["session_ended"]
    finally:
        first.stop()
    assert [r["item"] for r in spool_rows(ready_home)] == [item(1)]


# Privacy -----------------------------------------------------------------------------------


def test_logs_mask_patron_barcodes_and_files_are_private(ready_home: KioskHome) -> None:
    cards = [patron(n) for n in (1, 3, 4, 99999)]
    misread = wrong_check_digit(patron(8))
    lines = [cards[1], cards[2], cards[3], misread, cards[0], item(1), "hello", "@done"]
    run = headless(ready_home, lines, log_level="INFO")
    assert_clean_exit(run)
    assert run.named("item_checked_out"), run.stdout
    assert "INFO" in run.stderr  # the log really was written at INFO
    for card in [*cards, misread]:
        assert card not in run.stderr
    assert "0018" in run.stderr  # the log still names Ana's card by its last digits

    data = ready_home.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    found = list(data.rglob("*"))
    assert any(p.name == "spool.db" for p in found)
    for path in found:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, path
        else:
            assert mode == 0o600, path


def test_the_spool_file_is_private_even_in_a_loose_folder(home: KioskHome) -> None:
    home.data_dir.mkdir(mode=0o755)
    home.data_dir.chmod(0o755)
    home.import_standard_snapshot(built_at=BUILT)
    run = headless(home, [patron(1), item(1)])
    assert_clean_exit(run)
    assert stat.S_IMODE(home.data_dir.stat().st_mode) == 0o700
    for path in Path(home.data_dir).rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_sigterm_ends_the_session_said_as_such_and_exits_cleanly(ready_home: KioskHome) -> None:
    # systemctl stop, or a shutdown, while a patron is at the station.
    kiosk = LiveKiosk(ready_home, "--clock", CLOCK)
    try:
        kiosk.next("ready")
        kiosk.send(patron(1), item(1))
        kiosk.next("patron_accepted")
        kiosk.next("item_checked_out")
        code, rest = kiosk.terminate()
    finally:
        kiosk.stop()
    assert code == 0, kiosk.stderr()
    assert [e["event"] for e in rest] == ["session_ended"]
    assert (rest[0]["reason"], rest[0]["items"]) == ("shutdown", 1)
    listed = ready_home.kiosk("spool", "list", "--unmask")
    assert listed.returncode == 0, listed.stderr
    assert item(1) in listed.stdout
    assert "1 shown; 1 in the spool" in listed.stdout


def test_scratch_tries_the_kiosk_without_touching_the_real_spool(ready_home: KioskHome) -> None:
    before = spool_rows(ready_home)
    result = ready_home.kiosk(
        "run", "--headless", "--scratch", "--clock", CLOCK, input=f"{patron(1)}\n{item(1)}\n"
    )
    assert result.returncode == 0, result.stderr
    events = parse_events(result.stdout)
    assert [e["event"] for e in events][:3] == ["ready", "patron_accepted", "item_checked_out"]
    assert "nothing is stored in the real spool" in result.stderr
    assert spool_rows(ready_home) == before
    scratch = result.stderr.split(" in ", 2)[1].split(";")[0]
    assert "kiosk-scratch-" in scratch
    assert not Path(scratch).exists()  # thrown away at the end


def test_a_clock_given_without_scratch_says_where_checkouts_go(ready_home: KioskHome) -> None:
    run = headless(ready_home, [patron(1), item(1)])
    assert_clean_exit(run)
    assert "--clock: checkouts are stored in" in run.stderr
    assert "--scratch" in run.stderr
    assert [r["item"] for r in spool_rows(ready_home)] == [item(1)]
