"""The staff cards' fast check at the Welcome screen: a patron's card costs one HMAC and no
scrypt when the station has its staff cards' tags; a tag only ever points at a config hash,
which still has the last word; a card with no tag here (a config from another station) is
checked the slow way, once, and its tag kept. Real files in a temporary data folder; scrypt
is counted by wrapping the domain's own derivation, never replaced."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import kiosk.domain.staff as staff_domain
from kiosk.cli.run import build_runtime
from kiosk.config import load_config
from kiosk.domain.events import PatronAccepted, StaffCardScanned
from kiosk.domain.staff import SecretHash, card_tag, hash_secret
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.staff_cards import StaffCards, remember
from kiosk.storage.snapshot import SnapshotStore
from kiosk.storage.staff_cards import KEY_FILE, TAGS_FILE, read_key, read_tags, write_tags
from tests.conftest import KioskHome, patron, standard_csv

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
CARDS = tuple(f"STAFF-{n:03d}-QX7" for n in range(10))
SALT = b"one-salt-for-all"  # cards share one salt, as `kiosk staff add-card` writes them


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every scrypt derivation from now on, by the secret it was asked for."""
    asked: list[str] = []
    real: Callable[..., bytes] = staff_domain._derive

    def counted(secret: str, *args: object) -> bytes:
        asked.append(secret)
        return real(secret, *args)

    monkeypatch.setattr(staff_domain, "_derive", counted)
    return asked


@pytest.fixture
def hashes() -> tuple[SecretHash, ...]:
    return tuple(hash_secret(card, SALT) for card in CARDS)


@pytest.fixture
def data_dir(home: KioskHome) -> Path:
    home.data_dir.mkdir()
    return home.data_dir


def tag_all(data_dir: Path, hashes: tuple[SecretHash, ...]) -> None:
    for card, hashed in zip(CARDS, hashes, strict=True):
        remember(data_dir, card, hashed, keep=hashes)


def test_a_patron_card_costs_no_scrypt_when_every_staff_card_has_its_tag(
    data_dir: Path, hashes: tuple[SecretHash, ...], derivations: list[str]
) -> None:
    tag_all(data_dir, hashes)
    derivations.clear()
    cards = StaffCards(data_dir, hashes)
    assert cards.without_fast_check == 0
    for serial in range(1, 50):
        assert not cards.is_staff_card(patron(serial))
    assert not cards.is_staff_card("")
    assert derivations == []


def test_a_staff_card_with_its_tag_is_recognised_and_confirmed_with_its_hash(
    data_dir: Path, hashes: tuple[SecretHash, ...], derivations: list[str]
) -> None:
    tag_all(data_dir, hashes)
    derivations.clear()
    cards = StaffCards(data_dir, hashes)
    assert all(cards.is_staff_card(card) for card in CARDS)
    assert derivations == list(CARDS)  # one confirmation each, against its own hash


def test_a_tag_with_no_matching_hash_in_the_config_lets_nothing_in(
    data_dir: Path, hashes: tuple[SecretHash, ...], derivations: list[str]
) -> None:
    """A card taken out of the config, or a tags file written by someone else: its tag points
    at no hash of this config (or at a hash the card does not match), so it is refused."""
    tag_all(data_dir, hashes)
    removed = hash_secret("STAFF-GONE-ZZZ", SALT)
    remember(data_dir, "STAFF-GONE-ZZZ", removed)  # a tag for a card no longer configured
    key = read_key(data_dir)
    assert key is not None
    links = read_tags(data_dir, key)
    links[card_tag(key, patron(1))] = hashes[0].digest  # forged: a patron's card as staff
    write_tags(data_dir, key, links)

    cards = StaffCards(data_dir, hashes)
    assert not cards.is_staff_card("STAFF-GONE-ZZZ")
    assert not cards.is_staff_card(patron(1))
    assert cards.is_staff_card(CARDS[0])


def test_a_card_with_no_tag_here_is_checked_the_slow_way_then_learns_its_tag(
    data_dir: Path, hashes: tuple[SecretHash, ...], derivations: list[str]
) -> None:
    """A config copied from another station: hashes, and no tags on this one."""
    cards = StaffCards(data_dir, hashes)
    assert cards.without_fast_check == 10
    assert not cards.is_staff_card(patron(1))
    assert derivations == [patron(1)]  # as before: one derivation (the cards share a salt)

    assert cards.is_staff_card(CARDS[3])  # recognised the slow way, and its tag kept
    assert cards.without_fast_check == 9
    assert (data_dir / KEY_FILE).exists() and (data_dir / TAGS_FILE).exists()

    restarted = StaffCards(data_dir, hashes[3:4])  # a config with that one card only
    derivations.clear()
    assert restarted.without_fast_check == 0
    assert not restarted.is_staff_card(patron(2))
    assert derivations == []
    assert restarted.is_staff_card(CARDS[3])
    assert derivations == [CARDS[3]]


def test_tags_made_under_another_key_are_not_used(
    data_dir: Path, hashes: tuple[SecretHash, ...]
) -> None:
    tag_all(data_dir, hashes)
    (data_dir / KEY_FILE).write_bytes(os.urandom(32))  # a new key: every tag is stale
    cards = StaffCards(data_dir, hashes)
    assert cards.without_fast_check == 10
    assert cards.is_staff_card(CARDS[0])  # the slow way still knows it
    assert cards.without_fast_check == 9


def test_the_key_and_the_tags_are_private_files(
    data_dir: Path, hashes: tuple[SecretHash, ...]
) -> None:
    tag_all(data_dir, hashes)
    for name in (KEY_FILE, TAGS_FILE):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    text = (data_dir / TAGS_FILE).read_text(encoding="ascii")
    assert not any(card in text for card in CARDS)


def test_a_second_writer_keeps_the_first_key(
    data_dir: Path, hashes: tuple[SecretHash, ...]
) -> None:
    remember(data_dir, CARDS[0], hashes[0])
    key = read_key(data_dir)
    remember(data_dir, CARDS[1], hashes[1])
    assert read_key(data_dir) == key
    assert len(read_tags(data_dir, key or b"")) == 2


def test_a_card_taken_out_of_the_config_loses_its_tag_at_the_next_add(
    data_dir: Path, hashes: tuple[SecretHash, ...]
) -> None:
    tag_all(data_dir, hashes)
    remember(data_dir, CARDS[0], hashes[0], keep=hashes[:1])
    key = read_key(data_dir)
    assert key is not None
    assert set(read_tags(data_dir, key).values()) == {hashes[0].digest}


def test_no_data_folder_yet_still_recognises_the_card(
    home: KioskHome, hashes: tuple[SecretHash, ...]
) -> None:
    cards = StaffCards(home.data_dir, hashes)
    assert cards.is_staff_card(CARDS[0])
    assert not home.data_dir.exists()  # nothing is made where the kiosk's data should be


def test_the_station_asks_no_scrypt_for_a_patron_at_welcome(
    home: KioskHome, hashes: tuple[SecretHash, ...], derivations: list[str]
) -> None:
    """As `kiosk run` wires it: a patron's card at Welcome opens a session without a single
    derivation; a staff card still opens the PIN pad."""
    pin = hash_secret("2580", os.urandom(16)).text()
    cards = ", ".join(f'"{h.text()}"' for h in hashes)
    home.write_config(extra=f'\n[staff]\npins = ["{pin}"]\ncards = [{cards}]\n')
    config = load_config(home.config_path)
    SnapshotStore(home.data_dir).import_csv(
        _csv(home.root / "patrons.csv"),
        patron_rule=config.barcode_rules().patron,
        built_at=T0 - timedelta(hours=1),
        now=T0,
    )
    tag_all(home.data_dir, hashes)
    derivations.clear()
    runtime = build_runtime(config, ManualClock(T0))
    try:
        runtime.start()
        accepted = runtime.scan(patron(1))
        assert derivations == []
        runtime.clear_session()
        staff = runtime.scan(CARDS[9])
    finally:
        runtime.close()
    assert any(isinstance(e, PatronAccepted) for e in accepted)
    assert staff[-1] == StaffCardScanned()
    assert derivations == [CARDS[9]]


def _csv(path: Path) -> Path:
    path.write_text(standard_csv(), encoding="utf-8")
    return path
