"""The key-event decoder: Linux input events from a keyboard-wedge scanner into scans.

Events are built with python-evdev's own constants and InputEvent, so the decoder's table is
checked against the kernel's codes rather than against itself.
"""

from __future__ import annotations

from collections.abc import Iterable

import evdev
import pytest
from evdev import ecodes
from hypothesis import given
from hypothesis import strategies as st

from hardware.keymap import CODES, UNREADABLE, KeyDecoder
from hardware.scanner import Rejected, Scanned
from tests.hardware.fake_input import TYPABLE, tap, typed

Message = Scanned | Rejected


def decode(events: Iterable[evdev.InputEvent], decoder: KeyDecoder | None = None) -> list[Message]:
    decoder = decoder or KeyDecoder("front")
    out: list[Message] = []
    for event in events:
        out += decoder.feed(event.type, event.code, event.value)
    return out


def key(code: int, value: int) -> evdev.InputEvent:
    return evdev.InputEvent(0, 0, ecodes.EV_KEY, code, value)


def enter() -> list[evdev.InputEvent]:
    return tap(ecodes.KEY_ENTER)


def shifted(code: int, shift: int = ecodes.KEY_LEFTSHIFT) -> list[evdev.InputEvent]:
    return [key(shift, 1), *tap(code), key(shift, 0)]


def test_every_code_is_the_kernels() -> None:
    for name, code in CODES.items():
        assert ecodes.ecodes[name] == code, name


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (tap(ecodes.KEY_1), "1"),
        (tap(ecodes.KEY_0), "0"),
        (shifted(ecodes.KEY_1), "!"),
        (shifted(ecodes.KEY_0), ")"),
        (tap(ecodes.KEY_A), "a"),
        (tap(ecodes.KEY_Z), "z"),
        (shifted(ecodes.KEY_A), "A"),
        (shifted(ecodes.KEY_Q, ecodes.KEY_RIGHTSHIFT), "Q"),
        (tap(ecodes.KEY_SPACE), " "),
        (tap(ecodes.KEY_MINUS), "-"),
        (shifted(ecodes.KEY_MINUS), "_"),
        (tap(ecodes.KEY_EQUAL), "="),
        (shifted(ecodes.KEY_EQUAL), "+"),
        (tap(ecodes.KEY_LEFTBRACE), "["),
        (shifted(ecodes.KEY_LEFTBRACE), "{"),
        (tap(ecodes.KEY_RIGHTBRACE), "]"),
        (shifted(ecodes.KEY_RIGHTBRACE), "}"),
        (tap(ecodes.KEY_SEMICOLON), ";"),
        (shifted(ecodes.KEY_SEMICOLON), ":"),
        (tap(ecodes.KEY_APOSTROPHE), "'"),
        (shifted(ecodes.KEY_APOSTROPHE), '"'),
        (tap(ecodes.KEY_COMMA), ","),
        (shifted(ecodes.KEY_COMMA), "<"),
        (tap(ecodes.KEY_DOT), "."),
        (shifted(ecodes.KEY_DOT), ">"),
        (tap(ecodes.KEY_SLASH), "/"),
        (shifted(ecodes.KEY_SLASH), "?"),
        (tap(ecodes.KEY_GRAVE), "`"),
        (shifted(ecodes.KEY_GRAVE), "~"),
        (tap(ecodes.KEY_BACKSLASH), "\\"),
        (shifted(ecodes.KEY_BACKSLASH), "|"),
        (tap(ecodes.KEY_KP0), "0"),
        (tap(ecodes.KEY_KP9), "9"),
        (shifted(ecodes.KEY_KP5), "5"),  # Shift does not change the keypad
        (tap(ecodes.KEY_KPMINUS), "-"),
        (tap(ecodes.KEY_KPPLUS), "+"),
        (tap(ecodes.KEY_KPASTERISK), "*"),
        (tap(ecodes.KEY_KPSLASH), "/"),
        (tap(ecodes.KEY_KPDOT), "."),
    ],
)
def test_one_key(keys: list[evdev.InputEvent], expected: str) -> None:
    assert decode([*keys, *enter()]) == [Scanned("front", expected)]


@pytest.mark.parametrize("char", list(TYPABLE))
def test_every_character_a_us_keyboard_types(char: str) -> None:
    assert decode(typed(char)) == [Scanned("front", char)]


@pytest.mark.parametrize("end", [ecodes.KEY_ENTER, ecodes.KEY_KPENTER])
def test_enter_and_keypad_enter_end_a_scan(end: int) -> None:
    decoder = KeyDecoder("front")
    assert decode(typed("12", enter=False), decoder) == []
    assert decode([key(end, 1)], decoder) == [Scanned("front", "12")]
    assert decode([key(end, 0)], decoder) == []  # its release ends nothing more


def test_a_real_honeywell_scan() -> None:
    """What a Honeywell 1950g in USB keyboard mode sends for a patron card: for each key a
    MSC_SCAN with its HID usage, the key event and a SYN_REPORT, for press and release."""
    usages = {ecodes.KEY_ENTER: 0x70028} | {
        ecodes.ecodes[f"KEY_{d}"]: 0x7001E + (int(d) - 1) % 10 for d in "0123456789"
    }
    events = []
    sec, usec = 1_700_000_000, 0
    for char in "31234000000016\n":
        code = ecodes.KEY_ENTER if char == "\n" else ecodes.ecodes[f"KEY_{char}"]
        for value in (1, 0):
            usec += 4000
            events += [
                evdev.InputEvent(sec, usec, ecodes.EV_MSC, ecodes.MSC_SCAN, usages[code]),
                evdev.InputEvent(sec, usec, ecodes.EV_KEY, code, value),
                evdev.InputEvent(sec, usec, ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
            ]

    assert decode(events) == [Scanned("front", "31234000000016")]


def test_autorepeat_is_ignored() -> None:
    events = [
        key(ecodes.KEY_7, 1),
        key(ecodes.KEY_7, 2),
        key(ecodes.KEY_7, 2),
        key(ecodes.KEY_7, 0),
    ]
    assert decode([*events, *enter()]) == [Scanned("front", "7")]


def test_releases_alone_type_nothing() -> None:
    events = [key(ecodes.KEY_1, 0), key(ecodes.KEY_A, 0), key(ecodes.KEY_F1, 0)]
    assert decode([*events, *enter()]) == []


def test_shift_holds_until_released() -> None:
    events = [
        key(ecodes.KEY_LEFTSHIFT, 1),
        *tap(ecodes.KEY_A),
        key(ecodes.KEY_LEFTSHIFT, 2),  # a held Shift repeats
        *tap(ecodes.KEY_B),
        key(ecodes.KEY_LEFTSHIFT, 0),
        *tap(ecodes.KEY_C),
    ]
    assert decode([*events, *enter()]) == [Scanned("front", "ABc")]


def test_shift_stays_on_while_either_shift_is_held() -> None:
    events = [
        key(ecodes.KEY_LEFTSHIFT, 1),
        key(ecodes.KEY_RIGHTSHIFT, 1),
        key(ecodes.KEY_LEFTSHIFT, 0),
        *tap(ecodes.KEY_A),
        key(ecodes.KEY_RIGHTSHIFT, 0),
        *tap(ecodes.KEY_A),
    ]
    assert decode([*events, *enter()]) == [Scanned("front", "Aa")]


def test_shift_carries_over_enter_as_keys_do() -> None:
    decoder = KeyDecoder("front")
    first = [key(ecodes.KEY_LEFTSHIFT, 1), *tap(ecodes.KEY_X), *enter()]
    second = [*tap(ecodes.KEY_Y), key(ecodes.KEY_LEFTSHIFT, 0), *tap(ecodes.KEY_Z), *enter()]
    assert decode(first, decoder) == [Scanned("front", "X")]
    assert decode(second, decoder) == [Scanned("front", "Yz")]


def test_lock_keys_type_nothing() -> None:
    events = [*tap(ecodes.KEY_NUMLOCK), *tap(ecodes.KEY_CAPSLOCK), *tap(ecodes.KEY_1)]
    assert decode([*events, *enter()]) == [Scanned("front", "1")]


@pytest.mark.parametrize("stray", [ecodes.KEY_F1, ecodes.KEY_TAB, ecodes.KEY_ESC, ecodes.BTN_LEFT])
def test_an_unknown_key_makes_the_scan_unreadable(stray: int) -> None:
    decoder = KeyDecoder("front")
    events = [*typed("12", enter=False), *tap(stray), *typed("34")]
    assert decode(events, decoder) == [Rejected("front", "1234", UNREADABLE)]
    assert decode(typed("5678"), decoder) == [Scanned("front", "5678")]  # the next is fresh


def test_a_key_alone_that_is_unknown_is_reported() -> None:
    assert decode([*tap(ecodes.KEY_F5), *enter()]) == [Rejected("front", "", UNREADABLE)]


@pytest.mark.parametrize("chord", [ecodes.KEY_LEFTCTRL, ecodes.KEY_RIGHTALT, ecodes.KEY_LEFTMETA])
def test_a_key_typed_with_ctrl_alt_or_meta_is_unreadable(chord: int) -> None:
    decoder = KeyDecoder("front")
    events = [*tap(ecodes.KEY_1), key(chord, 1), *tap(ecodes.KEY_J), key(chord, 0), *enter()]
    assert decode(events, decoder) == [Rejected("front", "1", UNREADABLE)]
    assert decode(typed("2"), decoder) == [Scanned("front", "2")]  # released: fine again


def test_a_bare_enter_is_not_a_read() -> None:
    assert decode([*enter(), *enter(), *tap(ecodes.KEY_KPENTER)]) == []


def test_other_event_types_are_ignored() -> None:
    events = [
        evdev.InputEvent(0, 0, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x7001E),
        evdev.InputEvent(0, 0, ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
        evdev.InputEvent(0, 0, ecodes.EV_LED, ecodes.LED_NUML, 1),
        evdev.InputEvent(0, 0, ecodes.EV_REL, ecodes.REL_X, 5),
        *tap(ecodes.KEY_2),
        *enter(),
    ]
    assert decode(events) == [Scanned("front", "2")]


def test_exactly_max_length_is_a_scan() -> None:
    assert decode(typed("12345"), KeyDecoder("front", max_length=5)) == [Scanned("front", "12345")]


def test_an_over_long_scan_is_rejected_once_and_skipped_to_its_enter() -> None:
    decoder = KeyDecoder("front", max_length=5)
    assert decode(typed("123456789", enter=False), decoder) == [
        Rejected("front", "123456", "longer than 5 characters")
    ]
    assert decode(enter(), decoder) == []
    assert decode(typed("abc"), decoder) == [Scanned("front", "abc")]  # the next is fresh


def test_an_over_long_scan_shows_only_its_start() -> None:
    [rejected] = decode(typed("9" * 500))
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "longer than 64 characters"
    assert rejected.shown == "9" * 64 + "…"


@given(st.text(alphabet=TYPABLE, min_size=1, max_size=64))
def test_what_is_typed_is_what_is_scanned(text: str) -> None:
    assert decode(typed(text)) == [Scanned("front", text)]


KEY_CODES = st.sampled_from(sorted(CODES.values())) | st.integers(0, 0x2FF)
EVENTS = st.tuples(
    st.sampled_from([ecodes.EV_KEY] * 4 + [ecodes.EV_SYN, ecodes.EV_MSC]) | st.integers(0, 0x1F),
    KEY_CODES,
    st.sampled_from([0, 1, 1, 1, 2]) | st.integers(-(2**31), 2**31 - 1),
)


@given(st.lists(EVENTS, max_size=200), st.integers(1, 20))
def test_any_stream_decodes_to_valid_messages(events: list[tuple[int, int, int]], cap: int) -> None:
    decoder = KeyDecoder("front", max_length=cap)
    for event_type, code, value in events:
        for message in decoder.feed(event_type, code, value):
            assert message.source == "front"
            if isinstance(message, Scanned):
                assert 1 <= len(message.text) <= cap
                assert message.text.isprintable()
            else:
                assert message.reason
                assert message.shown.isprintable()
