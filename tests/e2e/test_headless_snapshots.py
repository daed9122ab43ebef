"""End to end: snapshots from real library-system exports, through the real `kiosk` command.

A Koha `borrowers` export read through the config's column mapping, with an item snapshot
that gives DVDs a 7-day loan and shows titles; Evergreen's offline block list as a deny list;
an item snapshot imported, damaged and repaired while the kiosk runs. Time is `--clock`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import KioskHome, item, patron
from tests.e2e.live import LiveKiosk
from tests.e2e.test_headless import (
    CLOCK,
    DUE,
    assert_clean_exit,
    assert_spool_matches,
    headless,
    spool_rows,
    wrong_check_digit,
)

# CLOCK is Monday 2026-11-23: a DVD (7 days) is due Monday 11-30, a book (21 days) Monday
# 12-14, anything else (loan_days = 14 in these configs) Monday 12-07.
DVD_DUE = "2026-11-30"
BOOK_DUE = DUE
OTHER_DUE = "2026-12-07"

KOHA_MAPPING = """
[snapshot.columns]
barcode = "cardnumber"
name = ["firstname", "surname"]
expires = "dateexpiry"
fines = "balance"
status = "status"

[snapshot.status_values]
"LOST" = "lost"
"DEBARRED" = "blocked"
"""

BY_MATERIAL = """
[loans.by_material]
dvd = 7
book = 21
"""


def configure(home: KioskHome, extra: str, *, snapshot: str = "") -> None:
    """The standard test config with loan_days = 14, `extra` tables appended and `snapshot`
    lines added to its [snapshot] table."""
    home.write_config(extra=extra)
    text = home.config_path.read_text(encoding="utf-8")
    text = text.replace("loan_days = 21", "loan_days = 14", 1)
    text = text.replace("[snapshot]\n", f"[snapshot]\n{snapshot}", 1)
    home.config_path.write_text(text, encoding="utf-8")


def write(home: KioskHome, name: str, text: str) -> Path:
    path = home.root / name
    path.write_text(text, encoding="utf-8")
    return path


def import_ok(home: KioskHome, *args: str) -> str:
    result = home.kiosk("snapshot", *args, "--built-at", "2026-11-23T06:00:00-05:00")
    assert result.returncode == 0, result.stderr
    return result.stdout


# A Koha borrowers export, titled items, loan periods per material ----------------------------

KOHA_BORROWERS = (
    "borrowernumber,cardnumber,surname,firstname,branchcode,categorycode,dateexpiry,"
    "balance,status\n"
    f"101,{patron(1)},Rivera,Ana,MAIN,ADULT,2099-01-01,0.00,\n"
    f"102,{patron(2)},Haddad,Omar,MAIN,ADULT,2099-01-01,0.00,LOST\n"
    f"103,{patron(3)},Nguyen,Bao,MAIN,ADULT,2099-01-01,10.01,\n"
    f'104,{patron(4)},"Kowalski-Nowak",Ewa,EAST,CHILD,2099-01-01,0,DEBARRED\n'
)
ITEMS = (
    "barcode,title,material\n"
    f'{item(1)},"Spirited away /",DVD\n'
    f'{item(2)},"The hobbit, or, There and back again",BOOK\n'
)


def test_a_koha_export_with_an_item_snapshot_gives_loans_per_material_and_titles(
    home: KioskHome,
) -> None:
    configure(home, KOHA_MAPPING + BY_MATERIAL)
    assert "Imported 4 patrons" in import_ok(
        home, "import", str(write(home, "b.csv", KOHA_BORROWERS))
    )
    assert "Imported 2 items" in import_ok(home, "import-items", str(write(home, "i.csv", ITEMS)))

    run = headless(home, [patron(2), patron(4), patron(1), item(1), item(2), item(3), "@done"])

    assert_clean_exit(run)
    refused = run.named("patron_refused")
    assert [(e["patron"], e["reason"]) for e in refused] == [
        (patron(2), "lost"),  # Koha's own word, through status_values
        (patron(4), "blocked"),
    ]
    (accepted,) = run.named("patron_accepted")
    assert accepted["first_name"] == "Ana"  # firstname, then surname
    dvd, book, other = run.named("item_checked_out")
    assert (dvd["item"], dvd["due_date"], dvd["title"], dvd["material"]) == (
        item(1),
        DVD_DUE,
        "Spirited away",
        "dvd",
    )
    assert (book["item"], book["due_date"], book["title"], book["material"]) == (
        item(2),
        BOOK_DUE,
        "The hobbit, or, There and back again",
        "book",
    )
    # An item the item snapshot does not list: the normal loan period, the event as before.
    assert other == {
        "event": "item_checked_out",
        "patron": patron(1),
        "item": item(3),
        "due_date": OTHER_DUE,
        "txn_id": other["txn_id"],
        "seq": 3,
        "special_due": False,
    }
    assert_spool_matches(home, [dvd, book, other])
    assert [r["due_date"] for r in spool_rows(home)] == [DVD_DUE, BOOK_DUE, OTHER_DUE]


def test_the_special_due_date_wins_over_the_dvd_loan_period(home: KioskHome) -> None:
    configure(home, KOHA_MAPPING + BY_MATERIAL)
    import_ok(home, "import", str(write(home, "b.csv", KOHA_BORROWERS)))
    import_ok(home, "import-items", str(write(home, "i.csv", ITEMS)))
    assert home.kiosk("staff", "special-due", "set", "2027-01-15").returncode == 0

    run = headless(home, [patron(1), item(1)])

    assert_clean_exit(run)
    (dvd,) = run.named("item_checked_out")
    assert (dvd["due_date"], dvd["special_due"], dvd["title"]) == (
        "2027-01-15",
        True,
        "Spirited away",
    )


def test_a_koha_export_without_a_mapped_column_is_refused_and_the_old_one_stays(
    home: KioskHome,
) -> None:
    configure(home, KOHA_MAPPING)
    import_ok(home, "import", str(write(home, "b.csv", KOHA_BORROWERS)))
    renamed = KOHA_BORROWERS.replace("dateexpiry", "expiry_date")

    result = home.kiosk("snapshot", "import", str(write(home, "b2.csv", renamed)))

    assert result.returncode == 65
    assert "'dateexpiry'" in result.stderr
    assert "expiry_date" in result.stderr  # the columns the file has
    run = headless(home, [patron(1)])
    assert run.named("patron_accepted")[0]["first_name"] == "Ana"


# Evergreen's offline block list: a deny list ------------------------------------------------

BLOCK_LIST = f"{patron(5)} L\n{patron(4)} B\n{patron(3)} D\n{patron(7)} E\n"


def test_a_deny_list_refuses_listed_cards_and_lets_any_other_valid_card_borrow(
    home: KioskHome,
) -> None:
    configure(home, "")
    out = import_ok(
        home, "import", "--format", "evergreen-blocklist", str(write(home, "l", BLOCK_LIST))
    )
    assert "deny list: 4 blocked cards" in out
    garbage = wrong_check_digit(patron(9))
    scans = [patron(5), patron(4), patron(3), patron(7), garbage, "21234", patron(9), item(1)]

    run = headless(home, scans)

    assert_clean_exit(run)
    ready = run.events[0]
    assert (ready["event"], ready["patrons"], ready["deny_list"]) == ("ready", 4, True)
    assert [(e["patron"], e["reason"]) for e in run.named("patron_refused")] == [
        (patron(5), "lost"),
        (patron(4), "blocked"),  # barred
        (patron(3), "blocked"),  # penalized
        (patron(7), "expired"),
    ]
    rejected = run.named("scan_rejected")
    assert [(e["scan"], e["reason"]) for e in rejected] == [
        (garbage, "invalid_check_digit"),  # a card with a misread check digit never gets in
        ("21234", "unrecognised"),
    ]
    (accepted,) = run.named("patron_accepted")
    assert (accepted["patron"], accepted["first_name"]) == (patron(9), "")  # not on the list
    (checked_out,) = run.named("item_checked_out")
    assert (checked_out["patron"], checked_out["due_date"]) == (patron(9), OTHER_DUE)
    assert [r["patron"] for r in spool_rows(home)] == [patron(9)]


@pytest.mark.parametrize("setting", ['format = "evergreen-blocklist"\n', 'mode = "deny"\n'])
def test_the_config_can_make_the_block_list_the_snapshot_format(
    home: KioskHome, setting: str
) -> None:
    configure(home, "", snapshot=setting)
    import_ok(home, "import", str(write(home, "l", BLOCK_LIST)))
    status = home.kiosk("snapshot", "info")
    assert "deny list: 4 blocked cards" in status.stdout

    run = headless(home, [patron(5), patron(1)])

    assert [e["event"] for e in run.events] == [
        "ready",
        "patron_refused",
        "patron_accepted",
        "session_ended",
    ]
    assert run.events[1]["reason"] == "lost"


def test_a_deny_list_cut_in_half_is_refused_and_the_old_list_keeps_refusing(
    home: KioskHome,
) -> None:
    configure(home, "", snapshot='format = "evergreen-blocklist"\n')
    import_ok(home, "import", str(write(home, "l", BLOCK_LIST)))

    result = home.kiosk("snapshot", "import", str(write(home, "l2", f"{patron(7)} E\n")))

    assert result.returncode == 65
    assert "less than half" in result.stderr
    run = headless(home, [patron(5)])
    assert run.named("patron_refused")[0]["reason"] == "lost"


# The item snapshot while the kiosk runs ---------------------------------------------------------


def test_an_item_snapshot_is_picked_up_and_a_damaged_one_never_stops_lending(
    home: KioskHome,
) -> None:
    configure(home, BY_MATERIAL)
    home.import_standard_snapshot(built_at="2026-11-23T06:00:00-05:00")
    kiosk = LiveKiosk(home, "--clock", CLOCK)
    try:
        assert kiosk.next_event()["event"] == "ready"
        kiosk.send(patron(1), item(1))
        before = kiosk.events_until("item_checked_out")[-1]
        assert before["due_date"] == OTHER_DUE  # no item snapshot yet
        assert "title" not in before

        import_ok(home, "import-items", str(write(home, "i.csv", ITEMS)))
        kiosk.send(item(2))
        after = kiosk.next_event()
        assert (after["event"], after["title"], after["due_date"]) == (
            "item_checked_out",
            "The hobbit, or, There and back again",
            BOOK_DUE,
        )

        (current,) = (home.data_dir / "items").glob("items-*.db")
        with current.open("r+b") as handle:  # damaged in place, under the open reader
            handle.write(b"\xa5" * current.stat().st_size)
        kiosk.send(item(4), item(5))
        for _ in range(2):
            damaged = kiosk.next_event()
            assert (damaged["event"], damaged["due_date"]) == ("item_checked_out", OTHER_DUE)
            assert "title" not in damaged

        import_ok(home, "import-items", str(write(home, "j.csv", ITEMS)))
        kiosk.send("@done", patron(1), item(1))
        repaired = kiosk.events_until("item_checked_out")[-1]
        assert (repaired["title"], repaired["due_date"]) == ("Spirited away", DVD_DUE)

        code, _ = kiosk.finish()
        assert code == 0, kiosk.stderr()
        log = kiosk.stderr()
        assert "item snapshot cannot be read" in log
        assert log.count("item snapshot cannot be read") == 1  # logged once, not per scan
    finally:
        kiosk.stop()


def test_the_kiosk_removes_a_build_left_by_a_killed_import_when_it_starts(
    home: KioskHome,
) -> None:
    home.import_standard_snapshot()
    stale = home.data_dir / "snapshots" / "snapshot-20261201T000000000000-deadbeef.building"
    stale.write_bytes(b"\0" * 65536)
    result = home.kiosk("--log-level", "WARNING", "run", "--headless", input="@done\n")
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    # (the log masks long digit runs, the file's time stamp too)
    assert "-deadbeef.building (0.1 MB), left by a snapshot import that was cut short" in (
        result.stderr
    )


# Items on hold, in transit or not for loan (issue 16) ------------------------------------------

HOLDS_CONFIG = """
[items.columns]
material = "itype"
hold_for = "Reserved For"

[items.status_values]
"Waiting" = "on_hold"
"Reference" = "not_for_loan"
"""
ITEMS_WITH_STATUSES = (
    "barcode,title,itype,status,reserved for,hold_for\n"  # hold_for: another column
    f"{item(1)},Spirited away,DVD,Waiting,{patron(1)},{patron(8)}\n"  # kept for Ana
    f"{item(2)},The hobbit,BOOK,Waiting,{patron(8)},{patron(1)}\n"  # kept for Lucía
    f"{item(3)},Atlas of the world,BOOK,Reference,,\n"
    f"{item(4)},Dune,BOOK,In transit,,\n"
    f"{item(5)},Emma,BOOK,Damaged,,\n"  # a word the kiosk does not know: refused
    f"{item(6)},Ivanhoe,BOOK,,,\n"
)


def test_items_on_hold_for_others_or_not_for_loan_are_refused_and_the_holder_borrows(
    home: KioskHome,
) -> None:
    configure(home, HOLDS_CONFIG)
    home.import_standard_snapshot(built_at="2026-11-23T06:00:00-05:00")
    result = home.kiosk(
        "snapshot",
        "import-items",
        str(write(home, "i.csv", ITEMS_WITH_STATUSES)),
        "--built-at",
        "2026-11-23T06:00:00-05:00",
    )
    assert result.returncode == 0, result.stderr
    assert "Items with a status the kiosk does not know: 1." in result.stderr
    assert "line 6: status 'Damaged' is not one the kiosk knows: refused" in result.stderr
    assert "1 item had a status the kiosk does not know: refused" in result.stdout

    scans = [patron(1), *(item(n) for n in range(1, 8)), "@done"]
    run = headless(home, scans)

    assert_clean_exit(run)
    refused = [(e["item"], e["reason"]) for e in run.named("item_refused")]
    assert refused == [
        (item(2), "on_hold"),
        (item(3), "not_for_loan"),
        (item(4), "in_transit"),
        (item(5), "unknown_status"),
    ]
    lent = run.named("item_checked_out")
    assert [(e["item"], e.get("title"), e.get("material")) for e in lent] == [
        (item(1), "Spirited away", "dvd"),  # Ana's own hold
        (item(6), "Ivanhoe", "book"),
        (item(7), None, None),  # not in the item snapshot: lent as before
    ]
    assert_spool_matches(home, lent)

    shown = home.kiosk(
        "run", "--headless", "--show", "text", "--clock", CLOCK, input=f"{patron(8)}\n{item(1)}\n"
    )
    assert shown.returncode == 0, shown.stderr
    assert "This item is being kept for another patron. Please take it to the desk." in (
        shown.stdout
    )
