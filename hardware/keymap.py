"""Key events from a scanner that is a keyboard (a USB HID "keyboard wedge") into scans.

Pure: (type, code, value) triples of Linux input events in, messages out. Standard library
only, so it can be imported and tested where python-evdev cannot be installed; the codes are
the kernel's (linux/input-event-codes.h), a stable ABI, and the tests check every one of them
against `evdev.ecodes`.

A scan is the text typed up to Enter (or keypad Enter), read with a US layout: that is what
scanners send unless they are told the host has another one. A key the table does not know
(or a key pressed with Ctrl, Alt or Meta held, which is how scanners type control and
non-ASCII characters) makes the whole scan unreadable rather than silently dropping a
character. A scan longer than `max_length` is reported once, as soon as it gets too long, and
the rest of it is skipped up to its Enter.
"""

from __future__ import annotations

from hardware.scanner import Rejected, Scanned, check_scan, printable

EV_KEY = 1
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2  # the event's value

# Every key code this module knows, by its kernel name.
CODES: dict[str, int] = {
    "KEY_1": 2, "KEY_2": 3, "KEY_3": 4, "KEY_4": 5, "KEY_5": 6,
    "KEY_6": 7, "KEY_7": 8, "KEY_8": 9, "KEY_9": 10, "KEY_0": 11,
    "KEY_MINUS": 12, "KEY_EQUAL": 13,
    "KEY_Q": 16, "KEY_W": 17, "KEY_E": 18, "KEY_R": 19, "KEY_T": 20,
    "KEY_Y": 21, "KEY_U": 22, "KEY_I": 23, "KEY_O": 24, "KEY_P": 25,
    "KEY_LEFTBRACE": 26, "KEY_RIGHTBRACE": 27, "KEY_ENTER": 28, "KEY_LEFTCTRL": 29,
    "KEY_A": 30, "KEY_S": 31, "KEY_D": 32, "KEY_F": 33, "KEY_G": 34,
    "KEY_H": 35, "KEY_J": 36, "KEY_K": 37, "KEY_L": 38,
    "KEY_SEMICOLON": 39, "KEY_APOSTROPHE": 40, "KEY_GRAVE": 41, "KEY_LEFTSHIFT": 42,
    "KEY_BACKSLASH": 43,
    "KEY_Z": 44, "KEY_X": 45, "KEY_C": 46, "KEY_V": 47, "KEY_B": 48, "KEY_N": 49, "KEY_M": 50,
    "KEY_COMMA": 51, "KEY_DOT": 52, "KEY_SLASH": 53, "KEY_RIGHTSHIFT": 54,
    "KEY_KPASTERISK": 55, "KEY_LEFTALT": 56, "KEY_SPACE": 57, "KEY_CAPSLOCK": 58,
    "KEY_NUMLOCK": 69,
    "KEY_KP7": 71, "KEY_KP8": 72, "KEY_KP9": 73, "KEY_KPMINUS": 74,
    "KEY_KP4": 75, "KEY_KP5": 76, "KEY_KP6": 77, "KEY_KPPLUS": 78,
    "KEY_KP1": 79, "KEY_KP2": 80, "KEY_KP3": 81, "KEY_KP0": 82, "KEY_KPDOT": 83,
    "KEY_KPENTER": 96, "KEY_RIGHTCTRL": 97, "KEY_KPSLASH": 98, "KEY_RIGHTALT": 100,
    "KEY_LEFTMETA": 125, "KEY_RIGHTMETA": 126,
}  # fmt: skip

# Key name -> (text, text with Shift), US layout.
_US: dict[str, tuple[str, str]] = {
    **{f"KEY_{d}": (d, s) for d, s in zip("1234567890", "!@#$%^&*()", strict=True)},
    **{f"KEY_{c}": (c.lower(), c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    "KEY_SPACE": (" ", " "),
    "KEY_MINUS": ("-", "_"),
    "KEY_EQUAL": ("=", "+"),
    "KEY_LEFTBRACE": ("[", "{"),
    "KEY_RIGHTBRACE": ("]", "}"),
    "KEY_SEMICOLON": (";", ":"),
    "KEY_APOSTROPHE": ("'", '"'),
    "KEY_COMMA": (",", "<"),
    "KEY_DOT": (".", ">"),
    "KEY_SLASH": ("/", "?"),
    "KEY_GRAVE": ("`", "~"),
    "KEY_BACKSLASH": ("\\", "|"),
    # The keypad as scanners use it (Num Lock on); Shift does not change it.
    **{f"KEY_KP{d}": (d, d) for d in "0123456789"},
    "KEY_KPMINUS": ("-", "-"),
    "KEY_KPPLUS": ("+", "+"),
    "KEY_KPASTERISK": ("*", "*"),
    "KEY_KPSLASH": ("/", "/"),
    "KEY_KPDOT": (".", "."),
}

KEYMAP: dict[int, tuple[str, str]] = {CODES[name]: texts for name, texts in _US.items()}
ENTER_KEYS = frozenset({CODES["KEY_ENTER"], CODES["KEY_KPENTER"]})
SHIFT_KEYS = frozenset({CODES["KEY_LEFTSHIFT"], CODES["KEY_RIGHTSHIFT"]})
# Held, these change what a key means in a way the table cannot follow.
CHORD_KEYS = frozenset(
    CODES[f"KEY_{side}{key}"] for side in ("LEFT", "RIGHT") for key in ("CTRL", "ALT", "META")
)
# Lock keys are pressed by some scanners at the start of a scan; they type nothing.
IGNORED_KEYS = frozenset({CODES["KEY_CAPSLOCK"], CODES["KEY_NUMLOCK"]})
DIGIT_KEYS = frozenset(CODES[f"KEY_{d}"] for d in "0123456789")

UNREADABLE = "unreadable key"


class KeyDecoder:
    """Turns one device's key events into Scanned and Rejected messages."""

    def __init__(self, source: str, *, max_length: int = 64) -> None:
        self.source = source
        self.max_length = max_length
        self._held: set[int] = set()  # Shift and chord keys that are down
        self._chars: list[str] = []
        self._unreadable = False
        self._skipping = False  # past max_length; already reported
        self._started = False  # any key since the last Enter

    def feed(self, event_type: int, code: int, value: int) -> list[Scanned | Rejected]:
        if event_type != EV_KEY:
            return []  # EV_SYN, EV_MSC scan codes, LEDs: framing the kernel adds
        if code in SHIFT_KEYS or code in CHORD_KEYS:
            if value == KEY_DOWN:
                self._held.add(code)
            elif value == KEY_UP:
                self._held.discard(code)
            return []
        # Only presses type; a held key's autorepeat is not a scanner's doing, and any other
        # value is not one the kernel sends for keys.
        if value != KEY_DOWN or code in IGNORED_KEYS:
            return []
        if code in ENTER_KEYS:
            return self._end()
        self._started = True
        if self._skipping:
            return []
        texts = KEYMAP.get(code)
        if texts is None or self._held & CHORD_KEYS:
            self._unreadable = True
            return []
        self._chars.append(texts[1] if self._held & SHIFT_KEYS else texts[0])
        if len(self._chars) > self.max_length:
            text = "".join(self._chars)
            self._chars.clear()
            self._skipping = True
            return [
                Rejected(self.source, printable(text), f"longer than {self.max_length} characters")
            ]
        return []

    def _end(self) -> list[Scanned | Rejected]:
        text = "".join(self._chars)
        started, unreadable, skipping = self._started, self._unreadable, self._skipping
        self._chars.clear()
        self._started = self._unreadable = self._skipping = False
        if not started or skipping:
            return []  # a bare Enter is not a read; an over-long one was reported already
        if unreadable:
            return [Rejected(self.source, printable(text), UNREADABLE)]
        reason = check_scan(text, self.max_length)
        if reason is not None:
            return [Rejected(self.source, printable(text), reason)]
        return [Scanned(self.source, text)]
