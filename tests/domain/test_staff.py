"""Staff sign-in: PINs and staff cards are kept only as salted scrypt hashes; a stored hash that
cannot be trusted is refused with a reason; and too many wrong PINs in a row lock staff mode
for exactly the lockout, with time passed in (no clock, no sleeps).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kiosk.domain.staff import (
    KEY_BYTES,
    N,
    P,
    PinGate,
    R,
    card_tag,
    find_match,
    hash_secret,
    matches,
    parse_hash,
)

SALT = bytes(range(16))
OTHER_SALT = bytes(range(16, 32))
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LIMIT = 3
LOCKOUT = timedelta(minutes=5)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def stored(n: int = N, r: int = R, p: int = P, salt: str = "", digest: str = "") -> str:
    """A stored hash in the config's text form, with any part replaced."""
    return f"scrypt${n}${r}${p}${salt or b64(SALT)}${digest or b64(bytes(KEY_BYTES))}"


# Hashes --------------------------------------------------------------------------------------


def test_a_hash_reads_back_from_its_text() -> None:
    hashed = hash_secret("2468", SALT)

    text = hashed.text()

    assert text.startswith(f"scrypt${N}${R}${P}$")
    assert "2468" not in text
    assert parse_hash(text) == hashed
    assert (hashed.salt, len(hashed.digest)) == (SALT, KEY_BYTES)


def test_the_same_pin_with_another_salt_hashes_differently() -> None:
    assert hash_secret("2468", SALT).digest != hash_secret("2468", OTHER_SALT).digest
    assert hash_secret("2468", SALT) == hash_secret("2468", SALT)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "is not a hash written by"),
        ("bcrypt$16384$8$1$AAAA$AAAA", "is not a hash written by"),
        (stored().replace("scrypt$", "scrypt$1$"), "is not a hash written by"),  # 7 fields
        (stored().rsplit("$", 1)[0], "is not a hash written by"),  # 5 fields
        (stored(salt="not base64!"), "damaged"),
        (stored(digest="AAAA*AAA"), "damaged"),
        (stored().replace(f"${N}$", "$lots$"), "damaged"),
        (stored(n=3000), "out of range"),  # not a power of two
        (stored(n=512), "out of range"),  # a power of two, but too cheap
        (stored(r=0), "out of range"),
        (stored(r=33), "out of range"),
        (stored(p=0), "out of range"),
        (stored(p=17), "out of range"),
        (stored(n=2**17, r=8), "more than 64 MiB"),
        (stored(n=2**20, r=1), "more than 64 MiB"),
        (stored(salt=b64(bytes(7))), "wrong length"),  # a salt too short
        (stored(digest=b64(bytes(KEY_BYTES - 1))), "wrong length"),
    ],
)
def test_a_hash_that_cannot_be_trusted_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_hash(text)


@pytest.mark.parametrize(("n", "r"), [(2**16, 8), (2**17, 4), (2**15, 16)])
def test_every_hash_parse_hash_accepts_can_be_checked(n: int, r: int) -> None:
    # The settings at parse_hash's memory limit: a hash the config accepts must not fail later,
    # at the PIN pad or on every scan at the Welcome screen (staff cards).
    try:
        hashed = parse_hash(stored(n=n, r=r))
    except ValueError:
        return  # refused when the config is read: that keeps the promise too
    assert matches("2468", [hashed]) is False


# Matching ------------------------------------------------------------------------------------


def test_matches_the_hashed_pin_and_nothing_else() -> None:
    hashes = [hash_secret("2468", SALT)]

    assert matches("2468", hashes)
    assert not matches("2469", hashes)
    assert not matches("24680", hashes)
    assert not matches("", hashes)


def test_nothing_matches_no_hashes() -> None:
    assert not matches("2468", [])


@pytest.mark.parametrize("salts", [(SALT, SALT, SALT), (SALT, OTHER_SALT, bytes(range(8)))])
def test_matches_any_of_several_hashes(salts: tuple[bytes, bytes, bytes]) -> None:
    # Staff cards share one salt (one derivation per scan); PINs each have their own.
    secrets = ("2468", "13579", "0123456789")
    hashes = [hash_secret(s, salt) for s, salt in zip(secrets, salts, strict=True)]

    for secret in secrets:
        assert matches(secret, hashes), secret
    assert not matches("97531", hashes)


def test_a_pin_hashed_with_one_salt_does_not_match_under_another() -> None:
    hashed = hash_secret("2468", SALT)
    moved = parse_hash(hashed.text().replace(b64(SALT), b64(OTHER_SALT)))

    assert not matches("2468", [moved])


@settings(max_examples=10, deadline=None)  # scrypt is slow by design
@given(
    pin=st.from_regex(r"\A[0-9]{4,12}\Z"),
    other=st.from_regex(r"\A[0-9]{4,12}\Z"),
    salt=st.binary(min_size=8, max_size=32),
)
def test_any_pin_matches_its_own_hash_only(pin: str, other: str, salt: bytes) -> None:
    assume(pin != other)
    hashes = [parse_hash(hash_secret(pin, salt).text())]

    assert matches(pin, hashes)
    assert not matches(other, hashes)


def test_find_match_names_the_hash_a_card_matches() -> None:
    cards = [hash_secret(card, SALT) for card in ("STAFF-1", "STAFF-2", "STAFF-3")]
    assert find_match("STAFF-2", cards) == cards[1]
    assert find_match("STAFF-4", cards) is None
    assert find_match("STAFF-2", []) is None


def test_a_cards_tag_depends_on_the_stations_key_and_the_whole_card() -> None:
    key, other_key = bytes(range(32)), bytes(range(1, 33))
    tag = card_tag(key, "21234000000018")
    assert len(tag) == 32
    assert tag == card_tag(key, "21234000000018")
    assert tag != card_tag(other_key, "21234000000018")
    assert tag != card_tag(key, "21234000000026")
    assert tag != card_tag(key, "2123400000001")


# The lockout ---------------------------------------------------------------------------------


def test_wrong_pins_are_counted_until_the_limit() -> None:
    gate = PinGate()
    assert gate.tries_left(LIMIT) == 3

    gate = gate.wrong(NOW, LIMIT, LOCKOUT)
    assert (gate.failures, gate.tries_left(LIMIT), gate.locked(NOW)) == (1, 2, False)
    gate = gate.wrong(NOW + timedelta(seconds=5), LIMIT, LOCKOUT)
    assert (gate.failures, gate.tries_left(LIMIT), gate.locked(NOW)) == (2, 1, False)
    assert gate.locked_until is None


def test_the_last_wrong_pin_locks_for_exactly_the_lockout() -> None:
    gate = PinGate(failures=LIMIT - 1)
    last = NOW + timedelta(seconds=30)

    gate = gate.wrong(last, LIMIT, LOCKOUT)

    assert gate.locked_until == last + LOCKOUT
    assert gate.locked(last)
    assert gate.locked(last + LOCKOUT - timedelta(microseconds=1))
    assert not gate.locked(last + LOCKOUT)
    assert not gate.locked(last + LOCKOUT + timedelta(hours=1))


def test_the_lock_remembers_how_many_wrong_pins_locked_it() -> None:
    gate = PinGate(failures=LIMIT - 1).wrong(NOW, LIMIT, LOCKOUT)
    assert (gate.failures, gate.locked_after) == (0, LIMIT)
    assert gate.wrong(NOW + LOCKOUT, LIMIT, LOCKOUT).locked_after == 0


def test_after_the_lockout_every_try_is_back() -> None:
    gate = PinGate(failures=LIMIT - 1).wrong(NOW, LIMIT, LOCKOUT)
    assert gate.tries_left(LIMIT) == LIMIT

    gate = gate.wrong(NOW + LOCKOUT, LIMIT, LOCKOUT)

    assert (gate.failures, gate.locked_until, gate.tries_left(LIMIT)) == (1, None, 2)


def test_a_limit_of_one_locks_on_the_first_wrong_pin() -> None:
    gate = PinGate().wrong(NOW, 1, LOCKOUT)
    assert gate.locked(NOW)


def test_the_right_pin_clears_the_count() -> None:
    gate = PinGate().wrong(NOW, LIMIT, LOCKOUT).wrong(NOW, LIMIT, LOCKOUT)

    gate = gate.right()

    assert gate == PinGate()
    assert gate.tries_left(LIMIT) == LIMIT
    assert not gate.locked(NOW)


def test_tries_left_is_never_negative() -> None:
    # A lower limit in a new config, with the old count still on disk.
    assert PinGate(failures=5).tries_left(3) == 0
