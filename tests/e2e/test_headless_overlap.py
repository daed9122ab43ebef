"""End to end: barcode rules that both fit any 14 digits, told apart by the snapshots
(barcodes.overlap = "lists"), through the real `kiosk run --headless`: a patron's card scanned
during a session is refused as a card, says so in the JSON and the log, and is not spooled."""

from __future__ import annotations

from tests.conftest import KioskHome, item, patron
from tests.e2e.test_headless import BUILT, assert_clean_exit, headless, spool_rows

ANY_14_DIGITS = '{ pattern = "[0-9]{14}", check_digit = "luhn" }'


def test_a_patrons_card_scanned_as_an_item_is_refused_and_not_spooled(home: KioskHome) -> None:
    text = home.config_path.read_text(encoding="utf-8")
    start, end = text.index("[barcodes]\n"), text.index("[session]")
    rules = f'[barcodes]\npatron = {ANY_14_DIGITS}\nitem = {ANY_14_DIGITS}\noverlap = "lists"\n\n'
    home.config_path.write_text(text[:start] + rules + text[end:], encoding="utf-8")
    home.import_standard_snapshot(built_at=BUILT)

    run = headless(home, [patron(1), patron(2), item(1), "@done"], log_level="INFO")

    assert_clean_exit(run)
    assert run.names() == [
        "ready",
        "patron_accepted",
        "scan_rejected",
        "item_checked_out",
        "session_ended",
    ]
    [rejected] = run.named("scan_rejected")
    assert rejected["reason"] == "library_card"
    assert rejected["scan"] == patron(2)
    assert "a card in the patron snapshot" in rejected["detail"]
    assert [(r["patron"], r["item"]) for r in spool_rows(home)] == [(patron(1), item(1))]
    assert "refused as an item: it is a card in the patron snapshot" in run.stderr
    assert patron(2) not in run.stderr  # the log masks card numbers
