"""`kiosk staff ...` as staff with a shell run it: PINs and cards written into the config as
salted hashes (its comments kept, weak PINs refused), the hand-over to a folder, the new
period only once everything was handed over, and the audit trail afterwards."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import load_config
from kiosk.domain.staff import hash_secret, parse_hash
from kiosk.runtime.signin import PinResult
from kiosk.runtime.staff import StaffDesk
from kiosk.storage.audit import AuditLog
from kiosk.storage.spool import Spool
from kiosk.storage.staff_cards import KEY_FILE, TAGS_FILE, read_key, read_tags
from tests.conftest import KioskHome, item, kiosk_env, patron

CLOCK = "2026-11-23T10:00:00-05:00"
BUILT = "2026-11-23T06:00:00-05:00"
PIN = "2580"
CARD = "STAFF-QX7-ALPHA"
OTHER_CARD = "STAFF-ZK4-BRAVO"


def typed(home: KioskHome, *args: str, input: str) -> subprocess.CompletedProcess[str]:
    """Run `kiosk` with answers on standard input and no controlling terminal: getpass reads
    a hidden answer from /dev/tty when there is one, which would wait for a person."""
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "--config", str(home.config_path), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        env=kiosk_env(),
        start_new_session=True,
        check=False,
    )


def add_pin(home: KioskHome, pin: str = PIN) -> None:
    result = typed(home, "staff", "add-pin", input=f"{pin}\n{pin}\n")
    assert result.returncode == 0, result.stderr


def staff_table(home: KioskHome) -> dict[str, Any]:
    data = tomllib.loads(home.config_path.read_text(encoding="utf-8"))
    staff = data.get("staff", {})
    assert isinstance(staff, dict)
    return staff


def hashes(home: KioskHome, key: str) -> list[str]:
    """[staff].pins or .cards as the config file holds them now."""
    found = staff_table(home).get(key, [])
    assert isinstance(found, list) and all(isinstance(h, str) for h in found)
    return found


def desk(home: KioskHome) -> StaffDesk:
    return StaffDesk(load_config(home.config_path), actor="test", now=lambda: datetime.now(UTC))


@pytest.fixture
def commented(home: KioskHome) -> str:
    """The home's config with comments in it, as a library's IT person leaves it."""
    text = home.config_path.read_text(encoding="utf-8")
    text = "# Main branch, front desk kiosk. Ask IT before editing.\n" + text.replace(
        "idle_timeout_seconds = 60\n", "idle_timeout_seconds = 60  # long enough for DVDs\n"
    )
    text += "\n[staff]\n# PINs go here: use `kiosk staff add-pin`.\nretention_days = 60\n"
    home.config_path.write_text(text, encoding="utf-8")
    return text


# PINs ---------------------------------------------------------------------------------------


def test_add_pin_writes_only_a_scrypt_hash_and_keeps_the_comments(
    home: KioskHome, commented: str
) -> None:
    result = typed(home, "staff", "add-pin", input=f"{PIN}\n{PIN}\n")
    assert result.returncode == 0, result.stderr
    assert "PIN added" in result.stdout and "(1 PINs)" in result.stdout

    text = home.config_path.read_text(encoding="utf-8")
    for comment in (
        "# Main branch, front desk kiosk. Ask IT before editing.",
        "idle_timeout_seconds = 60  # long enough for DVDs",
        "# PINs go here: use `kiosk staff add-pin`.",
    ):
        assert comment in text
    added = set(text.splitlines()) - set(commented.splitlines())
    assert added and not any(PIN in line for line in added), added
    assert staff_table(home)["retention_days"] == 60
    pins = hashes(home, "pins")
    assert len(pins) == 1
    assert pins[0].startswith("scrypt$16384$8$1$")
    assert len(parse_hash(pins[0]).salt) == 16

    check = home.kiosk("config", "check")
    assert check.returncode == 0, check.stderr
    assert ": OK" in check.stdout
    assert desk(home).check_pin(PIN).result == PinResult.OK
    assert desk(home).check_pin("2581").result == PinResult.WRONG


def test_a_second_pin_gets_a_salt_of_its_own(home: KioskHome) -> None:
    add_pin(home, "2580")
    add_pin(home, "739164")
    pins = hashes(home, "pins")
    assert len(pins) == 2
    assert parse_hash(pins[0]).salt != parse_hash(pins[1]).salt
    assert desk(home).check_pin("739164").result == PinResult.OK


@pytest.mark.parametrize(
    ("pin", "why"),
    [
        ("1234", "the first anyone would try"),
        ("0000", "the first anyone would try"),
        ("98765", "the first anyone would try"),
        ("12a4", "4 to 12 digits"),
        ("258", "4 to 12 digits"),
        ("2580258025802", "4 to 12 digits"),
    ],
)
def test_a_weak_or_malformed_pin_is_refused_and_the_config_is_unchanged(
    home: KioskHome, commented: str, pin: str, why: str
) -> None:
    before = home.config_path.read_bytes()
    result = typed(home, "staff", "add-pin", input=f"{pin}\n{pin}\n")
    assert result.returncode != 0
    assert why in result.stderr
    assert home.config_path.read_bytes() == before


def test_a_pin_typed_differently_the_second_time_is_refused(
    home: KioskHome, commented: str
) -> None:
    before = home.config_path.read_bytes()
    result = typed(home, "staff", "add-pin", input=f"{PIN}\n2581\n")
    assert "do not match" in result.stdout
    assert result.returncode == 130  # asked again, and nobody answered
    assert home.config_path.read_bytes() == before


# Staff cards ----------------------------------------------------------------------------------


def test_a_card_before_any_pin_is_refused(home: KioskHome, commented: str) -> None:
    before = home.config_path.read_bytes()
    result = typed(home, "staff", "add-card", input=f"{CARD}\n")
    assert result.returncode != 0
    assert "add a PIN first" in result.stderr
    assert home.config_path.read_bytes() == before


def test_staff_cards_share_one_salt_and_each_is_recognised(home: KioskHome) -> None:
    add_pin(home)
    for card in (CARD, OTHER_CARD):
        result = typed(home, "staff", "add-card", input=f"{card}\n")
        assert result.returncode == 0, result.stderr
    cards, pins = hashes(home, "cards"), hashes(home, "pins")
    assert len(cards) == 2
    first, second = (parse_hash(c) for c in cards)
    assert first.salt == second.salt and first.digest != second.digest
    assert parse_hash(pins[0]).salt != first.salt  # the PIN's salt is its own
    assert cards[1] == hash_secret(OTHER_CARD, first.salt).text()
    text = home.config_path.read_text(encoding="utf-8")
    assert CARD not in text and OTHER_CARD not in text
    staff = desk(home)
    assert staff.is_staff_card(CARD) and staff.is_staff_card(OTHER_CARD)
    assert not staff.is_staff_card(patron(1))

    again = typed(home, "staff", "add-card", input=f"{CARD}\n")
    assert again.returncode == 0, again.stderr
    assert "already" in again.stdout and "nothing was added" in again.stdout
    assert hashes(home, "cards") == cards


def test_add_card_sets_the_cards_fast_check_in_private_files(home: KioskHome) -> None:
    add_pin(home)
    for card in (CARD, OTHER_CARD):
        assert typed(home, "staff", "add-card", input=f"{card}\n").returncode == 0
    config = load_config(home.config_path)
    key = read_key(config.data_dir)
    assert key is not None
    assert len(read_tags(config.data_dir, key)) == 2
    for name in (KEY_FILE, TAGS_FILE):
        assert stat.S_IMODE((config.data_dir / name).stat().st_mode) == 0o600
        assert CARD.encode() not in (config.data_dir / name).read_bytes()
    status = home.kiosk("status")
    assert status.returncode == 0, status.stderr
    assert "fast check" not in status.stdout


def test_cards_with_no_fast_check_here_are_named_until_added_again(home: KioskHome) -> None:
    """A config copied from another station: its card hashes, and no tags on this one."""
    add_pin(home)
    for card in (CARD, OTHER_CARD):
        assert typed(home, "staff", "add-card", input=f"{card}\n").returncode == 0
    (home.data_dir / TAGS_FILE).unlink()
    slow = "2 of 2 staff cards have no fast check on this station"
    status = home.kiosk("status")
    assert f"Staff cards: {slow}" in status.stdout
    assert "scan each staff card once at the Welcome screen" in status.stdout
    check = home.kiosk("config", "check")
    assert check.returncode == 0, check.stderr
    assert f"warning: staff.cards: {slow}" in check.stderr
    assert desk(home).is_staff_card(CARD)  # the slow way, as before: and its tag is learnt
    assert "1 of 2 staff cards have no fast check" in home.kiosk("status").stdout

    again = typed(home, "staff", "add-card", input=f"{OTHER_CARD}\n")
    assert again.returncode == 0, again.stderr
    assert "Its fast check is set on this station." in again.stdout
    assert "fast check" not in home.kiosk("status").stdout


# Lockouts -------------------------------------------------------------------------------------


def test_status_shows_a_pin_lockout_and_unlock_lifts_it(home: KioskHome) -> None:
    add_pin(home)
    staff = desk(home)
    for _ in range(5):
        staff.check_pin("2581")
    status = home.kiosk("status")
    assert status.returncode == 0, status.stderr
    assert re.search(
        r"LOCKED: The PIN pad is locked until \d\d:\d\d after 5 wrong PINs\. "
        r"`kiosk staff unlock` or Unlock the PIN pad on the staff screen lifts it now\.",
        status.stdout,
    ), status.stdout

    unlocked = home.kiosk("staff", "unlock")
    assert unlocked.returncode == 0, unlocked.stderr
    assert unlocked.stdout.startswith("Unlocked the PIN pad (locked until ")
    assert "LOCKED" not in home.kiosk("status").stdout
    assert desk(home).check_pin(PIN).result == PinResult.OK
    entries = [e for e in AuditLog(home.data_dir).entries() if e.action == "staff.unlocked"]
    assert [(e.actor, e.details["pads"]) for e in entries] == [("cli", ["corner"])]

    again = home.kiosk("staff", "unlock")
    assert again.returncode == 0 and again.stdout == "No PIN pad is locked.\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="switching user needs root")
def test_root_writes_the_fast_check_as_the_data_folders_owner(home: KioskHome) -> None:
    shared = Path(tempfile.mkdtemp(prefix="kiosk-cards-"))
    try:
        shared.chmod(0o755)
        data = shared / "data"
        data.mkdir(mode=0o700)
        nobody = pwd.getpwnam("nobody")
        os.chown(data, nobody.pw_uid, nobody.pw_gid)
        text = home.config_path.read_text(encoding="utf-8")
        home.config_path.write_text(text.replace(str(home.data_dir), str(data)), "utf-8")
        add_pin(home)
        assert typed(home, "staff", "add-card", input=f"{CARD}\n").returncode == 0
        for name in (KEY_FILE, TAGS_FILE):
            st = (data / name).stat()
            assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (nobody.pw_uid, 0o600), name
    finally:
        shutil.rmtree(shared)


def test_a_config_with_cards_but_no_pins_fails_the_check(home: KioskHome) -> None:
    card = hash_secret(CARD, b"0123456789abcdef").text()
    home.write_config(extra=f'\n[staff]\ncards = ["{card}"]\n')
    result = home.kiosk("config", "check")
    assert result.returncode == 78
    assert "staff: staff cards open the PIN pad" in result.stderr


# The hand-over and the new period ---------------------------------------------------------


def checkouts_at_the_kiosk(home: KioskHome, *items: str) -> None:
    home.import_standard_snapshot(built_at=BUILT)
    scans = "".join(f"{line}\n" for line in (patron(1), *items, "@done"))
    result = home.kiosk("run", "--headless", "--clock", CLOCK, input=scans)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('"item_checked_out"') == len(items)


def periods(home: KioskHome) -> list[tuple[int, int | None]]:
    """(checkouts held, archived count) of every period."""
    spool = Spool.open(home.data_dir)
    try:
        return [(p.checkouts, p.archived) for p in spool.periods()]
    finally:
        spool.close()


def test_export_new_period_and_the_audit_trail(home: KioskHome, tmp_path: Path) -> None:
    checkouts_at_the_kiosk(home, item(1), item(2))
    usb = tmp_path / "usb"
    usb.mkdir()

    early = home.kiosk("staff", "new-period", "--yes")
    assert early.returncode == 75
    assert "2 of the period's 2 checkouts have not been exported" in early.stderr
    assert periods(home) == [(2, None)]
    assert "2 checkouts in this period" in home.kiosk("status").stdout

    exported = home.kiosk("staff", "export", "--to", str(usb))
    assert exported.returncode == 0, exported.stderr
    assert "2 checkouts exported to usb and read back" in exported.stdout
    [folder] = usb.iterdir()
    assert sorted(p.suffix for p in folder.iterdir()) == [
        ".csv",
        ".jsonl",
        ".koc",
        ".txt",
        ".xacts",
    ]
    koc = next(folder.glob("*.koc")).read_text(encoding="utf-8")
    assert f"issue\t{patron(1)}\t{item(1)}" in koc and f"issue\t{patron(1)}\t{item(2)}" in koc
    assert "0 not handed over yet" in home.kiosk("status").stdout

    again = home.kiosk("staff", "export", "--to", str(usb))
    assert again.returncode == 0, again.stderr
    assert "Nothing new to export" in again.stdout
    assert len(list(usb.iterdir())) == 1

    new = home.kiosk("staff", "new-period", "--yes")
    assert new.returncode == 0, new.stderr
    assert "2 checkouts were archived" in new.stdout
    assert periods(home) == [(2, 2), (0, None)]
    status = home.kiosk("status")
    assert status.returncode == 0, status.stderr
    assert "Spool:    0 checkouts in this period" in status.stdout

    verify = home.kiosk("audit", "verify")
    assert verify.returncode == 0, verify.stderr
    shown = home.kiosk("audit", "show").stdout
    for action in ("period.refused", "spool.export", "period.new"):
        assert f" cli      {action}" in shown, shown
    assert patron(1) not in shown  # the trail never holds a patron's barcode


def test_new_period_without_yes_asks_and_a_no_changes_nothing(
    home: KioskHome, tmp_path: Path
) -> None:
    checkouts_at_the_kiosk(home, item(1))
    assert home.kiosk("staff", "export", "--to", str(tmp_path)).returncode == 0
    declined = typed(home, "staff", "new-period", input="n\n")
    assert declined.returncode != 0
    assert "Archive this period's 1 checkouts" in declined.stdout
    assert periods(home) == [(1, None)]


def test_reload_snapshot_without_a_source_fails_plainly(home: KioskHome) -> None:
    result = home.kiosk("staff", "reload-snapshot")
    assert result.returncode == 65
    assert "No snapshot location is configured (snapshot.source or snapshot.url)" in result.stderr


def test_drives_says_when_no_removable_drive_is_mounted(home: KioskHome, tmp_path: Path) -> None:
    home.write_config(extra=f'\n[staff]\nexport_roots = ["{tmp_path}"]\n')
    result = home.kiosk("staff", "drives")
    assert result.returncode == 0, result.stderr
    assert f"No writable removable drive is mounted (looked under {tmp_path})" in result.stdout


def test_add_pin_keeps_the_config_files_owner_and_group(home: KioskHome) -> None:
    # Run with sudo, the command makes a new file owned by root; the kiosk's group must still
    # be able to read it. As root the test hands the file to another owner first; otherwise
    # the file keeps the current user's ids (the case a non-root staff account has).
    path = home.config_path
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
    path.chmod(0o640)
    before = path.stat()

    add_pin(home)

    after = path.stat()
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert after.st_mode & 0o777 == 0o640
    assert len(hashes(home, "pins")) == 1


def test_a_pin_already_configured_is_not_added_again(home: KioskHome) -> None:
    add_pin(home)
    before = hashes(home, "pins")
    again = typed(home, "staff", "add-pin", input=f"{PIN}\n{PIN}\n")
    assert again.returncode == 2
    assert "that PIN is already in" in again.stderr
    assert hashes(home, "pins") == before
